// SPDX-License-Identifier: MIT
// Point-in-time replication (docs/backups.md, "Point-in-time recovery"): `serve --replicate DEST`
// keeps, in a directory, generations of a snapshot of data.db plus every transaction committed
// after it (the WAL frames the database's WAL tap hands over); RestoreReplica rebuilds the
// database as of any moment a generation covers.
//
// DEST/<generation>/snapshot.db     the database when the generation began (SQLite's backup API)
// DEST/<generation>/snapshot.time   when that copy finished (microseconds since the epoch)
// DEST/<generation>/<seq>.seg       transactions after it, in order (replica_format.hpp)
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/result.hpp"
#include "db/sqlite/sqlite_database.hpp"

namespace basalt::obs {
class Exposition;
}

namespace basalt::backups {

struct ReplicaOptions {
    std::filesystem::path dest;      // the replica's directory (created)
    std::filesystem::path database;  // the live data.db, copied at each generation's start
    /// A new generation (a fresh snapshot) at least this often, so a restore replays at most this much.
    std::chrono::seconds snapshot_every = std::chrono::hours(24);
    /// Generations no restore to a moment within this long ago needs are removed.
    std::chrono::seconds retention = std::chrono::hours(72);
    /// Shipped transactions are made durable (fdatasync) at most this long after their commit.
    std::chrono::milliseconds sync_every{200};
    std::size_t segment_bytes = 16U << 20;  // a segment file is closed past this size
    /// Frames waiting for the shipper at most; past it they are dropped and a new generation starts
    /// once the shipper has caught up (writes are never held up by the replica).
    std::size_t max_queued_bytes = 256U << 20;
};

/// Ships the database's WAL frames to a replica directory. Construct it before the database, give
/// Tap() to SqliteOptions::wal_tap, call Start() once the database is open, Stop() after it closed.
class Replicator {
public:
    explicit Replicator(ReplicaOptions options);
    ~Replicator();
    Replicator(const Replicator&) = delete;
    Replicator& operator=(const Replicator&) = delete;

    /// Creates the replica's directory and checks it can be written. kUnavailable otherwise.
    Result<void> Prepare();
    /// For SqliteOptions::wal_tap: queues the frames (never blocks). Valid while this object lives.
    db::WalTap Tap();
    /// Begins the first generation (its snapshot is taken in the background) and the shipper.
    void Start();
    /// Ships and syncs everything queued, then stops. Call after the database is closed.
    void Stop();

    void CollectMetrics(obs::Exposition& out) const;

private:
    void Enqueue(db::WalFrames frames);
    void Run();
    void NewGeneration();
    void CloseSegment();
    bool OpenSegment();
    bool WriteAll(const std::string& bytes);
    void Sync(std::chrono::system_clock::time_point now);
    void Prune(std::chrono::system_clock::time_point now);
    void SnapshotDone(bool ok);

    ReplicaOptions options_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<db::WalFrames> queue_;  // under mu_
    std::size_t queued_bytes_ = 0;     // under mu_
    bool overflowed_ = false;          // under mu_: frames were dropped; a gap notice is due
    bool stop_ = false;                // under mu_
    bool started_ = false;
    std::thread thread_;

    // The shipper thread's state.
    std::string generation_;  // empty: none (the last one failed)
    std::filesystem::path generation_dir_;
    std::chrono::system_clock::time_point generation_started_;
    std::uint64_t segment_seq_ = 0;
    int segment_fd_ = -1;
    std::size_t segment_size_ = 0;
    std::optional<std::chrono::system_clock::time_point> oldest_unsynced_;
    std::chrono::steady_clock::time_point last_sync_;
    std::chrono::steady_clock::time_point retry_at_;
    std::chrono::steady_clock::time_point next_prune_;
    std::thread snapshot_thread_;
    std::atomic<int> snapshot_state_{0};  // 0 running or none, 1 done, -1 failed
    std::string buffer_;

    // Metrics.
    std::atomic<std::uint64_t> transactions_{0};
    std::atomic<std::uint64_t> bytes_{0};
    std::atomic<std::uint64_t> generations_{0};
    std::atomic<std::uint64_t> dropped_{0};
    std::atomic<std::int64_t> lag_us_{0};  // commit to durable, of the last sync
    std::atomic<std::int64_t> last_durable_us_{0};
};

/// One generation of a replica, as ListReplica reads it.
struct ReplicaGeneration {
    std::string name;
    std::optional<std::int64_t> snapshot_us;  // none: its snapshot never completed (unusable)
    std::int64_t first_us = 0;                // its first and last transactions (0: none)
    std::int64_t last_us = 0;
    std::uint64_t transactions = 0;
    std::uint64_t bytes = 0;
};

/// The generations in `dest`, oldest first. kNotFound when `dest` is not a replica directory.
Result<std::vector<ReplicaGeneration>> ListReplica(const std::filesystem::path& dest);

/// What RestoreReplica rebuilt.
struct ReplicaRestored {
    std::string generation;
    std::int64_t snapshot_us = 0;
    std::int64_t restored_us = 0;  // the last transaction replayed (the snapshot's time when none)
    std::uint64_t transactions = 0;
};

/// Rebuilds into `out` (a file that must not exist) the database of the replica in `dest` as of
/// `to` (microseconds since the epoch; none: the latest it holds): the newest generation whose
/// snapshot is not newer than `to`, its transactions committed at or before `to` replayed on the
/// snapshot, then `PRAGMA integrity_check`. Blocks. kNotFound when no generation covers `to`,
/// kInvalidArgument for a damaged replica; `out` is only created when everything succeeded.
Result<ReplicaRestored> RestoreReplica(
    const std::filesystem::path& dest, std::optional<std::int64_t> to, const std::filesystem::path& out
);

}  // namespace basalt::backups
