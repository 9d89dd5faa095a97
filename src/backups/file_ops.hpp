// SPDX-License-Identifier: MIT
// File-system steps the backups module shares (internal to it).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <span>
#include <string>

#include "core/result.hpp"
#include "storage/storage.hpp"

namespace basalt::backups {

/// kInternal: `what` and errno's text.
Error ErrnoError(const std::string& what);

/// Uploads the file at `path` to `key` of `remote`, streamed in 1 MiB reads.
Result<void> UploadFile(
    storage::Storage& remote, const std::string& key, const std::filesystem::path& path, std::string_view content_type
);

/// Reads `size` bytes through `read_at` (a file opened from a bucket) into `out`, which is created
/// (it must not exist; removed again on a failure).
using ReadAtFn = std::function<Result<std::size_t>(std::uint64_t offset, std::span<char> out)>;
Result<void> DownloadFile(const ReadAtFn& read_at, std::uint64_t size, const std::filesystem::path& out);

/// fsync of a file or, with `directory`, of a folder (its entries: renames, links, removals).
Result<void> SyncPath(const std::filesystem::path& path, bool directory);

}  // namespace basalt::backups
