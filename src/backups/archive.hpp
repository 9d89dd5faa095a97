// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
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

}  // namespace basalt::backups
