// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "db/database.hpp"
#include "importer/convert.hpp"
#include "importer/source.hpp"

namespace basalt::importer {

/// How an import runs.
struct ImportOptions {
    /// Import into a destination that holds data of its own: the collections of the source replace
    /// the destination's (others are deleted, as an import with deleteMissing), the imported
    /// collections are emptied first, and superusers with the same id or email are replaced.
    bool force = false;
    /// Called with each line of progress (collections, records per collection, files).
    std::function<void(const std::string&)> progress;
};

/// What an import did, and what it left behind and why.
struct ImportReport {
    Era era = Era::kModern;
    std::size_t collections = 0;
    std::size_t views = 0;  // view collections imported (they have no records of their own)
    std::vector<std::pair<std::string, std::int64_t>> records;  // per collection, in import order
    std::int64_t superusers = 0;
    std::int64_t external_auths = 0;
    std::uint64_t files = 0;
    std::uint64_t file_bytes = 0;
    Notes not_carried_over;
};

/// Why the destination is not empty (user collections other than the default `users`, records of
/// `users`, superusers), or nullopt when it is empty.
Result<std::optional<std::string>> WhyNotEmpty(db::Database& db);

/// Imports the PocketBase database `src` into the basalt database `db` of the data directory
/// `data_dir`: collections through basalt's CollectionStore import (ids, rules, indexes, options;
/// a collection basalt refuses loses first its indexes, then its rules, then is left out, each
/// noted), then every record, superuser (admin), external auth link and auth origin in one
/// transaction with values converted to basalt's storage (bcrypt hashes kept), the settings that
/// map, and the files of `storage/`. The caller checked WhyNotEmpty (or has `force`). Blocks.
/// Fails with the failing step's error; the source is never written.
Result<ImportReport> Import(
    const Source& src, db::Database& db, const std::filesystem::path& data_dir, const ImportOptions& options
);

}  // namespace basalt::importer
