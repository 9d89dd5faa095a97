// SPDX-License-Identifier: MIT
#include "backups/file_ops.hpp"

#include <cerrno>
#include <system_error>

#include <fcntl.h>
#include <unistd.h>

namespace basalt::backups {

Error ErrnoError(const std::string& what) {
    return MakeError(ErrorCode::kInternal, what + ": " + std::error_code(errno, std::generic_category()).message());
}

namespace {

constexpr std::size_t kChunk = std::size_t{1} << 20;

// Closes a file descriptor when it goes out of scope.
struct OwnedFd {
    int fd;
    ~OwnedFd() {
        if (fd >= 0) {
            ::close(fd);
        }
    }
};

}  // namespace

Result<void> UploadFile(
    storage::Storage& remote, const std::string& key, const std::filesystem::path& path, std::string_view content_type
) {
    const OwnedFd in{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
    if (in.fd < 0) {
        return ErrnoError("open " + path.string());
    }
    BASALT_ASSIGN_OR_RETURN(auto upload, remote.Create(key, content_type));
    std::string buf(kChunk, '\0');
    for (;;) {
        const ssize_t n = ::read(in.fd, buf.data(), buf.size());
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return ErrnoError("read " + path.string());
        }
        if (n == 0) {
            break;
        }
        BASALT_TRY(upload->Write(std::string_view(buf.data(), static_cast<std::size_t>(n))));
    }
    return upload->Commit();
}

Result<void> DownloadFile(const ReadAtFn& read_at, std::uint64_t size, const std::filesystem::path& out) {
    const OwnedFd fd{::open(out.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)};
    if (fd.fd < 0) {
        return ErrnoError("create " + out.string());
    }
    auto copied = [&]() -> Result<void> {
        std::string buf(kChunk, '\0');
        for (std::uint64_t at = 0; at < size;) {
            BASALT_ASSIGN_OR_RETURN(const std::size_t n, read_at(at, std::span<char>(buf.data(), buf.size())));
            if (n == 0) {
                return MakeError(ErrorCode::kUnavailable, "the file ended early while downloading");
            }
            for (std::size_t done = 0; done < n;) {
                const ssize_t w = ::write(fd.fd, buf.data() + done, n - done);
                if (w < 0 && errno == EINTR) {
                    continue;
                }
                if (w <= 0) {
                    return ErrnoError("write " + out.string());
                }
                done += static_cast<std::size_t>(w);
            }
            at += n;
        }
        return Ok();
    }();
    if (!copied) {
        std::error_code ec;
        std::filesystem::remove(out, ec);
    }
    return copied;
}

Result<void> SyncPath(const std::filesystem::path& path, bool directory) {
    const int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
    if (fd < 0) {
        return ErrnoError("open " + path.string());
    }
    const int rc = ::fsync(fd);
    ::close(fd);
    if (rc != 0) {
        return ErrnoError("fsync " + path.string());
    }
    return Ok();
}

}  // namespace basalt::backups
