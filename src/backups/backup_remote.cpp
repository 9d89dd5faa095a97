// SPDX-License-Identifier: MIT
// BackupStore's bucket (settings.backups.s3): backups at the bucket's root, as PocketBase keeps them.
#include <algorithm>
#include <array>
#include <cerrno>

#include <fcntl.h>
#include <unistd.h>

#include "backups/backup_store.hpp"
#include "backups/file_ops.hpp"
#include "backups/names.hpp"
#include "core/random.hpp"

namespace basalt::backups {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kZipType = "application/zip";
constexpr std::size_t kChunk = std::size_t{1} << 20;

// Closes a file descriptor when it goes out of scope.
struct Fd {
    int fd;
    ~Fd() {
        if (fd >= 0) {
            ::close(fd);
        }
    }
};

}  // namespace

Result<std::vector<BackupInfo>> BackupStore::ListRemote(storage::Storage& remote) {
    BASALT_ASSIGN_OR_RETURN(const auto names, remote.ListFiles(""));
    std::vector<BackupInfo> out;
    for (const auto& name : names) {
        if (!ValidKey(name)) {
            continue;  // the bucket may hold other things; only backup names are listed
        }
        auto info = remote.Stat(name);
        if (!info) {
            if (info.error().code == ErrorCode::kNotFound) {
                continue;  // deleted since the listing
            }
            return info.error();
        }
        out.push_back({name, info->size, info->modified});
    }
    std::sort(out.begin(), out.end(), [](const BackupInfo& a, const BackupInfo& b) { return a.key < b.key; });
    return out;
}

Result<void> BackupStore::UploadRemote(storage::Storage& remote, const std::string& name, const ByteSource& bytes) {
    if (remote.Stat(name)) {
        return MakeError(ErrorCode::kConflict, "the backup exists");
    }
    BASALT_ASSIGN_OR_RETURN(auto upload, remote.Create(name, kZipType));
    BASALT_TRY(bytes.ForEachChunk([&](std::string_view chunk) { return upload->Write(chunk); }));
    return upload->Commit();
}

Result<void> BackupStore::PutFile(storage::Storage& remote, const std::string& name, const fs::path& file) {
    const Fd in{::open(file.c_str(), O_RDONLY | O_CLOEXEC)};
    if (in.fd < 0) {
        return ErrnoError("open " + file.string());
    }
    BASALT_ASSIGN_OR_RETURN(auto upload, remote.Create(name, kZipType));
    std::string buf(kChunk, '\0');
    for (;;) {
        const ssize_t n = ::read(in.fd, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return ErrnoError("read " + file.string());
        }
        if (n == 0) {
            break;
        }
        BASALT_TRY(upload->Write(std::string_view(buf.data(), static_cast<std::size_t>(n))));
    }
    return upload->Commit();
}

Result<fs::path> BackupStore::Fetch(std::string_view name, const fs::path& scratch) const {
    auto remote = Remote();
    if (!remote) {
        if (!Exists(name)) {
            return MakeError(ErrorCode::kNotFound, "no such backup");
        }
        return dir_ / std::string(name);
    }
    BASALT_ASSIGN_OR_RETURN(const auto file, Open(name));
    std::error_code ec;
    fs::create_directories(scratch, ec);
    const fs::path local =
        scratch / ("restore-download-" + SecureRandomString(12, "abcdefghijklmnopqrstuvwxyz0123456789") + ".zip");
    const Fd out{::open(local.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)};
    if (out.fd < 0) {
        return ErrnoError("create " + local.string());
    }
    auto copied = [&]() -> Result<void> {
        std::string buf(kChunk, '\0');
        for (std::uint64_t at = 0; at < file->Size();) {
            BASALT_ASSIGN_OR_RETURN(const std::size_t n, file->ReadAt(at, std::span<char>(buf.data(), buf.size())));
            if (n == 0) {
                return MakeError(ErrorCode::kUnavailable, "the backup ended early while downloading");
            }
            for (std::size_t done = 0; done < n;) {
                const ssize_t w = ::write(out.fd, buf.data() + done, n - done);
                if (w < 0 && errno == EINTR) {
                    continue;
                }
                if (w <= 0) {
                    return ErrnoError("write " + local.string());
                }
                done += static_cast<std::size_t>(w);
            }
            at += n;
        }
        return Ok();
    }();
    if (!copied) {
        fs::remove(local, ec);
        return copied.error();
    }
    return local;
}

}  // namespace basalt::backups
