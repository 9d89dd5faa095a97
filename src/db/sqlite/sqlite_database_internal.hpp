// SPDX-License-Identifier: MIT
// SqliteDatabase, the Database OpenSqlite returns (src/db/sqlite only). Its parts:
// sqlite_database.cpp (lifecycle and the reader pool), writer.cpp (the write queue, group commit,
// schema changes, ANALYZE), sync.cpp (the sync thread), checkpoint.cpp (WAL checkpoints).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "db/database.hpp"
#include "db/sqlite/connection.hpp"
#include "db/sqlite/row_order.hpp"
#include "db/sqlite/sqlite_database.hpp"
#include "obs/metrics.hpp"
#include "obs/trace.hpp"

namespace basalt::db::sqlite {

inline constexpr int kAutoCheckpointFrames = 1000;  // SQLite's default wal_autocheckpoint

class SqliteDatabase final : public Database {
public:
    SqliteDatabase(SqliteOptions options, std::unique_ptr<Connection> writer, std::unique_ptr<Connection> checkpointer);
    ~SqliteDatabase() override { SqliteDatabase::Close(); }
    SqliteDatabase(const SqliteDatabase&) = delete;
    SqliteDatabase& operator=(const SqliteDatabase&) = delete;

    Dialect GetDialect() const override { return Dialect::kSqlite; }

    Result<ResultSet> Read(std::string_view sql, std::span<const Value> params) override;
    Result<void> ReadEach(std::string_view sql, std::span<const Value> params, const RowFn& fn) override;
    Result<void> ReadTx(const ReadFn& fn) override;
    void SubmitWrite(WriteFn fn, WriteDone done) override;
    Result<void> WriteSchema(WriteFn fn) override;
    void SetCommitObserver(std::function<void()> observer) override;
    void Close() override;
    void CollectMetrics(obs::Exposition& out) const override;
    std::uint64_t RowOrderToken(std::string_view table, std::string_view column) override;

private:
    struct Pending {
        WriteFn fn;
        WriteDone done;
        bool schema = false;     // runs alone, foreign keys off (WriteSchema)
        obs::TraceContext span;  // the submitter's span: `fn` runs under it
    };

    // A group the writer finished, waiting for the sync thread: its answers are given, and what it
    // asked to run after the commit is run, once the WAL holding it is durable.
    struct Finished {
        std::vector<WriteDone> done;
        std::vector<Result<void>> results;
        std::vector<std::function<void()>> after_commit;
        bool committed = false;  // false: rolled back, nothing to make durable
        bool any_write = false;  // at least one write of the group committed
    };

    // Reader connections live in shards picked by thread, so that I/O threads rarely share a lock.
    struct Shard {
        std::mutex mu;
        std::vector<std::unique_ptr<Connection>> conns;
    };
    static constexpr std::size_t kShards = 8;

    // --- the reader pool (sqlite_database.cpp) ---
    static std::size_t ShardIndex();
    Result<std::unique_ptr<Connection>> AcquireReader();
    void ReleaseReader(std::unique_ptr<Connection> conn);

    // --- the writer (writer.cpp) ---
    void RunWriter();
    // Moves the next group off the queue into `batch` (a schema change alone); false once closing
    // and drained.
    bool TakeGroup(std::vector<Pending>& batch);
    // Commits `batch` (a group, or one schema change) and refreshes statistics when due.
    Finished CommitBatch(std::vector<Pending>& batch, std::vector<Result<void>>& results);
    // One transaction for the whole group; each write in its own savepoint. Returns whether the
    // transaction committed and whether a write of it did.
    std::pair<bool, bool> CommitGroup(std::vector<Pending>& batch, std::vector<Result<void>>& results);
    Result<void> CommitSchema(const WriteFn& fn);
    void Analyze();
    static Result<void> RunOne(const WriteFn& fn, Connection& c);

    // --- durability (sync.cpp) ---
    void RunSyncer();
    Result<void> SyncWal();
    void AnswerGroup(Finished& g, const Result<void>& synced);

    // --- the WAL tap (wal_tap.cpp): point-in-time replication ---
    // In the WAL hook (writer thread, right after a commit): reads the frames the WAL gained.
    void TapFrames(int frames);
    bool TapReadHeader();
    bool TapFramesHold(const std::string& bytes) const;
    // After each batch (writer thread, between transactions): hands what TapFrames read to the tap,
    // preceded by a gap notice when frames may have been missed.
    void FlushTap();
    // PRAGMA data_version of the writer: it moves when another process committed.
    std::int64_t DataVersion();

    // --- checkpoints (checkpoint.cpp) ---
    void Checkpoint();
    void RunCheckpointer();

    SqliteOptions options_;
    std::unique_ptr<Connection> writer_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Pending> queue_;
    bool closing_ = false;
    std::function<void()> observer_;  // under mu_
    std::atomic<int> wal_frames_{0};  // set by the WAL hook (writer thread)
    std::size_t writes_ = 0;          // writer thread only
    // A TRUNCATE checkpoint that gave up is tried again no sooner than this (writer thread only).
    std::chrono::steady_clock::time_point truncate_retry_at_;
    std::chrono::milliseconds truncate_backoff_{0};
    std::size_t writes_since_analyze_ = 0;  // writer thread only
    std::size_t analyze_after_ = 0;         // writer thread only: writes before the next ANALYZE
    std::atomic<std::uint64_t> stats_generation_{0};
    RowOrders row_orders_;  // which columns follow their table's rowid order (row_order.hpp)
    // Metrics (metrics.cpp).
    std::atomic<std::size_t> queued_{0};  // writes submitted and not yet taken into a group
    obs::Counter writes_ok_;
    obs::Counter writes_failed_;
    obs::Counter checkpoints_;       // TRUNCATE checkpoints that completed
    obs::Counter checkpoints_busy_;  // ... that gave up waiting for a reader
    obs::Counter reader_opens_;      // reader connections opened because none was idle
    obs::Histogram group_sizes_{obs::SizeBuckets()};
    obs::Histogram commit_seconds_{obs::LatencyBuckets()};  // BEGIN to COMMIT of a group
    obs::Histogram sync_seconds_{obs::LatencyBuckets()};    // one fdatasync of the WAL
    std::array<Shard, kShards> shards_;
    std::thread thread_;
    std::unique_ptr<Connection> checkpointer_;  // its own connection: PASSIVE checkpoints
    std::mutex checkpoint_mu_;
    std::condition_variable checkpoint_cv_;
    bool checkpoint_stop_ = false;  // under checkpoint_mu_
    std::thread checkpoint_thread_;
    std::string wal_path_;  // empty: no WAL file to sync or tap
    // The WAL tap's state (writer thread only).
    int tap_fd_ = -1;              // the WAL, read-only
    std::uint32_t tap_salt1_ = 0;  // of the WAL incarnation being read
    std::uint32_t tap_salt2_ = 0;
    std::uint32_t tap_page_size_ = 0;  // 0: no header read yet
    std::uint32_t tap_magic_ = 0;
    std::uint32_t tap_chain1_ = 0;  // the checksum chain after the last frame read
    std::uint32_t tap_chain2_ = 0;
    int tap_frames_ = 0;  // frames of that incarnation already read
    // Where frames may be missing, as an index into tap_pending_: certain (frames could not be
    // read), or a WAL restart (a hole only if another process wrote meanwhile; see FlushTap).
    std::vector<std::pair<std::size_t, bool>> tap_holes_;
    std::int64_t tap_data_version_ = -1;
    bool tap_external_carried_ = false;  // another process committed; not yet followed by a read
    bool tap_reread_header_ = false;     // after a hole: the header is read before the next frames
    bool tap_chain_known_ = false;       // tap_chain1_/2_ are the chain after the last frame read
    std::vector<WalFrames> tap_pending_;
    int wal_fd_ = -1;  // sync thread only
    std::mutex sync_mu_;
    std::condition_variable sync_cv_;
    std::vector<Finished> synced_;  // under sync_mu_: finished groups, in commit order
    bool sync_stop_ = false;        // under sync_mu_
    std::thread sync_thread_;
};

}  // namespace basalt::db::sqlite
