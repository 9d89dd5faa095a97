// SPDX-License-Identifier: MIT
// SqliteDatabase: starting and stopping its threads, and the pool of reader connections.
#include "db/sqlite/sqlite_database.hpp"

#include <algorithm>
#include <thread>

#include <unistd.h>

#include "db/sqlite/sqlite_database_internal.hpp"

namespace basalt::db {

namespace sqlite {

SqliteDatabase::SqliteDatabase(
    SqliteOptions options, std::unique_ptr<Connection> writer, std::unique_ptr<Connection> checkpointer
)
    : options_(std::move(options)),
      writer_(std::move(writer)),
      checkpointer_(std::move(checkpointer)) {
    // The WAL's length after each commit, for the checkpoints (see Checkpoint). Registering the
    // hook also turns off SQLite's own automatic checkpoint, which ran in the committing thread.
    sqlite3_wal_hook(
        writer_->Handle(),
        [](void* self, sqlite3*, const char*, int frames) {
            auto* db = static_cast<SqliteDatabase*>(self);
            db->wal_frames_.store(frames, std::memory_order_relaxed);
            if (db->options_.wal_tap) {
                db->TapFrames(frames);
            }
            if (frames >= kAutoCheckpointFrames) {
                db->checkpoint_cv_.notify_one();
            }
            return SQLITE_OK;
        },
        this
    );
    row_orders_.Install(writer_->Handle());
    analyze_after_ = options_.analyze_every;
    if (const char* main = sqlite3_db_filename(writer_->Handle(), "main"); main != nullptr && *main != '\0') {
        wal_path_ = sqlite3_filename_wal(main);
    }
    if (options_.sync_thread) {
        sync_thread_ = std::thread([this] { RunSyncer(); });
    }
    thread_ = std::thread([this] { RunWriter(); });
    if (checkpointer_) {
        checkpoint_thread_ = std::thread([this] { RunCheckpointer(); });
    }
}

void SqliteDatabase::Close() {
    {
        std::lock_guard lock(mu_);
        if (closing_) {
            return;
        }
        closing_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
    {
        std::lock_guard lock(sync_mu_);
        sync_stop_ = true;
    }
    sync_cv_.notify_all();
    if (sync_thread_.joinable()) {
        sync_thread_.join();  // after the writer: it drains what the writer handed over
    }
    if (wal_fd_ >= 0) {
        ::close(wal_fd_);
        wal_fd_ = -1;
    }
    if (tap_fd_ >= 0) {
        ::close(tap_fd_);
        tap_fd_ = -1;
    }
    {
        std::lock_guard lock(checkpoint_mu_);
        checkpoint_stop_ = true;
    }
    checkpoint_cv_.notify_all();
    if (checkpoint_thread_.joinable()) {
        checkpoint_thread_.join();
    }
    checkpointer_.reset();
    for (auto& shard : shards_) {
        std::lock_guard lock(shard.mu);
        shard.conns.clear();
    }
    writer_.reset();
}

std::size_t SqliteDatabase::ShardIndex() {
    thread_local const std::size_t index = std::hash<std::thread::id>()(std::this_thread::get_id()) % kShards;
    return index;
}

Result<std::unique_ptr<Connection>> SqliteDatabase::AcquireReader() {
    const std::uint64_t generation = stats_generation_.load(std::memory_order_acquire);
    Shard& shard = shards_[ShardIndex()];
    {
        std::lock_guard lock(shard.mu);
        while (!shard.conns.empty()) {
            auto c = std::move(shard.conns.back());
            shard.conns.pop_back();
            if (c->stats_generation == generation) {
                return c;
            }
            // Planned with older statistics (see Analyze): closed (outside this loop's use).
        }
    }
    reader_opens_.Add();
    auto c = Connection::Open(options_, /*reader=*/true);
    if (c) {
        (*c)->stats_generation = generation;
    }
    return c;
}

void SqliteDatabase::ReleaseReader(std::unique_ptr<Connection> conn) {
    if (conn->InTransaction()) {
        (void)conn->Raw("ROLLBACK");
    }
    (void)conn->TakeAfterCommit();  // a reader never commits a write
    Shard& shard = shards_[ShardIndex()];
    std::lock_guard lock(shard.mu);
    if (shard.conns.size() < std::max<std::size_t>(2, options_.max_readers / kShards)) {
        shard.conns.push_back(std::move(conn));
    }
}

Result<ResultSet> SqliteDatabase::Read(std::string_view sql, std::span<const Value> params) {
    BASALT_ASSIGN_OR_RETURN(auto conn, AcquireReader());
    auto r = conn->Query(sql, params);
    ReleaseReader(std::move(conn));
    return r;
}

Result<void> SqliteDatabase::ReadEach(std::string_view sql, std::span<const Value> params, const RowFn& fn) {
    BASALT_ASSIGN_OR_RETURN(auto conn, AcquireReader());
    auto r = conn->QueryEach(sql, params, fn);
    ReleaseReader(std::move(conn));
    return r;
}

Result<void> SqliteDatabase::ReadTx(const ReadFn& fn) {
    BASALT_ASSIGN_OR_RETURN(auto conn, AcquireReader());
    Connection& c = *conn;
    auto r = c.Raw("BEGIN");
    if (r) {
        r = fn(c);
        (void)c.Raw("COMMIT");
    }
    ReleaseReader(std::move(conn));
    return r;
}

}  // namespace sqlite

Result<std::unique_ptr<Database>> OpenSqlite(const SqliteOptions& options) {
    BASALT_ASSIGN_OR_RETURN(auto writer, sqlite::Connection::Open(options, /*reader=*/false, options.sync_thread));
    BASALT_ASSIGN_OR_RETURN(auto checkpointer, sqlite::Connection::Open(options, /*reader=*/false));
    return std::unique_ptr<Database>(
        std::make_unique<sqlite::SqliteDatabase>(options, std::move(writer), std::move(checkpointer))
    );
}

}  // namespace basalt::db
