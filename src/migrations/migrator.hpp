// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "collections/store.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "db/database.hpp"
#include "migrations/migration_file.hpp"

namespace basalt::migrations {

/// One line of `basalt migrate history`: a migration applied to this database (`applied` set) or a
/// file of the folder not applied yet (`applied` empty). `missing`: applied, but no longer in the folder.
struct HistoryEntry {
    std::string file;
    std::string applied;
    bool missing = false;
};

/// The migration files of one folder against one database (docs/migrations.md). Applied files are
/// recorded in `_migrationFiles` (file, applied), which a system migration creates. Each migration
/// applies or reverts in one schema transaction (Database::WriteSchema) together with its record, so
/// a failing one leaves nothing behind. The database's collections change behind any CollectionStore
/// already loaded: run Up before the server loads its store, and the other commands with the server
/// stopped. Blocking; not thread-safe (one Migrator per command or per server).
class Migrator {
public:
    Migrator(db::Database& db, const Clock& clock, std::filesystem::path dir)
        : db_(db),
          clock_(clock),
          dir_(std::move(dir)) {}

    const std::filesystem::path& Dir() const { return dir_; }

    /// Applies every migration of the folder not yet recorded, in file-name order, each in its own
    /// transaction. Stops at the first failure: kInvalidArgument (or the failing step's code) with a
    /// message naming the file and the problem ("1712_x.json: up[1] (update posts): ..."); the ones
    /// before it stay applied. `applied` gets the files applied (also those before a failure).
    Result<void> Up(std::vector<std::string>& applied);

    /// Reverts the last `n` applied migrations (most recent first), each in its own transaction with
    /// its record removed, by running its file's "down" steps. Fails like Up; kNotFound when an
    /// applied file is no longer in the folder. `reverted` gets the files reverted.
    Result<void> Down(int n, std::vector<std::string>& reverted);

    /// Applied migrations in the order they were applied, then the pending files in name order.
    Result<std::vector<HistoryEntry>> History() const;

    /// Writes an empty migration `<now>_<name>.json` ({"up": [], "down": []}) and returns its path.
    /// Not recorded as applied.
    Result<std::filesystem::path> Create(std::string_view name);

    /// Writes a snapshot of every non-system collection (`<now>_collections_snapshot.json`: up imports
    /// them without deleting others, down does nothing, as PocketBase's) and records it as applied,
    /// since it describes this database. Returns its path.
    Result<std::filesystem::path> Snapshot();

    /// The automigrate hook for CollectionStore::SetChangeHook: every change through the store becomes
    /// a migration file whose up repeats the change and whose down reverts it (a created collection is
    /// deleted, an updated one gets its previous definition back, a deleted one is created again). The
    /// file is recorded as applied in the change's transaction and written once it has committed (a
    /// failed write is logged). OAuth2 providers (client secrets) are left out of the definitions.
    collections::SchemaChangeHook AutomigrateHook();

private:
    Result<bool> Run(const std::string& file, const std::vector<Step>& steps, bool up);
    /// A new file name for `name` that sorts after every file of the folder and every name given before.
    Result<std::string> NewFileName(std::string_view name);
    Result<std::filesystem::path> WriteFile(const std::string& file, const MigrationFile& content) const;

    db::Database& db_;
    const Clock& clock_;
    std::filesystem::path dir_;
    std::int64_t last_timestamp_ = 0;
};

/// The definition of a collection as a migration file keeps it: PocketBase's collection JSON without
/// created/updated and without oauth2.providers (client secrets stay out of version control).
boost::json::object DefinitionForFile(const schema::Collection& c);

/// The migration automigrate writes for one committed change, and its name ("created_posts",
/// "updated_posts", "deleted_posts"; "collections_import" for several collections at once).
MigrationFile MigrationForChanges(const std::vector<collections::SchemaChange>& changes, std::string& name);

}  // namespace basalt::migrations
