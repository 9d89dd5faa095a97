// SPDX-License-Identifier: MIT
// The local disk store. Writes go to a hidden temporary file in the target folder and are renamed
// into place after an fsync, so a reader never sees half a file and a crash leaves at most a
// temporary file (named kTempPrefix..., skipped by List). Content types live in PocketBase's
// "<name>.attrs" side files (gocloud's fileblob format: {"user.content_type": ...}).
#include <algorithm>
#include <array>
#include <cerrno>
#include <map>
#include <mutex>
#include <optional>
#include <system_error>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include "core/random.hpp"
#include "core/spool_file.hpp"
#include "storage/errors.hpp"
#include "storage/storage.hpp"

namespace basalt::storage {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr std::string_view kTempPrefix = ".basalt-upload-";
constexpr std::string_view kAttrs = ".attrs";
constexpr std::string_view kTempAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

Error IoError(std::string_view what, int err) {
    return MakeError(ErrorCode::kInternal, std::string(what) + ": " + std::system_category().message(err));
}

// Writes all of `bytes` to `fd`.
Result<void> WriteAll(int fd, std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return IoError("write", errno);
        }
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return Ok();
}

void SyncDir(const fs::path& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        ::fsync(fd);
        ::close(fd);
    }
}

// The content type in an .attrs side file's text ("" when it has none or is not JSON).
std::string ParseAttrs(std::string_view text) {
    boost::system::error_code ec;
    const json::value v = json::parse(text, ec);
    if (ec || !v.is_object()) {
        return {};
    }
    const auto* ct = v.as_object().if_contains("user.content_type");
    return ct != nullptr && ct->is_string() ? std::string(ct->as_string()) : std::string();
}

// Side files are a few dozen bytes; anything past this is not one we wrote.
constexpr std::size_t kMaxAttrs = 4096;

std::string ReadContentType(const fs::path& file) {
    const int fd = ::open((file.string() + std::string(kAttrs)).c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        return {};
    }
    std::array<char, kMaxAttrs> buf{};
    const std::int64_t n = ReadFullyAt(fd, 0, buf);
    ::close(fd);
    return n > 0 ? ParseAttrs(std::string_view(buf.data(), static_cast<std::size_t>(n))) : std::string();
}

// openat2 beneath `dir` that fails (EAGAIN) rather than wait for a lookup the kernel has not cached,
// and never follows a symlink.
int OpenCached(int dir, const std::string& path) {
    open_how how{};
    how.flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_CACHED;
    return static_cast<int>(::syscall(SYS_openat2, dir, path.c_str(), &how, sizeof(how)));
}

// The content type of `path`'s side file without waiting: "" when there is none, nullopt when
// finding or reading it would wait for the disk.
std::optional<std::string> ContentTypeIfCached(int dir, const std::string& path) {
    const int fd = OpenCached(dir, path + std::string(kAttrs));
    if (fd < 0) {
        return errno == ENOENT ? std::optional<std::string>(std::string()) : std::nullopt;
    }
    std::array<char, kMaxAttrs> buf{};
    iovec iov{buf.data(), buf.size()};
    const ssize_t n = ::preadv2(fd, &iov, 1, 0, RWF_NOWAIT);
    ::close(fd);
    if (n < 0) {
        return std::nullopt;
    }
    return ParseAttrs(std::string_view(buf.data(), static_cast<std::size_t>(n)));
}

// Whether `dir` is a folder itself, not a symlink to one (nor missing): listings never leave the root.
bool RealFolder(const fs::path& dir) {
    std::error_code ec;
    return fs::symlink_status(dir, ec).type() == fs::file_type::directory;
}

ObjectInfo InfoOf(const struct stat& st, std::string content_type) {
    ObjectInfo info;
    info.size = static_cast<std::uint64_t>(st.st_size);
    info.modified =
        std::chrono::system_clock::time_point(std::chrono::duration_cast<std::chrono::system_clock::duration>(
            std::chrono::seconds(st.st_mtim.tv_sec) + std::chrono::nanoseconds(st.st_mtim.tv_nsec)
        ));
    info.content_type = std::move(content_type);
    return info;
}

class LocalUpload final : public Upload {
public:
    LocalUpload(int fd, fs::path temp, fs::path target, std::string content_type)
        : fd_(fd),
          temp_(std::move(temp)),
          target_(std::move(target)),
          content_type_(std::move(content_type)) {}
    ~LocalUpload() override {
        if (fd_ >= 0) {
            ::close(fd_);
        }
        if (!committed_) {
            std::error_code ec;
            fs::remove(temp_, ec);
        }
    }
    LocalUpload(const LocalUpload&) = delete;
    LocalUpload& operator=(const LocalUpload&) = delete;

    Result<void> Write(std::string_view bytes) override {
        if (fd_ < 0) {
            return MakeError(ErrorCode::kInternal, "write after commit");
        }
        BASALT_TRY(WriteAll(fd_, bytes));
        size_ += bytes.size();
        return Ok();
    }

    std::uint64_t Size() const override { return size_; }

    Result<void> Commit() override {
        if (fd_ < 0) {
            return MakeError(ErrorCode::kInternal, "committed twice");
        }
        if (::fsync(fd_) != 0) {
            return IoError("fsync", errno);
        }
        const int fd = fd_;
        fd_ = -1;
        if (::close(fd) != 0) {
            return IoError("close", errno);
        }
        BASALT_TRY(WriteAttrs());
        if (::rename(temp_.c_str(), target_.c_str()) != 0) {
            return IoError("rename", errno);
        }
        committed_ = true;
        SyncDir(target_.parent_path());
        return Ok();
    }

private:
    // The side file first: a crash between the two leaves an .attrs without its file (ignored),
    // never a file with another upload's content type.
    Result<void> WriteAttrs() {
        const fs::path attrs = target_.string() + std::string(kAttrs);
        if (content_type_.empty()) {
            std::error_code ec;
            fs::remove(attrs, ec);
            return Ok();
        }
        const fs::path temp = temp_.string() + std::string(kAttrs);
        const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0) {
            return IoError("open attrs", errno);
        }
        const std::string body = json::serialize(json::object{{"user.content_type", content_type_}}) + "\n";
        auto written = WriteAll(fd, body);
        const bool synced = written && ::fsync(fd) == 0;
        ::close(fd);
        if (!synced || ::rename(temp.c_str(), attrs.c_str()) != 0) {
            std::error_code ec;
            fs::remove(temp, ec);
            return written ? IoError("attrs", errno) : written.error();
        }
        return Ok();
    }

    int fd_;
    fs::path temp_;
    fs::path target_;
    std::string content_type_;
    std::uint64_t size_ = 0;
    bool committed_ = false;
};

class LocalReader final : public Reader {
public:
    LocalReader(int fd, ObjectInfo info) : fd_(fd), info_(std::move(info)) {}
    ~LocalReader() override { ::close(fd_); }
    LocalReader(const LocalReader&) = delete;
    LocalReader& operator=(const LocalReader&) = delete;

    const ObjectInfo& Info() const override { return info_; }

    Result<std::size_t> ReadAt(std::uint64_t offset, std::span<char> out) override {
        const std::int64_t n = ReadFullyAt(fd_, offset, out);
        if (n < 0) {
            return IoError("read", static_cast<int>(-n));
        }
        return static_cast<std::size_t>(n);
    }

    // preadv2 with RWF_NOWAIT answers only from the page cache (EAGAIN when it would read the disk).
    std::optional<Result<std::size_t>> ReadAtIfCached(std::uint64_t offset, std::span<char> out) override {
        iovec iov{out.data(), out.size()};
        const ssize_t n = ::preadv2(fd_, &iov, 1, static_cast<off_t>(offset), RWF_NOWAIT);
        if (n > 0 || (n == 0 && offset >= info_.size)) {
            return Result<std::size_t>(static_cast<std::size_t>(n));
        }
        return std::nullopt;  // EAGAIN (not cached), EOPNOTSUPP (no RWF_NOWAIT here), or an error ReadAt reports
    }

private:
    int fd_;
    ObjectInfo info_;
};

class LocalStorage final : public Storage {
public:
    explicit LocalStorage(fs::path root)
        : root_(std::move(root)),
          root_fd_(::open(root_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC)) {}
    ~LocalStorage() override {
        if (root_fd_ >= 0) {
            ::close(root_fd_);
        }
    }
    LocalStorage(const LocalStorage&) = delete;
    LocalStorage& operator=(const LocalStorage&) = delete;

    Result<std::unique_ptr<Upload>> Create(std::string_view key, std::string_view content_type) override {
        if (!ValidKey(key)) {
            return BadKey();
        }
        const fs::path target = root_ / fs::path(std::string(key));
        std::error_code ec;
        fs::create_directories(target.parent_path(), ec);
        if (ec) {
            return IoError("create folder", ec.value());
        }
        const fs::path temp = target.parent_path() / (std::string(kTempPrefix) + SecureRandomString(12, kTempAlphabet));
        const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
        if (fd < 0) {
            return IoError("create", errno);
        }
        return std::unique_ptr<Upload>(std::make_unique<LocalUpload>(fd, temp, target, std::string(content_type)));
    }

    Result<std::unique_ptr<Reader>> Open(std::string_view key) override {
        if (!ValidKey(key)) {
            return Missing();
        }
        const fs::path file = root_ / fs::path(std::string(key));
        const int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
            return errno == ENOENT || errno == ENOTDIR || errno == ELOOP ? Missing() : IoError("open", errno);
        }
        struct stat st {};
        if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            ::close(fd);
            return Missing();
        }
        std::string type = KnownType(key, st).value_or("");
        if (type.empty()) {
            type = ReadContentType(file);
            RememberType(key, st, type);
        }
        return std::unique_ptr<Reader>(std::make_unique<LocalReader>(fd, InfoOf(st, std::move(type))));
    }

    std::unique_ptr<Reader> OpenIfCached(std::string_view key) override {
        if (root_fd_ < 0 || !ValidKey(key)) {
            return nullptr;
        }
        const std::string path(key);
        const int fd = OpenCached(root_fd_, path);
        if (fd < 0) {
            return nullptr;
        }
        struct stat st {};
        if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            ::close(fd);
            return nullptr;
        }
        auto type = KnownType(key, st);
        if (!type) {
            type = ContentTypeIfCached(root_fd_, path);
            if (!type) {
                ::close(fd);
                return nullptr;
            }
            RememberType(key, st, *type);
        }
        return std::make_unique<LocalReader>(fd, InfoOf(st, std::move(*type)));
    }

    Result<ObjectInfo> Stat(std::string_view key) override {
        if (!ValidKey(key)) {
            return Missing();
        }
        const fs::path file = root_ / fs::path(std::string(key));
        struct stat st {};
        if (::lstat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) {
            return Missing();
        }
        return InfoOf(st, ReadContentType(file));
    }

    Result<void> Delete(std::string_view key) override {
        if (!ValidKey(key)) {
            return BadKey();
        }
        const fs::path file = root_ / fs::path(std::string(key));
        std::error_code ec;
        fs::remove(file.string() + std::string(kAttrs), ec);
        if (!fs::remove(file, ec) && ec && ec != std::errc::no_such_file_or_directory) {
            return IoError("delete", ec.value());
        }
        RemoveEmptyParents(file.parent_path());
        return Ok();
    }

    Result<void> DeletePrefix(std::string_view prefix) override {
        if (!ValidKey(prefix)) {
            return BadKey();
        }
        const fs::path dir = root_ / fs::path(std::string(prefix));
        std::error_code ec;
        fs::remove_all(dir, ec);
        if (ec && ec != std::errc::no_such_file_or_directory) {
            return IoError("delete folder", ec.value());
        }
        RemoveEmptyParents(dir.parent_path());
        return Ok();
    }

    Result<std::vector<std::string>> List(std::string_view prefix) override {
        if (!ValidKey(prefix)) {
            return BadKey();
        }
        std::vector<std::string> keys;
        const fs::path dir = root_ / fs::path(std::string(prefix));
        if (!RealFolder(dir)) {
            return keys;
        }
        std::error_code ec;
        fs::recursive_directory_iterator it(dir, ec);
        if (ec) {
            if (ec == std::errc::no_such_file_or_directory) {
                return keys;
            }
            return IoError("list", ec.value());
        }
        for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
            if (ec) {
                return IoError("list", ec.value());
            }
            const std::string name = it->path().filename().string();
            if (it->symlink_status(ec).type() != fs::file_type::regular || name.starts_with(kTempPrefix) ||
                name.ends_with(kAttrs)) {
                continue;
            }
            keys.push_back(std::string(prefix) + "/" + it->path().lexically_relative(dir).generic_string());
        }
        std::sort(keys.begin(), keys.end());
        return keys;
    }

    Result<std::vector<std::string>> ListFolders(std::string_view prefix) override {
        return ListEntries(prefix, /*folders=*/true);
    }

    Result<std::vector<std::string>> ListFiles(std::string_view prefix) override {
        return ListEntries(prefix, /*folders=*/false);
    }

private:
    // The folders (or the files) directly under `prefix`.
    Result<std::vector<std::string>> ListEntries(std::string_view prefix, bool folders) {
        if (!prefix.empty() && !ValidKey(prefix)) {
            return BadKey();
        }
        std::vector<std::string> names;
        // The root may be a link (storage on another disk); folders under it may not.
        const fs::path dir = prefix.empty() ? root_ : root_ / fs::path(std::string(prefix));
        if (!prefix.empty() && !RealFolder(dir)) {
            return names;
        }
        std::error_code ec;
        fs::directory_iterator it(dir, ec);
        if (ec) {
            if (ec == std::errc::no_such_file_or_directory || ec == std::errc::not_a_directory) {
                return names;
            }
            return IoError(folders ? "list folders" : "list files", ec.value());
        }
        for (; it != fs::directory_iterator(); it.increment(ec)) {
            if (ec) {
                return IoError(folders ? "list folders" : "list files", ec.value());
            }
            // symlink_status: a link is not one of ours to walk (or sweep, or list).
            const auto type = it->symlink_status(ec).type();
            std::string name = it->path().filename().string();
            if (folders ? type == fs::file_type::directory
                        : type == fs::file_type::regular && !name.starts_with(kTempPrefix) && !name.ends_with(kAttrs)) {
                names.push_back(std::move(name));
            }
        }
        std::sort(names.begin(), names.end());
        return names;
    }

    // Folders left empty by a delete go too (a record's folder once its last file is gone), up to
    // the root, which stays.
    void RemoveEmptyParents(fs::path dir) const {
        std::error_code ec;
        while (dir != root_ && dir.native().starts_with(root_.native()) && fs::is_empty(dir, ec) && !ec) {
            if (!fs::remove(dir, ec)) {
                return;
            }
            dir = dir.parent_path();
        }
    }

    // Content types of files opened lately, so that a hot file's side file is not read on every
    // download. An entry holds while the file is the same one: a replaced file is a new inode (files
    // are renamed into place, their side file first), so (inode, mtime, size) tells them apart.
    struct KnownFile {
        ino_t inode = 0;
        std::int64_t mtime_ns = 0;
        off_t size = 0;
        std::string type;
    };
    static constexpr std::size_t kMaxKnownTypes = 4096;

    static std::int64_t MtimeNs(const struct stat& st) {
        return static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec;
    }
    std::optional<std::string> KnownType(std::string_view key, const struct stat& st) const {
        std::lock_guard lock(types_mu_);
        const auto it = types_.find(key);
        if (it == types_.end() || it->second.inode != st.st_ino || it->second.mtime_ns != MtimeNs(st) ||
            it->second.size != st.st_size) {
            return std::nullopt;
        }
        return it->second.type;
    }
    void RememberType(std::string_view key, const struct stat& st, const std::string& type) {
        std::lock_guard lock(types_mu_);
        if (types_.size() >= kMaxKnownTypes) {
            types_.clear();
        }
        types_.insert_or_assign(std::string(key), KnownFile{st.st_ino, MtimeNs(st), st.st_size, type});
    }

    fs::path root_;
    mutable std::mutex types_mu_;
    std::map<std::string, KnownFile, std::less<>> types_;
    int root_fd_;  // O_PATH of root_, for OpenIfCached (-1 when it could not be opened)
};

}  // namespace

Result<std::unique_ptr<Storage>> OpenLocal(const std::filesystem::path& root) {
    std::error_code ec;
    fs::create_directories(root, ec);
    if (ec) {
        return IoError("create storage folder", ec.value());
    }
    fs::path normal = fs::absolute(root).lexically_normal();
    if (!normal.has_filename()) {
        normal = normal.parent_path();  // "data/storage/" → "data/storage"
    }
    return std::unique_ptr<Storage>(std::make_unique<LocalStorage>(std::move(normal)));
}

}  // namespace basalt::storage
