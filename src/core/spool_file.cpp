// SPDX-License-Identifier: MIT
#include "core/spool_file.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <system_error>

#include <fcntl.h>
#include <unistd.h>

namespace basalt {

namespace {

Error DiskError(const char* what) {
    return MakeError(ErrorCode::kInternal, std::string(what) + ": " + std::generic_category().message(errno));
}

// O_TMPFILE where the filesystem has it; elsewhere a unique name, unlinked before anyone can open it.
int OpenUnnamed(const std::filesystem::path& dir) {
    int fd = ::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
    if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)) {
        return fd;
    }
    std::string name = (dir / "spool-XXXXXX").string();
    fd = ::mkostemp(name.data(), O_CLOEXEC);
    if (fd >= 0) {
        ::unlink(name.c_str());
    }
    return fd;
}

}  // namespace

Result<std::shared_ptr<SpoolFile>> SpoolFile::Create(const std::filesystem::path& dir) {
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);
    const int fd = OpenUnnamed(dir);
    if (fd < 0) {
        return DiskError("cannot create a spool file");
    }
    return std::shared_ptr<SpoolFile>(new SpoolFile(fd));
}

SpoolFile::~SpoolFile() {
    ::close(fd_);
}

Result<void> SpoolFile::Append(std::string_view bytes) {
    while (!bytes.empty()) {
        const ssize_t n = ::pwrite(fd_, bytes.data(), bytes.size(), static_cast<off_t>(size_));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return DiskError("cannot write a spool file");
        }
        size_ += static_cast<std::uint64_t>(n);
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return {};
}

std::int64_t ReadFullyAt(int fd, std::uint64_t offset, std::span<char> out) {
    std::size_t done = 0;
    while (done < out.size()) {
        const ssize_t n = ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(offset + done));
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -static_cast<std::int64_t>(errno);
        }
        if (n == 0) {
            break;
        }
        done += static_cast<std::size_t>(n);
    }
    return static_cast<std::int64_t>(done);
}

Result<std::size_t> SpoolFile::ReadAt(std::uint64_t offset, std::span<char> out) const {
    const std::int64_t n = ReadFullyAt(fd_, offset, out);
    if (n < 0) {
        errno = static_cast<int>(-n);
        return DiskError("cannot read a spool file");
    }
    return static_cast<std::size_t>(n);
}

ByteSource ByteSource::InMemory(std::string bytes) {
    ByteSource s;
    s.memory_ = std::make_shared<const std::string>(std::move(bytes));
    return s;
}

ByteSource ByteSource::InFile(std::shared_ptr<const SpoolFile> file, std::uint64_t offset, std::uint64_t size) {
    ByteSource s;
    s.file_ = std::move(file);
    s.offset_ = offset;
    s.size_ = size;
    return s;
}

Result<std::size_t> ByteSource::ReadAt(std::uint64_t offset, std::span<char> out) const {
    const std::uint64_t size = Size();
    if (offset >= size) {
        return std::size_t{0};
    }
    const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), size - offset));
    if (!file_) {
        std::memcpy(out.data(), memory_->data() + offset, n);
        return n;
    }
    return file_->ReadAt(offset_ + offset, out.first(n));
}

Result<std::string> ByteSource::Prefix(std::size_t n) const {
    std::string out(static_cast<std::size_t>(std::min<std::uint64_t>(n, Size())), '\0');
    BASALT_ASSIGN_OR_RETURN(auto got, ReadAt(0, std::span<char>(out.data(), out.size())));
    out.resize(got);
    return out;
}

}  // namespace basalt
