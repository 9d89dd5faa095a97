// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace basalt::backups {

/// One file of an archive: where its bytes are and its name inside the zip.
struct ArchiveEntry {
    std::filesystem::path source;
    std::string name;
};

/// Writes a zip of `entries` (deflated) at `path` (replaced if it exists), with libzip. The sources
/// are read while the archive is written; each must stay until this returns. Blocks.
Result<void> WriteZip(const std::filesystem::path& path, const std::vector<ArchiveEntry>& entries);

/// The names of the entries of the zip at `path` (for checks and tests). kInvalidArgument when it is
/// not a readable zip.
Result<std::vector<std::string>> ZipEntryNames(const std::filesystem::path& path);

/// Bounds on what an archive may unpack to (restore checks every archive before it writes a byte).
struct ExtractLimits {
    /// The most bytes all entries together may inflate to; 0: the free space of the destination's
    /// disk less 64 MiB.
    std::uint64_t max_bytes = 0;
    std::size_t max_entries = 1'000'000;
};

/// What an extraction unpacked.
struct ExtractSummary {
    std::uint64_t bytes = 0;           // bytes written
    std::size_t files = 0;             // files written
    std::vector<std::string> skipped;  // entries outside data.db, auxiliary.db and storage/ (not unpacked)
};

/// (bytes written so far, bytes in all): called as the extraction goes on.
using ExtractProgress = std::function<void(std::uint64_t, std::uint64_t)>;

/// Unpacks the backup archive `zip` into the empty directory `dest`: `data.db`, `auxiliary.db` and
/// the files under `storage/`; other entries are skipped and listed. Every entry is checked before
/// anything is written, and the archive is refused (kInvalidArgument, the reason in the message) when: the file is not
/// a complete zip, a name is absolute, has a `..` or `.` part, a backslash or an empty part, an entry is a symlink or
/// not a regular file or folder, a name repeats, the compression method is neither store nor deflate, an entry claims
/// more than deflate can inflate from its compressed size, or the sizes add up beyond `limits`. While unpacking, an
/// entry that inflates beyond its declared size or fails its CRC stops the extraction. Files are written with
/// O_EXCL|O_NOFOLLOW, then the file system is synced. After a failure `dest` may hold some files:
/// the caller removes it. Blocks.
Result<ExtractSummary> ExtractZip(
    const std::filesystem::path& zip,
    const std::filesystem::path& dest,
    const ExtractLimits& limits,
    const ExtractProgress& progress = {}
);

}  // namespace basalt::backups
