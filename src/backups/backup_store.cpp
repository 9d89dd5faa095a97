// SPDX-License-Identifier: MIT
#include "backups/backup_store.hpp"

#include <algorithm>
#include <array>
#include <cerrno>
#include <system_error>
#include <utility>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backups/file_ops.hpp"
#include "backups/names.hpp"
#include "db/sqlite/sqlite_database.hpp"
#include "obs/log.hpp"

namespace basalt::backups {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kWorkPrefix = ".basalt-backup-";    // a backup being made (under the lock)
constexpr std::string_view kUploadPrefix = ".basalt-upload-";  // an upload being written
constexpr std::string_view kLockName = ".lock";
constexpr std::string_view kLocalUploadPrefix = ".basalt-upload-";  // storage's own temp files

Result<void> EnsureDir(const fs::path& dir) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
        return MakeError(ErrorCode::kInternal, "cannot create " + dir.string() + ": " + ec.message());
    }
    return Ok();
}

// Removes what an interrupted backup left (only while the lock is held: nobody else writes these).
void RemoveLeftovers(const fs::path& dir) {
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
        if (entry.path().filename().string().starts_with(kWorkPrefix)) {
            fs::remove_all(entry.path(), ec);
        }
    }
}

// Adds every regular file below `root` (symlinks skipped, storage's temp files skipped) as
// `prefix/<relative path>`.
void AddTree(const fs::path& root, const std::string& prefix, std::vector<ArchiveEntry>& out) {
    std::error_code ec;
    if (!fs::is_directory(fs::symlink_status(root, ec))) {
        return;
    }
    auto it = fs::recursive_directory_iterator(root, fs::directory_options::skip_permission_denied, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        const fs::file_status st = it->symlink_status(ec);
        if (ec || !fs::is_regular_file(st)) {
            continue;
        }
        if (it->path().filename().string().starts_with(kLocalUploadPrefix)) {
            continue;
        }
        out.push_back({it->path(), prefix + "/" + it->path().lexically_relative(root).generic_string()});
    }
}

bool LooksLikeZip(const ByteSource& bytes) {
    std::array<char, kEncryptedMagic.size()> head{};
    auto n = bytes.ReadAt(0, std::span<char>(head.data(), head.size()));
    if (n && HasEncryptedMagic(std::string_view(head.data(), *n))) {
        return true;  // an encrypted archive (checked when it is restored)
    }
    if (!n || *n < 4) {
        return false;
    }
    // A local file header, or the end record of an empty archive.
    return head[0] == 'P' && head[1] == 'K' && ((head[2] == 3 && head[3] == 4) || (head[2] == 5 && head[3] == 6));
}

Result<void> WriteAll(int fd, const ByteSource& bytes) {
    std::array<char, std::size_t{64} * 1024> buf{};
    std::uint64_t offset = 0;
    while (offset < bytes.Size()) {
        BASALT_ASSIGN_OR_RETURN(const std::size_t n, bytes.ReadAt(offset, std::span<char>(buf.data(), buf.size())));
        if (n == 0) {
            return MakeError(ErrorCode::kInternal, "upload ended early");
        }
        std::size_t done = 0;
        while (done < n) {
            const ssize_t w = ::write(fd, buf.data() + done, n - done);
            if (w < 0 && errno == EINTR) {
                continue;
            }
            if (w <= 0) {
                return ErrnoError("write backup");
            }
            done += static_cast<std::size_t>(w);
        }
        offset += n;
    }
    return Ok();
}

}  // namespace

BackupFile::BackupFile(std::unique_ptr<storage::Reader> remote)
    : size_(remote->Info().size),
      remote_(std::move(remote)) {}

BackupFile::~BackupFile() {
    if (fd_ >= 0) {
        ::close(fd_);
    }
}

Result<std::size_t> BackupFile::ReadAt(std::uint64_t offset, std::span<char> out) const {
    if (remote_) {
        return remote_->ReadAt(offset, out);
    }
    const std::int64_t n = ReadFullyAt(fd_, offset, out);
    if (n < 0) {
        return ErrnoError("read backup");
    }
    return static_cast<std::size_t>(n);
}

Operation::~Operation() {
    if (store_ != nullptr) {
        store_->End(name_);
        ::close(lock_fd_);  // releases the flock
    }
}

Operation::Operation(Operation&& other) noexcept
    : store_(std::exchange(other.store_, nullptr)),
      lock_fd_(other.lock_fd_),
      name_(std::move(other.name_)) {}

BackupStore::BackupStore(fs::path data_dir) : data_dir_(std::move(data_dir)), dir_(data_dir_ / "backups") {}

void BackupStore::SetRemote(std::shared_ptr<storage::Storage> remote) {
    std::lock_guard lock(mu_);
    remote_ = std::move(remote);
}

std::shared_ptr<storage::Storage> BackupStore::Remote() const {
    std::lock_guard lock(mu_);
    return remote_;
}

Result<std::vector<BackupInfo>> BackupStore::List() const {
    if (auto remote = Remote()) {
        return ListRemote(*remote);
    }
    std::vector<BackupInfo> out;
    std::error_code ec;
    if (!fs::exists(dir_, ec)) {
        return out;
    }
    for (const auto& entry : fs::directory_iterator(dir_, ec)) {
        const std::string name = entry.path().filename().string();
        struct stat st {};
        if (name.starts_with('.') || ::lstat(entry.path().c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
            continue;
        }
        const auto modified =
            std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
                std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)
            ));
        out.push_back({name, static_cast<std::uint64_t>(st.st_size), modified});
    }
    if (ec) {
        return MakeError(ErrorCode::kInternal, "cannot list " + dir_.string() + ": " + ec.message());
    }
    std::sort(out.begin(), out.end(), [](const BackupInfo& a, const BackupInfo& b) { return a.key < b.key; });
    return out;
}

bool BackupStore::Exists(std::string_view name) const {
    if (auto remote = Remote()) {
        return ValidKey(name) && remote->Stat(name).has_value();
    }
    struct stat st {};
    return ValidKey(name) && ::lstat((dir_ / name).c_str(), &st) == 0;
}

Result<Operation> BackupStore::Begin(std::string name) {
    BASALT_TRY(EnsureDir(dir_));
    std::lock_guard lock(mu_);
    if (!active_.empty()) {
        return MakeError(ErrorCode::kConflict, "another backup is being made");
    }
    const int fd = ::open((dir_ / kLockName).c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) {
        return ErrnoError("open the backups lock");
    }
    if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd);
        return MakeError(ErrorCode::kConflict, "another process is making a backup");
    }
    active_ = name;
    return Operation(this, fd, std::move(name));
}

std::string BackupStore::Active() const {
    std::lock_guard lock(mu_);
    return active_;
}

void BackupStore::End(const std::string& name) {
    std::lock_guard lock(mu_);
    if (active_ == name) {
        active_.clear();
    }
}

Result<std::vector<ArchiveEntry>> BackupStore::EntriesOf(const fs::path& work) const {
    std::vector<ArchiveEntry> entries;
    const fs::path data = work / "data.db";
    BASALT_TRY(db::CopyDatabase((data_dir_ / "data.db").string(), data.string()));
    entries.push_back({data, "data.db"});
    std::error_code ec;
    if (fs::exists(data_dir_ / "auxiliary.db", ec)) {
        const fs::path aux = work / "auxiliary.db";
        BASALT_TRY(db::CopyDatabase((data_dir_ / "auxiliary.db").string(), aux.string()));
        entries.push_back({aux, "auxiliary.db"});
    }
    AddTree(data_dir_ / "storage", "storage", entries);
    return entries;
}

Result<void> BackupStore::Create(const Operation& op) {
    if (!ValidKey(op.Name())) {
        return MakeError(ErrorCode::kInvalidArgument, "invalid backup name");
    }
    std::error_code ec;
    if (!fs::exists(data_dir_ / "data.db", ec)) {
        return MakeError(ErrorCode::kNotFound, "no data.db in " + data_dir_.string());
    }
    RemoveLeftovers(dir_);
    const fs::path work = dir_ / (std::string(kWorkPrefix) + "work");
    const fs::path zip = dir_ / (std::string(kWorkPrefix) + op.Name());
    BASALT_TRY(EnsureDir(work));
    auto made = [&]() -> Result<void> {
        BASALT_ASSIGN_OR_RETURN(const auto entries, EntriesOf(work));
        BASALT_TRY(WriteZip(zip, entries));
        if (key_) {
            BASALT_TRY(EncryptArchiveInPlace(*key_, zip));
        }
        return Publish(zip, op.Name());
    }();
    fs::remove_all(work, ec);
    fs::remove(zip, ec);  // a failure's, or the local copy of an uploaded one
    if (!made) {
        return made;
    }
    obs::Info("backup created", {{"name", op.Name()}});
    return Ok();
}

Result<void> BackupStore::Publish(const fs::path& file, const std::string& name) {
    if (auto remote = Remote()) {
        return PutFile(*remote, name, file);
    }
    BASALT_TRY(SyncPath(file, false));
    if (::rename(file.c_str(), (dir_ / name).c_str()) != 0) {
        return ErrnoError("rename the backup");
    }
    return SyncPath(dir_, true);
}

Result<void> BackupStore::Upload(const std::string& name, const ByteSource& bytes) {
    if (!ValidName(name) || !LooksLikeZip(bytes)) {
        return MakeError(ErrorCode::kInvalidArgument, "not a valid backup");
    }
    if (auto remote = Remote()) {
        return UploadRemote(*remote, name, bytes);
    }
    BASALT_TRY(EnsureDir(dir_));
    const fs::path tmp = dir_ / (std::string(kUploadPrefix) + name);
    const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        return errno == EEXIST ? MakeError(ErrorCode::kConflict, "the backup is being uploaded")
                               : ErrnoError("create " + tmp.string());
    }
    Result<void> written = WriteAll(fd, bytes);
    if (written && ::fsync(fd) != 0) {
        written = ErrnoError("fsync " + tmp.string());
    }
    ::close(fd);
    if (written && ::link(tmp.c_str(), (dir_ / name).c_str()) != 0) {
        // link() never replaces: an existing backup of that name stays.
        written = errno == EEXIST ? MakeError(ErrorCode::kConflict, "the backup exists") : ErrnoError("link backup");
    }
    ::unlink(tmp.c_str());
    BASALT_TRY(written);
    return SyncPath(dir_, true);
}

Result<void> BackupStore::Delete(std::string_view name) {
    if (!ValidKey(name)) {
        return MakeError(ErrorCode::kNotFound, "no such backup");
    }
    if (Active() == name) {
        return MakeError(ErrorCode::kConflict, "the backup is being made");
    }
    if (auto remote = Remote()) {
        BASALT_TRY(remote->Stat(name));  // kNotFound: Delete of a missing object succeeds
        return remote->Delete(name);
    }
    if (::unlink((dir_ / name).c_str()) != 0) {
        return errno == ENOENT ? MakeError(ErrorCode::kNotFound, "no such backup") : ErrnoError("delete backup");
    }
    return Ok();
}

Result<std::vector<std::string>> BackupStore::Prune(std::string_view prefix, std::size_t keep) {
    BASALT_ASSIGN_OR_RETURN(auto all, List());
    std::erase_if(all, [&](const BackupInfo& b) { return !b.key.starts_with(prefix); });
    if (all.size() <= keep) {
        return std::vector<std::string>{};
    }
    // Newest first (PocketBase sorts by modification time); the same second falls back to the name,
    // whose timestamp orders them too.
    std::sort(all.begin(), all.end(), [](const BackupInfo& a, const BackupInfo& b) {
        return a.modified != b.modified ? a.modified > b.modified : a.key > b.key;
    });
    std::vector<std::string> removed;
    for (std::size_t i = keep; i < all.size(); ++i) {
        if (auto r = Delete(all[i].key); !r) {
            obs::Warn(
                "backups: an old scheduled backup could not be removed",
                {{"name", all[i].key}, {"error", r.error().message}}
            );
            continue;
        }
        removed.push_back(all[i].key);
    }
    return removed;
}

Result<std::unique_ptr<BackupFile>> BackupStore::Open(std::string_view name) const {
    if (!ValidKey(name)) {
        return MakeError(ErrorCode::kNotFound, "no such backup");
    }
    if (auto remote = Remote()) {
        BASALT_ASSIGN_OR_RETURN(auto reader, remote->Open(name));
        return std::make_unique<BackupFile>(std::move(reader));
    }
    const int fd = ::open((dir_ / name).c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT || errno == ELOOP ? MakeError(ErrorCode::kNotFound, "no such backup")
                                                 : ErrnoError("open backup");
    }
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        ::close(fd);
        return MakeError(ErrorCode::kNotFound, "no such backup");
    }
    return std::make_unique<BackupFile>(fd, static_cast<std::uint64_t>(st.st_size));
}

}  // namespace basalt::backups
