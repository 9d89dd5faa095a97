// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "db/database.hpp"

namespace basalt::db {

/// What a WAL tap receives after a commit: the frames the WAL gained, exactly as SQLite wrote them
/// (each a 24-byte header then a page), whole transactions, the last frame a commit frame. Frames
/// of other processes' commits that landed in the WAL meanwhile are included.
struct WalFrames {
    std::uint32_t page_size = 0;
    std::string bytes;  // empty in a gap notice
    /// Frames may have been lost before these: another process wrote and the WAL started over
    /// before this process could read them (or the WAL could not be read). A consumer that keeps a
    /// copy must start it again from a snapshot taken after this notice.
    bool gap = false;
    std::chrono::system_clock::time_point committed;  // when the writer saw the commit
    /// What verifies the frames (docs: the WAL format): the WAL header's magic (checksum byte
    /// order) and salts, and the running checksum before the first frame (the header's, or the
    /// previous frame's).
    std::uint32_t wal_magic = 0;
    std::uint32_t salt1 = 0;
    std::uint32_t salt2 = 0;
    std::uint32_t chain1 = 0;
    std::uint32_t chain2 = 0;
};

/// Called in the writer thread after each group, before the next write transaction can begin (so
/// before SQLite could restart the WAL over the frames): must be quick and must not block (queue
/// the frames). See docs/design/pitr.md.
using WalTap = std::function<void(WalFrames)>;

struct SqliteOptions {
    std::string path;                              // the database file (created if missing)
    std::chrono::milliseconds busy_timeout{5000};  // how long a statement waits for a lock
    std::size_t max_readers = 16;                  // reader connections kept open
    std::size_t max_group = 512;                   // writes committed together at most
    std::size_t analyze_every = 5000;              // planner statistics refreshed after this many writes (0: never)
    /// A WAL longer than this many pages is checkpointed and emptied by the writer (0: never; see
    /// the checkpointer in checkpoint.cpp). 4096 pages of 4 KiB: 16 MiB.
    std::size_t wal_truncate_frames = 4096;
    /// How long that checkpoint waits for readers of older snapshots before trying again later.
    std::chrono::milliseconds checkpoint_wait{50};
    /// Durability off the writer thread: a group is committed without an fsync and the writer moves
    /// on to the next group while a sync thread makes the WAL durable; the writes' callbacks (and the
    /// commit observer) run only after that fsync. false: synchronous=FULL, the fsync inside COMMIT.
    bool sync_thread = true;
    /// Receives every committed transaction's WAL frames (point-in-time replication). Empty: off.
    WalTap wal_tap;
    /// Makes the Nth write (1-based) of this database fail with kInternal, for fault-injection tests.
    std::size_t fail_nth_write_for_test = 0;
};

/// Opens (creating if needed) an SQLite database in WAL mode. A write is acknowledged only after the
/// WAL holding it is fsynced (by the sync thread, or inside COMMIT without it). Fails with kUnavailable when the file
/// cannot be opened.
Result<std::unique_ptr<Database>> OpenSqlite(const SqliteOptions& options);

/// Copies the database file `from` into a new file `to` online, with SQLite's backup API in one step:
/// a consistent snapshot (one read transaction) taken while other connections and processes go on
/// writing (WAL). The copy is left in rollback-journal mode, a single self-contained file. Blocks.
Result<void> CopyDatabase(const std::string& from, const std::string& to);

/// What CheckDatabaseFile found in a database file.
struct DatabaseFileInfo {
    std::vector<std::string> tables;
    /// The highest system migration recorded in basalt's `_migrations` (version column); empty when
    /// the file has no such table (PocketBase's `_migrations` has file names instead).
    std::optional<std::int64_t> migration_version;
};

/// Checks a database file that is not in use (a restore's): it must start with SQLite's header and
/// pass `PRAGMA integrity_check`. kInvalidArgument with the reason otherwise. Opens it read-only,
/// never creates -wal or -shm files beside it (immutable). Blocks.
Result<DatabaseFileInfo> CheckDatabaseFile(const std::string& path);

}  // namespace basalt::db
