// SPDX-License-Identifier: MIT
// SqliteDatabase's writer thread: the write queue, group commit (one transaction per group, a
// savepoint per write), schema changes and the planner statistics.
#include <algorithm>
#include <chrono>
#include <exception>
#include <future>
#include <tuple>

#include "db/sqlite/sqlite_database_internal.hpp"
#include "obs/trace.hpp"

namespace basalt::db::sqlite {

namespace {

constexpr std::size_t kMaxAnalyzeEvery = 1000000;

}  // namespace

void SqliteDatabase::SubmitWrite(WriteFn fn, WriteDone done) {
    {
        std::lock_guard lock(mu_);
        if (!closing_) {
            const obs::TraceContext* span = obs::CurrentSpan();
            queue_.push_back({std::move(fn), std::move(done), false, span != nullptr ? *span : obs::TraceContext{}});
            queued_.fetch_add(1, std::memory_order_relaxed);
            cv_.notify_one();
            return;
        }
    }
    done(MakeError(ErrorCode::kUnavailable, "database is closed"));
}

Result<void> SqliteDatabase::WriteSchema(WriteFn fn) {
    std::promise<Result<void>> promise;
    auto future = promise.get_future();
    {
        std::lock_guard lock(mu_);
        if (closing_) {
            return MakeError(ErrorCode::kUnavailable, "database is closed");
        }
        queue_.push_back(
            {std::move(fn), [&promise](Result<void> r) { promise.set_value(std::move(r)); }, true, obs::TraceContext{}}
        );
        queued_.fetch_add(1, std::memory_order_relaxed);
        cv_.notify_one();
    }
    return future.get();
}

std::uint64_t SqliteDatabase::RowOrderToken(std::string_view table, std::string_view column) {
    bool asked = false;
    const std::uint64_t token = row_orders_.Token(table, column, asked);
    if (asked) {
        std::lock_guard lock(mu_);  // the writer checks Wanted() under it: no lost wake-up
        cv_.notify_one();
    }
    return token;
}

void SqliteDatabase::SetCommitObserver(std::function<void()> observer) {
    std::lock_guard lock(mu_);
    observer_ = std::move(observer);
}

void SqliteDatabase::RunWriter() {
    if (options_.wal_tap) {
        tap_data_version_ = DataVersion();
    }
    Analyze();  // statistics for the planner as the data stands at start
    FlushTap();
    std::vector<Pending> batch;
    std::vector<Result<void>> results;
    while (TakeGroup(batch)) {
        row_orders_.Refresh(*writer_);  // between transactions
        if (batch.empty()) {
            continue;  // woken for the row orders only
        }
        Finished f = CommitBatch(batch, results);
        FlushTap();
        f.after_commit = writer_->TakeAfterCommit();
        if (!f.committed) {
            f.after_commit.clear();
        }
        f.results = std::move(results);
        for (auto& p : batch) {
            f.done.push_back(std::move(p.done));
        }
        batch.clear();
        results.clear();
        if (options_.sync_thread) {
            {
                std::lock_guard lock(sync_mu_);
                synced_.push_back(std::move(f));
            }
            sync_cv_.notify_one();
        } else {
            AnswerGroup(f, Ok());  // synchronous=FULL: COMMIT returned after the fsync
        }
        Checkpoint();
    }
}

bool SqliteDatabase::TakeGroup(std::vector<Pending>& batch) {
    std::unique_lock lock(mu_);
    const auto ready = [&] {
        return closing_ || !queue_.empty() || row_orders_.Wanted();
    };
    if (row_orders_.Any()) {
        // Known row orders: another process's commits are looked for at least once a second.
        if (!cv_.wait_for(lock, std::chrono::seconds(1), ready)) {
            return true;
        }
    } else {
        cv_.wait(lock, ready);
    }
    if (queue_.empty()) {
        return !closing_;  // closing and drained, or woken for the row orders with nothing to write
    }
    // A schema change runs alone; a group stops before the next one.
    const std::size_t n = std::min(queue_.size(), options_.max_group);
    for (std::size_t i = 0; i < n; ++i) {
        if (queue_.front().schema && !batch.empty()) {
            break;
        }
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
        if (batch.back().schema) {
            break;
        }
    }
    queued_.fetch_sub(batch.size(), std::memory_order_relaxed);
    return true;
}

SqliteDatabase::Finished SqliteDatabase::CommitBatch(std::vector<Pending>& batch, std::vector<Result<void>>& results) {
    Finished f;
    if (batch.front().schema) {
        Result<void> r = CommitSchema(batch.front().fn);
        f.committed = f.any_write = static_cast<bool>(r);
        (r ? writes_ok_ : writes_failed_).Add();
        results.push_back(std::move(r));
        Analyze();  // new tables and indexes get their statistics at once
    } else {
        std::tie(f.committed, f.any_write) = CommitGroup(batch, results);
        writes_since_analyze_ += batch.size();
        if (options_.analyze_every != 0 && writes_since_analyze_ >= analyze_after_) {
            analyze_after_ = std::min<std::size_t>(analyze_after_ * 2, kMaxAnalyzeEvery);
            Analyze();
        }
    }
    return f;
}

// One transaction for the whole group; each write in its own savepoint. Returns whether the
// transaction committed and whether a write of it did.
std::pair<bool, bool> SqliteDatabase::CommitGroup(std::vector<Pending>& batch, std::vector<Result<void>>& results) {
    Connection& c = *writer_;
    const auto started = std::chrono::steady_clock::now();
    auto begin = c.Raw("BEGIN IMMEDIATE");
    if (!begin) {
        results.assign(batch.size(), begin.error());
        return {false, false};
    }
    bool any_write = false;
    for (auto& p : batch) {
        ++writes_;
        if (options_.fail_nth_write_for_test != 0 && writes_ == options_.fail_nth_write_for_test) {
            results.emplace_back(MakeError(ErrorCode::kInternal, "injected write failure"));
            continue;
        }
        auto sp = c.Raw("SAVEPOINT w");
        if (!sp) {
            results.emplace_back(sp.error());
            continue;
        }
        row_orders_.Mark();
        const std::size_t mark = c.PendingAfterCommit();
        Result<void> r = Ok();
        {
            const obs::ScopedSpan span(p.span);  // what it logs and writes (events, jobs) carries it
            r = RunOne(p.fn, c);
        }
        if (r) {
            r = c.Raw("RELEASE w");
        }
        if (!r) {
            (void)c.Raw("ROLLBACK TO w");
            (void)c.Raw("RELEASE w");
            c.DropAfterCommit(mark);
            row_orders_.Undo();
        } else {
            any_write = true;
        }
        results.push_back(std::move(r));
    }
    row_orders_.BeforeCommit(c);
    auto commit = c.Raw("COMMIT");
    if (!commit) {
        (void)c.Raw("ROLLBACK");
        row_orders_.Reset();  // what the hook saw of the group did not happen
        for (auto& r : results) {
            if (r) {
                r = commit.error();
            }
        }
    }
    commit_seconds_.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    group_sizes_.Observe(static_cast<double>(batch.size()));
    for (const auto& r : results) {
        (r ? writes_ok_ : writes_failed_).Add();
    }
    return {static_cast<bool>(commit), any_write};
}

// One schema change in its own transaction with foreign keys off (the pragma is a no-op inside a
// transaction, so it is set around it), every foreign key checked before the commit.
Result<void> SqliteDatabase::CommitSchema(const WriteFn& fn) {
    Connection& c = *writer_;
    ++writes_;
    if (auto off = c.Raw("PRAGMA foreign_keys=OFF"); !off) {
        return off;
    }
    Result<void> r = c.Raw("BEGIN IMMEDIATE");
    if (r) {
        r = RunOne(fn, c);
    }
    if (r) {
        auto violations = c.Query("PRAGMA foreign_key_check", {});
        if (!violations) {
            r = violations.error();
        } else if (!violations->rows.empty()) {
            r = MakeError(
                ErrorCode::kConflict,
                "existing records of " + AsString(violations->rows.front()[0]) + " reference missing records"
            );
        }
    }
    row_orders_.Reset();  // tables and columns may have moved: every order is checked again
    if (r) {
        r = c.Raw("COMMIT");
    }
    if (!r && c.InTransaction()) {
        (void)c.Raw("ROLLBACK");
    }
    (void)c.Raw("PRAGMA foreign_keys=ON");
    return r;
}

// Refreshes the query planner's statistics (sqlite_stat1). Without them SQLite picks an equality
// index over an ORDER BY index even when every row matches (`owner = ?` over one owner's notes),
// and sorts the whole table per page. analysis_limit keeps the cost bounded on large tables.
//
// Other connections do not see new statistics: SQLite loads them with the schema, and ANALYZE
// does not change the schema. A reader that kept the statistics of an empty outbox planned
// `_events WHERE id > ? ORDER BY id` as a full scan and a sort, which under a write load cost more
// than the writes. So each ANALYZE moves stats_generation_, and a reader connection opened before
// it is closed when next released and a fresh one opened in its place (AcquireReader).
// ANALYZE runs at start, after schema changes, and after analyze_every writes, then 2x, 4x ...
// as many (up to 1,000,000): statistics stay within a factor of two of growing tables without an
// ANALYZE (and fresh connections) every few thousand writes under a steady load.
//
// Index by index, not `ANALYZE` of everything: for a table without an index ANALYZE records only
// its row count, and counts it by reading the whole table whatever analysis_limit says — a
// second per 2 GB outbox with the writer paused (every write waiting), measured on a 1.3M-row
// `_events`; the 3 indexes of a 1.3M-row table took 40 ms. Such row counts are then dropped: the
// planner's default for a table it has no statistics for plans rowid ranges as it should, where
// a stale count (an empty table's) had planned the outbox read as a full scan and a sort.
void SqliteDatabase::Analyze() {
    writes_since_analyze_ = 0;
    Connection& c = *writer_;
    auto indexes = c.Query("SELECT name FROM sqlite_schema WHERE type = 'index'", {});
    if (!indexes) {
        return;  // statistics are an optimisation: a failure leaves the old ones
    }
    std::string script = "PRAGMA analysis_limit=1000;";
    for (const auto& row : indexes->rows) {
        std::string name = AsString(row[0]);
        std::string quoted = "\"";
        for (const char ch : name) {
            quoted += ch;
            if (ch == '"') {
                quoted += '"';
            }
        }
        script += " ANALYZE " + quoted + "\";";
    }
    if (!indexes->rows.empty()) {
        script += " DELETE FROM sqlite_stat1 WHERE idx IS NULL;";
    }
    if (auto r = c.Script(script.c_str()); !r) {
        return;
    }
    stats_generation_.fetch_add(1, std::memory_order_acq_rel);
}

Result<void> SqliteDatabase::RunOne(const WriteFn& fn, Connection& c) {
    // The writer thread serves every request: an exception escaping one write function must fail
    // that write, not the process or its neighbours. This is the one broad catch outside the router.
    try {
        return fn(c);
    } catch (const std::exception& e) {
        return MakeError(ErrorCode::kInternal, std::string("write threw: ") + e.what());
    }
}

}  // namespace basalt::db::sqlite
