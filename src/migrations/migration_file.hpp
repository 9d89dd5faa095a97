// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "core/result.hpp"

namespace basalt::migrations {

/// One step of a migration (docs/migrations.md, "File format"). Steps run in order, inside the
/// migration's one transaction.
enum class StepKind {
    kCreate,  // {"create": {collection}}: creates a collection (PocketBase's collection JSON)
    kUpdate,  // {"update": {collection}}: makes the collection found by id (then name) this definition
    kDelete,  // {"delete": "id or name"}: deletes a collection and its table
    kImport,  // {"import": {"collections": [...], "deleteMissing": bool}}: PUT /api/collections/import
    kSql,     // {"sql": "..."}: SQL statements (`;`-separated) for data changes
};

struct Step {
    StepKind kind = StepKind::kSql;
    boost::json::object collection;  // create, update
    std::string target;              // delete
    boost::json::array collections;  // import
    bool delete_missing = false;     // import
    std::string sql;                 // sql
};

/// A migration file's content: the steps that apply it and those that revert it.
struct MigrationFile {
    std::vector<Step> up;
    std::vector<Step> down;
};

/// Reads a migration file's text: a JSON object with "up" (required) and "down" (optional) arrays of
/// steps; any other key, or a step that is not one object with one known key of the right type, is
/// refused. kInvalidArgument with a message naming the place ("up[2].update: ...").
Result<MigrationFile> ParseMigration(std::string_view text);

/// The file's text: pretty-printed JSON (two-space indents) ending in a newline. ParseMigration
/// reads it back to the same steps.
std::string FormatMigration(const MigrationFile& file);

/// What a step says in an error or a listing: "create posts", "update pbc_123", "sql".
std::string DescribeStep(const Step& step);

/// Whether a file name is a migration's: `<digits>_<anything>.json` (no directory part). Other
/// files in the folder are ignored.
bool IsMigrationName(std::string_view file_name);

/// The migration files of `dir` in the order they apply (byte order of their names). A missing
/// folder has none; kUnavailable when it cannot be read.
Result<std::vector<std::string>> ListMigrations(const std::filesystem::path& dir);

/// `<unix_seconds>_<name>.json` with `name` reduced to [A-Za-z0-9_] (anything else becomes `_`;
/// empty becomes "migration"). A new file must sort after every existing one: callers pick a
/// timestamp above the largest prefix in the folder (MigrationTimestamp).
std::string MigrationFileName(std::int64_t unix_seconds, std::string_view name);

/// The leading number of a migration file name (0 when there is none).
std::int64_t MigrationTimestamp(std::string_view file_name);

}  // namespace basalt::migrations
