// SPDX-License-Identifier: MIT
// SqliteDatabase's sync thread: the fsync that makes finished groups durable, and their answers.
#include <algorithm>
#include <cerrno>
#include <chrono>
#include <system_error>

#include <fcntl.h>
#include <unistd.h>

#include "db/sqlite/sqlite_database_internal.hpp"

namespace basalt::db::sqlite {

// The sync thread: one fsync of the WAL covers every group the writer finished meanwhile (their
// pages were written before they were handed over), so the writer executes group n+1 while
// group n's fsync runs, instead of waiting for it. Groups are settled in commit order.
void SqliteDatabase::RunSyncer() {
    std::vector<Finished> groups;
    for (;;) {
        {
            std::unique_lock lock(sync_mu_);
            sync_cv_.wait(lock, [&] { return sync_stop_ || !synced_.empty(); });
            if (synced_.empty()) {
                return;  // stopping, and the writer (joined first) has nothing left
            }
            groups.swap(synced_);
        }
        const bool any_committed =
            std::any_of(groups.begin(), groups.end(), [](const Finished& g) { return g.committed; });
        const Result<void> synced = any_committed ? SyncWal() : Ok();
        for (auto& g : groups) {
            AnswerGroup(g, synced);
        }
        groups.clear();
    }
}

// fdatasync of the WAL through a descriptor of our own (opened on first use: the file exists
// once a group has committed). Any descriptor of the file syncs the file's data.
Result<void> SqliteDatabase::SyncWal() {
    if (wal_path_.empty()) {
        return Ok();  // an in-memory or temporary database: nothing to make durable
    }
    if (wal_fd_ < 0) {
        wal_fd_ = ::open(wal_path_.c_str(), O_RDONLY | O_CLOEXEC);
        if (wal_fd_ < 0) {
            return MakeError(
                ErrorCode::kInternal, "cannot open the WAL to sync it: " + std::system_category().message(errno)
            );
        }
    }
    const auto started = std::chrono::steady_clock::now();
    const int rc = ::fdatasync(wal_fd_);
    sync_seconds_.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    if (rc != 0) {
        return MakeError(ErrorCode::kInternal, "cannot sync the WAL: " + std::system_category().message(errno));
    }
    return Ok();
}

// Runs what the committed writes asked for and the observer, then answers the writes. When the
// WAL could not be made durable the committed writes are answered with that error (they are
// visible, so caches are still told).
void SqliteDatabase::AnswerGroup(Finished& g, const Result<void>& synced) {
    if (g.committed) {
        for (auto& fn : g.after_commit) {
            fn();
        }
        if (g.any_write) {
            std::function<void()> observer;
            {
                std::lock_guard lock(mu_);
                observer = observer_;
            }
            if (observer) {
                observer();
            }
        }
        if (!synced) {
            for (auto& r : g.results) {
                if (r) {
                    r = synced.error();
                }
            }
        }
    }
    for (std::size_t i = 0; i < g.done.size(); ++i) {
        if (g.done[i]) {
            g.done[i](std::move(g.results[i]));
        }
    }
}

}  // namespace basalt::db::sqlite
