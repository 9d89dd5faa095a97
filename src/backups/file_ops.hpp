// SPDX-License-Identifier: MIT
// File-system steps the backups module shares (internal to it).
#pragma once

#include <filesystem>
#include <string>

#include "core/result.hpp"

namespace basalt::backups {

/// kInternal: `what` and errno's text.
Error ErrnoError(const std::string& what);

/// fsync of a file or, with `directory`, of a folder (its entries: renames, links, removals).
Result<void> SyncPath(const std::filesystem::path& path, bool directory);

}  // namespace basalt::backups
