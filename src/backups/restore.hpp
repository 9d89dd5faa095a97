// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "backups/archive.hpp"
#include "backups/encryption.hpp"
#include "core/result.hpp"

namespace basalt::backups {

/// A backup unpacked into a folder of its own and checked, ready to replace the data in use.
struct StagedRestore {
    std::filesystem::path dir;        // <data dir>/.tmp/restore-<random> (or verify-<random>)
    std::string source;               // the archive's file name, for messages
    std::int64_t schema_version = 0;  // the newest system migration its data.db has
    ExtractSummary summary;
    bool pocketbase = false;  // data.db is PocketBase's (accepted with RestoreOptions::accept_pocketbase)
};

struct RestoreOptions {
    /// The newest system migration this build knows: a database with a newer one is refused.
    std::int64_t known_version = 0;
    ExtractLimits limits;
    ExtractProgress progress;
    /// The staging folder's name prefix under `<data dir>/.tmp` ("restore-" or "verify-").
    std::string prefix = "restore-";
    /// Accept a PocketBase backup (its data.db has PocketBase's `_collections`, no basalt
    /// migrations): staged as it is with StagedRestore::pocketbase set, for the caller to import.
    bool accept_pocketbase = false;
    /// The key an encrypted archive is decrypted with; null: an encrypted archive is refused.
    std::shared_ptr<const BackupKey> key;
};

/// Unpacks the archive `zip` into a new folder under `<data_dir>/.tmp` (same disk: the swap is a
/// rename) and checks it before anything in use is touched: an encrypted archive (kEncryptedMagic)
/// is first decrypted beside that folder with `options.key` (DecryptArchive's refusals, bounded by
/// `options.limits.max_bytes` or the free disk space), then ExtractZip's checks, then a data.db
/// that is an intact SQLite database (CheckDatabaseFile) made by basalt (its `_migrations` has
/// versions: a PocketBase database is refused, pointing to `basalt import pocketbase`, unless
/// `accept_pocketbase`) no newer than
/// this build, and an intact auxiliary.db when there is one. kInvalidArgument with the reason when
/// refused; the folder is removed then. Blocks.
Result<StagedRestore> StageRestore(
    const std::filesystem::path& data_dir, const std::filesystem::path& zip, const RestoreOptions& options
);

/// Removes a staged restore that will not be used.
void DiscardRestore(const StagedRestore& staged);

/// Replaces the data of `data_dir` — data.db and auxiliary.db (with their -wal, -shm and -journal
/// files) and storage/ — by the staged restore's. No process may have the databases open. Each step
/// is recorded first in `<data_dir>/.tmp/restore.journal`; the old data moves to
/// `.tmp/restore-old-*` and stays until FinishRestore. A failure puts the old data back.
Result<void> SwapIn(const std::filesystem::path& data_dir, const StagedRestore& staged);

enum class RestoreState {
    kNone,     // no restore under way
    kSwapped,  // restored data in place, the old data kept until FinishRestore or RollBackRestore
};

/// Before the database is opened: a swap a crash interrupted is rolled back (the old data comes
/// back); waits for a swap another process is making. Says whether a completed swap awaits its
/// first open.
RestoreState RecoverRestore(const std::filesystem::path& data_dir);
/// Removes the staging folders of restores that never swapped (`.tmp/restore-*`). Only for a process
/// that holds the data directory's role locks (nobody else can be staging then).
void RemoveRestoreLeftovers(const std::filesystem::path& data_dir);
/// The restored data opened: the old data and the journal go.
void FinishRestore(const std::filesystem::path& data_dir);
/// The restored data did not open: it moves aside (`.tmp/restore-failed-*`) and the old data comes back.
Result<void> RollBackRestore(const std::filesystem::path& data_dir);

}  // namespace basalt::backups
