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
