// SPDX-License-Identifier: MIT
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace basalt {

/// A temporary file with no name: created unlinked (O_TMPFILE, or a unique name removed at once),
/// so it is gone when the last holder closes it, whether the process ends, crashes or drops it.
/// Holds request bodies too large to keep in memory (uploads). One writer appends; readers may
/// read any written range from any thread once the writer is done.
class SpoolFile {
public:
    /// Creates one in `dir` (created when missing). kInternal when the disk refuses.
    static Result<std::shared_ptr<SpoolFile>> Create(const std::filesystem::path& dir);

    ~SpoolFile();
    SpoolFile(const SpoolFile&) = delete;
    SpoolFile& operator=(const SpoolFile&) = delete;

    /// Appends `bytes`. kInternal when the disk fails (full, say).
    Result<void> Append(std::string_view bytes);
    /// Reads up to out.size() bytes at `offset`; fewer only at the end.
    Result<std::size_t> ReadAt(std::uint64_t offset, std::span<char> out) const;
    std::uint64_t Size() const { return size_; }

private:
    explicit SpoolFile(int fd) : fd_(fd) {}
    int fd_;
    std::uint64_t size_ = 0;
};

/// pread until `out` is full or the file ends (EINTR retried): how many bytes were read, or minus
/// the errno of a failed read. Shared by the spool file and the local storage's readers.
std::int64_t ReadFullyAt(int fd, std::uint64_t offset, std::span<char> out);

/// Bytes a handler was given: held in memory, or a range of a spool file (a part of an upload that
/// was streamed to disk). Cheap to copy.
class ByteSource {
public:
    ByteSource() = default;
    static ByteSource InMemory(std::string bytes);
    static ByteSource InFile(std::shared_ptr<const SpoolFile> file, std::uint64_t offset, std::uint64_t size);

    std::uint64_t Size() const { return file_ ? size_ : memory_->size(); }
    /// Up to `n` leading bytes (to sniff a type from).
    Result<std::string> Prefix(std::size_t n) const;
    /// Calls `sink(chunk)` for consecutive chunks of at most 64 KiB until all bytes were passed or
    /// `sink` fails; reading a spool file never holds more than one chunk in memory.
    template <typename Sink>
    Result<void> ForEachChunk(Sink&& sink) const;

    /// The bytes when they are held in memory, else nullptr.
    const std::string* Memory() const { return file_ ? nullptr : memory_.get(); }
    Result<std::size_t> ReadAt(std::uint64_t offset, std::span<char> out) const;

private:
    std::shared_ptr<const std::string> memory_ = std::make_shared<const std::string>();
    std::shared_ptr<const SpoolFile> file_;
    std::uint64_t offset_ = 0;
    std::uint64_t size_ = 0;
};

template <typename Sink>
Result<void> ByteSource::ForEachChunk(Sink&& sink) const {
    if (!file_) {
        return sink(std::string_view(*memory_));
    }
    constexpr std::size_t kChunk = std::size_t{64} * 1024;
    std::string chunk(kChunk, '\0');
    for (std::uint64_t done = 0; done < size_;) {
        const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, size_ - done));
        BASALT_ASSIGN_OR_RETURN(auto n, file_->ReadAt(offset_ + done, std::span<char>(chunk.data(), want)));
        if (n != want) {
            return MakeError(ErrorCode::kInternal, "spool file shorter than expected");
        }
        if (auto r = sink(std::string_view(chunk.data(), want)); !r) {
            return r;
        }
        done += want;
    }
    return {};
}

}  // namespace basalt
