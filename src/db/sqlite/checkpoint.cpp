// SPDX-License-Identifier: MIT
// SqliteDatabase's WAL checkpoints: PASSIVE ones on a thread of their own, TRUNCATE ones by the
// writer between groups.
#include <algorithm>
#include <chrono>

#include "db/sqlite/sqlite_database_internal.hpp"

namespace basalt::db::sqlite {

namespace {

constexpr auto kPassiveEvery = std::chrono::milliseconds(50);
// After a TRUNCATE that gave up (a long read: a backup's or a replica's snapshot), the next try
// waits this long, doubling up to kMaxTruncateBackoff.
constexpr auto kFirstTruncateBackoff = std::chrono::milliseconds(250);
constexpr auto kMaxTruncateBackoff = std::chrono::seconds(4);

}  // namespace

// Keeps the WAL bounded under any load, in two parts.
// - Copying WAL frames into the database file (and its fsync) happens on a checkpointer thread of
//   its own, as PASSIVE checkpoints (they never block the writer or readers) whenever the WAL
//   passes 1000 pages, at most every 50 ms (RunCheckpointer). SQLite's default runs the same
//   checkpoint inside the committing thread after every commit past 1000 pages: with a steady
//   write load that put a database fsync into nearly every group commit.
// - The WAL only starts over from its beginning when a writer finds it wholly copied and no reader
//   using it, which a steady stream of overlapping reads prevents (checkpoint starvation): the
//   file then grows without end. So once it passes wal_truncate_frames, the writer (between
//   groups: no write in flight) runs a TRUNCATE checkpoint, which waits for readers of older
//   snapshots (statements: milliseconds), copies what is left (little: the checkpointer kept up)
//   and empties the file. It waits at most checkpoint_wait; if a long read is still running it
//   gives up and tries again later: 250 ms later, then twice as long each time up to 4 s. Trying
//   again after every group had stalled each group checkpoint_wait for as long as the read ran:
//   writes fell to a quarter, p99 to 560 ms, while an online backup copied a 450 MB database.
void SqliteDatabase::Checkpoint() {
    if (options_.wal_truncate_frames == 0 ||
        wal_frames_.load(std::memory_order_relaxed) < static_cast<int>(options_.wal_truncate_frames)) {
        return;
    }
    const auto now = std::chrono::steady_clock::now();
    if (now < truncate_retry_at_) {
        return;
    }
    sqlite3* h = writer_->Handle();
    sqlite3_busy_timeout(h, static_cast<int>(options_.checkpoint_wait.count()));
    int log = 0;
    int copied = 0;
    const int rc = sqlite3_wal_checkpoint_v2(h, nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log, &copied);
    sqlite3_busy_timeout(h, static_cast<int>(options_.busy_timeout.count()));
    if (rc == SQLITE_OK) {
        checkpoints_.Add();
        wal_frames_.store(0, std::memory_order_relaxed);
        truncate_backoff_ = std::chrono::milliseconds(0);
    } else {
        checkpoints_busy_.Add();
        truncate_backoff_ = truncate_backoff_.count() == 0
                                ? std::chrono::milliseconds(kFirstTruncateBackoff)
                                : std::min<std::chrono::milliseconds>(truncate_backoff_ * 2, kMaxTruncateBackoff);
        truncate_retry_at_ = std::chrono::steady_clock::now() + truncate_backoff_;
    }
}

void SqliteDatabase::RunCheckpointer() {
    auto last = std::chrono::steady_clock::now() - kPassiveEvery;
    std::unique_lock lock(checkpoint_mu_);
    for (;;) {
        checkpoint_cv_.wait_for(lock, kPassiveEvery, [&] {
            return checkpoint_stop_ || wal_frames_.load(std::memory_order_relaxed) >= kAutoCheckpointFrames;
        });
        if (checkpoint_stop_) {
            return;
        }
        const auto since = std::chrono::steady_clock::now() - last;
        if (since < kPassiveEvery) {
            checkpoint_cv_.wait_for(lock, kPassiveEvery - since, [&] { return checkpoint_stop_; });
            if (checkpoint_stop_) {
                return;
            }
        }
        if (wal_frames_.load(std::memory_order_relaxed) < kAutoCheckpointFrames) {
            continue;
        }
        lock.unlock();
        (void)sqlite3_wal_checkpoint_v2(checkpointer_->Handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
        last = std::chrono::steady_clock::now();
        lock.lock();
    }
}

}  // namespace basalt::db::sqlite
