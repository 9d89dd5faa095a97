// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "db/database.hpp"
#include "importer/convert.hpp"

struct sqlite3;

namespace basalt::importer {

/// A PocketBase data directory opened for reading, never written: its data.db is opened read-only
/// and immutable, or, when a WAL file sits beside it (PocketBase was not stopped cleanly), a copy of
/// the two in a temporary directory is opened instead and removed with the Source. Not thread-safe.
class Source {
public:
    /// Opens `pb_data` (the directory, or its data.db) and detects its era. kInvalidArgument with a
    /// message for a user when it is not a PocketBase database: no data.db, not SQLite, corrupted
    /// (`PRAGMA quick_check`), no `_collections` table, or one with neither `fields` nor `schema`.
    static Result<std::unique_ptr<Source>> Open(const std::filesystem::path& pb_data);
    ~Source();
    Source(const Source&) = delete;
    Source& operator=(const Source&) = delete;

    Era GetEra() const { return era_; }
    /// The pb_data directory (storage/ is below it).
    const std::filesystem::path& Dir() const { return dir_; }
    bool HasTable(std::string_view name) const;
    /// The table's column names in order (empty when there is no such table).
    std::vector<std::string> Columns(std::string_view table) const;
    /// Every `_collections` row, in the table's order.
    Result<std::vector<SourceCollection>> Collections() const;
    /// `_params.value` for `key`, or nullopt.
    Result<std::optional<std::string>> Param(std::string_view key) const;
    /// Runs `sql` (no parameters), calling `fn` with each row; stops at its first error.
    Result<void> Each(std::string_view sql, const std::function<Result<void>(std::vector<db::Value>&)>& fn) const;

private:
    Source() = default;
    sqlite3* db_ = nullptr;
    Era era_ = Era::kModern;
    std::filesystem::path dir_;
    std::filesystem::path temp_dir_;  // the copy of a database with a WAL, removed at the end
};

/// `name` quoted as an SQLite identifier.
std::string Quote(std::string_view name);

}  // namespace basalt::importer
