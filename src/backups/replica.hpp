// SPDX-License-Identifier: MIT
// Point-in-time replication (docs/backups.md, "Point-in-time recovery"): `serve --replicate DEST`
// keeps, in a directory, generations of a snapshot of data.db plus every transaction committed
// after it (the WAL frames the database's WAL tap hands over); RestoreReplica rebuilds the
// database as of any moment a generation covers.
//
// DEST/<generation>/snapshot.db     the database when the generation began (SQLite's backup API)
// DEST/<generation>/snapshot.time   when that copy finished (microseconds since the epoch)
// DEST/<generation>/<seq>.seg       restore points after it, in order (replica_format.hpp)
// DEST/<generation>/end             written when every commit up to its end was shipped
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "backups/replica_format.hpp"
#include "core/result.hpp"
#include "db/sqlite/sqlite_database.hpp"
#include "storage/storage.hpp"

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
    /// Shipped transactions are written and made durable (fdatasync) once the oldest of them is this
    /// old, as one restore point: the restore granularity; the lag is this plus one fdatasync.
    std::chrono::milliseconds sync_every{300};
    std::size_t segment_bytes = 16U << 20;  // a segment file is closed past this size
    /// Frames waiting for the shipper at most; past it they are dropped and a new generation starts
    /// once the shipper has caught up (writes are never held up by the replica).
    std::size_t max_queued_bytes = 256U << 20;
    /// An S3 bucket: `dest` is then a staging folder, and every segment (one per sync) and snapshot
    /// is uploaded to `remote_prefix`/<generation>/ in the bucket, then removed from `dest`
    /// (snapshot.time stays, for the retention). Uploads that fail are retried, also after a restart.
    std::shared_ptr<storage::Storage> remote;
    std::string remote_prefix;
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
    // An upload of a staged file (replica_remote.cpp); lane 0: segments, 1: snapshots (large: apart,
    // so that they never hold the segments' lag up).
    struct PendingUpload {
        std::filesystem::path file;
        std::string key;
        std::int64_t oldest_us = 0;  // a segment's oldest commit (its lag when uploaded); 0: none
        bool keep = false;           // leave the local file (snapshot.time: the retention reads it)
        std::filesystem::path mark;  // created once uploaded (snapshot.uploaded), when not empty
    };
    void QueueUpload(int lane, PendingUpload upload);
    void QueueLeftovers();
    void RunUploads(int lane);
    void StopUploads();

    void Enqueue(db::WalFrames frames);
    void Run();
    void Take(const db::WalFrames& item);
    void Housekeep();
    void NewGeneration(bool previous_complete);
    void EndGeneration(bool complete);
    void MaybeStartSnapshot();
    void QueueSnapshotUpload(const std::filesystem::path& generation);
    void FlushWindow();
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
    int segment_fd_ = -1;  // -1: none open (the next flush opens one)
    std::filesystem::path segment_path_;
    std::size_t segment_size_ = 0;
    std::int64_t segment_oldest_us_ = 0;  // its oldest commit (0: none yet)
    std::int64_t window_oldest_us_ = 0;   // the window's oldest commit (0: empty)
    std::optional<std::chrono::system_clock::time_point> oldest_unsynced_;
    std::chrono::steady_clock::time_point retry_at_;
    std::chrono::steady_clock::time_point next_prune_;
    std::thread snapshot_thread_;
    std::atomic<int> snapshot_state_{0};  // 0 idle, 1 running, 2 done, -1 failed (of snapshot_dir_)
    std::filesystem::path snapshot_dir_;  // the generation the last snapshot was for
    bool snapshot_due_ = false;           // the current generation's snapshot waits for a running one
    std::string buffer_;
    ReplicaWindow window_;  // what was taken since the last sync

    // Uploads (remote only).
    std::mutex upload_mu_;
    std::condition_variable upload_cv_;
    std::deque<PendingUpload> uploads_[2];  // under upload_mu_
    bool upload_stop_ = false;              // under upload_mu_
    std::thread upload_threads_[2];
    std::atomic<std::uint64_t> upload_failures_{0};

    // Metrics.
    std::atomic<std::uint64_t> transactions_{0};
    std::atomic<std::uint64_t> points_{0};
    std::atomic<std::uint64_t> bytes_{0};
    std::atomic<std::uint64_t> generations_{0};
    std::atomic<std::uint64_t> dropped_{0};
    std::atomic<std::int64_t> lag_us_{0};      // commit to durable, of the last sync
    std::atomic<std::int64_t> lag_max_us_{0};  // ... the largest since start
};

/// One generation of a replica, as ListReplica reads it.
struct ReplicaGeneration {
    std::string name;
    std::optional<std::int64_t> snapshot_us;  // none: its snapshot never completed (unusable)
    std::int64_t first_us = 0;                // its first and last transactions (0: none)
    std::int64_t last_us = 0;
    std::uint64_t points = 0;        // restore points (one per sync window)
    std::uint64_t transactions = 0;  // SQLite transactions in them
    std::uint64_t bytes = 0;
};

/// Where a replica lives: a directory, or a prefix in a bucket.
struct ReplicaPlace {
    std::filesystem::path dir;
    std::shared_ptr<storage::Storage> bucket;
    std::string prefix;
};

/// "s3://BUCKET[/PREFIX]" (PREFIX defaults to "replica") is that bucket, opened with `s3` (its
/// endpoint, region and keys; the bucket is taken from `dest`); anything else is a directory.
/// kInvalidArgument for a bad S3 address or settings.
Result<ReplicaPlace> OpenReplicaPlace(const std::string& dest, storage::S3Config s3);

/// The generations in `dest`, oldest first. kNotFound when `dest` is not a replica directory.
Result<std::vector<ReplicaGeneration>> ListReplica(const std::filesystem::path& dest);
/// The same for a place; in a bucket only the generations' snapshot times and sizes are read.
Result<std::vector<ReplicaGeneration>> ListReplica(const ReplicaPlace& place);

/// What RestoreReplica rebuilt.
struct ReplicaRestored {
    std::string generation;
    std::int64_t snapshot_us = 0;
    std::int64_t restored_us = 0;  // the last restore point replayed (the snapshot's time when none)
    std::uint64_t points = 0;
    std::uint64_t transactions = 0;
    bool damaged = false;  // a damaged point ended the replay before the generation's end
};

/// Rebuilds into `out` (a file that must not exist) the database of the replica in `dest` as of
/// `to` (microseconds since the epoch; none: the latest it holds): the newest generation whose
/// snapshot is not newer than `to`, and its restore points at or before `to` replayed on the
/// snapshot (a point is a window of commits: the result is the last window boundary at or before
/// `to`; before the generation's first point past its snapshot, the snapshot alone), up to the
/// first damaged point; then `PRAGMA integrity_check`. Blocks. kNotFound when no generation covers
/// `to`, kInvalidArgument for a replayed database that does not check; `out` is only created when
/// everything succeeded.
Result<ReplicaRestored> RestoreReplica(
    const std::filesystem::path& dest, std::optional<std::int64_t> to, const std::filesystem::path& out
);
/// The same from a place: from a bucket, the chosen generation is downloaded beside `out` first.
Result<ReplicaRestored> RestoreReplica(
    const ReplicaPlace& place, std::optional<std::int64_t> to, const std::filesystem::path& out
);

}  // namespace basalt::backups
