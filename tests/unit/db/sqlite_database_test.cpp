// SPDX-License-Identifier: MIT
#include "db/sqlite/sqlite_database.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <future>
#include <latch>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db/migrations.hpp"
#include "obs/metrics.hpp"
#include "support/temp_dir.hpp"

namespace basalt::db {
namespace {

namespace fs = std::filesystem;

class SqliteDatabaseTest : public ::testing::Test {
protected:
    void SetUp() override {
        opts_.path = (dir_.Path() / "data.db").string();
        opts_.busy_timeout = std::chrono::milliseconds(200);
        db_ = Open();
        ASSERT_TRUE(db_->Write([](Executor& ex) -> Result<void> {
            auto r = ex.Exec("CREATE TABLE t (seq INTEGER, who TEXT, v TEXT UNIQUE)");
            return r ? Ok() : Result<void>(r.error());
        }));
    }

    std::unique_ptr<Database> Open() {
        auto db = OpenSqlite(opts_);
        EXPECT_TRUE(db) << db.error().message;
        return std::move(*db);
    }

    static WriteFn Insert(std::int64_t seq, std::string who, std::string v) {
        return [seq, who = std::move(who), v = std::move(v)](Executor& ex) -> Result<void> {
            auto r = ex.Exec("INSERT INTO t (seq, who, v) VALUES (?, ?, ?)", {seq, who, v});
            return r ? Ok() : Result<void>(r.error());
        };
    }

    std::int64_t Count(std::string_view where = "1=1") {
        auto rs = db_->Read(std::string("SELECT COUNT(*) FROM t WHERE ") + std::string(where));
        EXPECT_TRUE(rs);
        return AsInt(rs->rows[0][0]);
    }

    testing::TempDir dir_;
    SqliteOptions opts_;
    std::unique_ptr<Database> db_;
};

TEST_F(SqliteDatabaseTest, ReadsAndWritesWithBoundParameters) {
    ASSERT_TRUE(db_->Write(Insert(1, "a", "x'); DROP TABLE t; --")));
    auto rs = db_->Read("SELECT seq, who, v FROM t WHERE v = ?", {std::string("x'); DROP TABLE t; --")});
    ASSERT_TRUE(rs);
    ASSERT_EQ(rs->rows.size(), 1U);
    EXPECT_EQ(AsInt(rs->rows[0][0]), 1);
    EXPECT_EQ(AsString(rs->rows[0][1]), "a");
    EXPECT_EQ(rs->columns, (std::vector<std::string>{"seq", "who", "v"}));
}

// A cached `SELECT *` prepared before ALTER TABLE ADD COLUMN must return the new column on its very
// next run (SQLite prepares it again during the first step). This once dropped a field added to the
// users collection from the first token check after the change.
TEST_F(SqliteDatabaseTest, CachedStatementsSeeColumnsAddedLater) {
    ASSERT_TRUE(db_->Write(Insert(1, "a", "v1")));
    const std::string sql = "SELECT * FROM t WHERE seq = ?";
    for (int i = 0; i < 20; ++i) {  // warm the statement cache of every reader connection
        ASSERT_TRUE(db_->Read(sql, {std::int64_t{1}}));
    }
    ASSERT_TRUE(db_->Write([](Executor& ex) -> Result<void> {
        auto r = ex.Exec("ALTER TABLE t ADD COLUMN role TEXT DEFAULT 'editor'");
        return r ? Ok() : Result<void>(r.error());
    }));
    for (int i = 0; i < 20; ++i) {
        auto rs = db_->Read(sql, {std::int64_t{1}});
        ASSERT_TRUE(rs);
        ASSERT_EQ(rs->columns.size(), 4U) << "run " << i;
        EXPECT_EQ(rs->columns[3], "role");
        ASSERT_EQ(rs->rows.at(0).size(), 4U);
        EXPECT_EQ(AsString(rs->rows[0][3]), "editor");
    }
}

TEST_F(SqliteDatabaseTest, KeepsSubmissionOrderPerThread) {
    constexpr int kThreads = 4;
    constexpr int kPerThread = 200;
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
            std::vector<std::future<Result<void>>> done;
            for (int i = 0; i < kPerThread; ++i) {
                auto p = std::make_shared<std::promise<Result<void>>>();
                done.push_back(p->get_future());
                db_->SubmitWrite(
                    Insert(i, "w" + std::to_string(t), std::to_string(t) + ":" + std::to_string(i)),
                    [p](Result<void> r) { p->set_value(std::move(r)); }
                );
            }
            for (auto& f : done) {
                if (!f.get()) {
                    ++failures;
                }
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(Count(), kThreads * kPerThread);
    for (int t = 0; t < kThreads; ++t) {
        auto rs = db_->Read("SELECT seq FROM t WHERE who = ? ORDER BY rowid", {"w" + std::to_string(t)});
        ASSERT_TRUE(rs);
        for (std::size_t i = 0; i < rs->rows.size(); ++i) {
            ASSERT_EQ(AsInt(rs->rows[i][0]), static_cast<std::int64_t>(i)) << "writer " << t;
        }
    }
}

TEST_F(SqliteDatabaseTest, FailingWriteInAGroupDoesNotFailItsNeighbours) {
    // Hold the writer inside a first write so the next three queue up and commit as one group.
    std::latch entered(1);
    std::promise<void> release;
    auto released = release.get_future().share();
    std::promise<Result<void>> first_done;
    db_->SubmitWrite(
        [&entered, released](Executor& ex) -> Result<void> {
            entered.count_down();
            released.wait();
            auto r = ex.Exec("INSERT INTO t (seq, who, v) VALUES (0, 'first', 'first')");
            return r ? Ok() : Result<void>(r.error());
        },
        [&](Result<void> r) { first_done.set_value(std::move(r)); }
    );
    entered.wait();

    std::promise<Result<void>> a;
    std::promise<Result<void>> b;
    std::promise<Result<void>> c;
    db_->SubmitWrite(Insert(1, "group", "a"), [&](Result<void> r) { a.set_value(std::move(r)); });
    db_->SubmitWrite(
        [](Executor& ex) -> Result<void> {
            // Writes a row, then fails on a unique violation: both must disappear.
            auto ok = ex.Exec("INSERT INTO t (seq, who, v) VALUES (2, 'group', 'b')");
            if (!ok) {
                return ok.error();
            }
            auto dup = ex.Exec("INSERT INTO t (seq, who, v) VALUES (3, 'group', 'a')");
            return dup ? Ok() : Result<void>(dup.error());
        },
        [&](Result<void> r) { b.set_value(std::move(r)); }
    );
    db_->SubmitWrite(Insert(4, "group", "c"), [&](Result<void> r) { c.set_value(std::move(r)); });
    release.set_value();

    EXPECT_TRUE(first_done.get_future().get());
    EXPECT_TRUE(a.get_future().get());
    auto rb = b.get_future().get();
    ASSERT_FALSE(rb);
    EXPECT_EQ(rb.error().code, ErrorCode::kConflict);
    EXPECT_TRUE(c.get_future().get());
    EXPECT_EQ(Count("who = 'group'"), 2);
    EXPECT_EQ(Count("v = 'b'"), 0);
}

TEST_F(SqliteDatabaseTest, UniqueViolationIsAConflict) {
    ASSERT_TRUE(db_->Write(Insert(1, "a", "same")));
    auto r = db_->Write(Insert(2, "a", "same"));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kConflict);
}

TEST_F(SqliteDatabaseTest, BusyPastTheTimeoutIsUnavailableAndRecovers) {
    sqlite3* other = nullptr;
    ASSERT_EQ(sqlite3_open(opts_.path.c_str(), &other), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(other, "BEGIN IMMEDIATE", nullptr, nullptr, nullptr), SQLITE_OK);

    auto r = db_->Write(Insert(1, "busy", "busy1"));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);

    // A lock released within the timeout is waited for.
    std::thread unlock([other] {
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
        sqlite3_exec(other, "COMMIT", nullptr, nullptr, nullptr);
    });
    EXPECT_TRUE(db_->Write(Insert(2, "busy", "busy2")));
    unlock.join();
    sqlite3_close(other);
    EXPECT_EQ(Count("who = 'busy'"), 1);
}

TEST_F(SqliteDatabaseTest, AcknowledgedWritesSurviveAKill) {
    db_->Close();
    db_.reset();
    int ack[2];
    ASSERT_EQ(pipe(ack), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        close(ack[0]);
        auto db = OpenSqlite(opts_);
        if (!db) {
            _exit(2);
        }
        for (int i = 0;; ++i) {
            auto fn = [i](Executor& ex) -> Result<void> {
                auto r = ex.Exec(
                    "INSERT INTO t (seq, who, v) VALUES (?, 'kill', ?)",
                    {static_cast<std::int64_t>(i), "k" + std::to_string(i)}
                );
                return r ? Ok() : Result<void>(r.error());
            };
            if (!(*db)->Write(fn)) {
                _exit(3);
            }
            const std::int32_t n = i;
            if (write(ack[1], &n, sizeof(n)) != sizeof(n)) {
                _exit(4);
            }
        }
    }
    close(ack[1]);
    std::int32_t last = -1;
    for (int k = 0; k < 50; ++k) {
        std::int32_t n = 0;
        ASSERT_EQ(read(ack[0], &n, sizeof(n)), static_cast<ssize_t>(sizeof(n)));
        last = n;
    }
    kill(child, SIGKILL);
    int status = 0;
    waitpid(child, &status, 0);
    close(ack[0]);

    db_ = Open();
    // Every write acknowledged before the kill is there, in order.
    auto rs = db_->Read("SELECT MAX(seq), COUNT(*) FROM t WHERE who = 'kill'");
    ASSERT_TRUE(rs);
    EXPECT_GE(AsInt(rs->rows[0][0]), last);
    EXPECT_EQ(AsInt(rs->rows[0][1]), AsInt(rs->rows[0][0]) + 1);
}

// A write is answered only after what its commit asked for (AfterCommit) and the commit observer
// have run: a client that got its answer finds caches already told. With and without the sync thread.
TEST_F(SqliteDatabaseTest, AnswersComeAfterTheCommitHooksInCommitOrder) {
    for (const bool sync_thread : {true, false}) {
        db_->Close();
        opts_.sync_thread = sync_thread;
        db_ = Open();
        std::atomic<int> observed{0};
        db_->SetCommitObserver([&] { observed.fetch_add(1); });
        constexpr int kWrites = 200;
        std::vector<int> hooks_at_answer(kWrites, -1);
        std::vector<int> observed_at_answer(kWrites, -1);
        std::atomic<int> hooks{0};
        std::mutex order_mu;
        std::vector<int> answered;
        std::latch all(kWrites);
        for (int i = 0; i < kWrites; ++i) {
            db_->SubmitWrite(
                [i, &hooks, sync_thread](Executor& ex) -> Result<void> {
                    ex.AfterCommit([&hooks] { hooks.fetch_add(1); });
                    auto r = ex.Exec(
                        "INSERT INTO t (seq, who, v) VALUES (?, 'hook', ?)",
                        {static_cast<std::int64_t>(i), std::to_string(sync_thread) + "-" + std::to_string(i)}
                    );
                    return r ? Ok() : Result<void>(r.error());
                },
                [&, i](Result<void> r) {
                    EXPECT_TRUE(r);
                    hooks_at_answer[i] = hooks.load();
                    observed_at_answer[i] = observed.load();
                    {
                        std::lock_guard lock(order_mu);
                        answered.push_back(i);
                    }
                    all.count_down();
                }
            );
        }
        all.wait();
        for (int i = 0; i < kWrites; ++i) {
            EXPECT_GT(hooks_at_answer[i], i) << "write " << i << " answered before its own hook ran";
            EXPECT_GE(observed_at_answer[i], 1) << "write " << i << " answered before the observer ran";
        }
        std::vector<int> sorted = answered;
        std::sort(sorted.begin(), sorted.end());
        EXPECT_EQ(answered, sorted) << "answers out of submission (commit) order";
        EXPECT_EQ(Count("who = 'hook'"), kWrites);
        EXPECT_TRUE(db_->Write([](Executor& ex) -> Result<void> {
            auto r = ex.Exec("DELETE FROM t WHERE who = 'hook'");
            return r ? Ok() : Result<void>(r.error());
        }));
    }
}

// Close answers every write it accepted: none is left behind between the writer and the sync thread.
TEST_F(SqliteDatabaseTest, CloseAnswersEveryAcceptedWrite) {
    std::atomic<int> answered{0};
    std::atomic<int> ok{0};
    constexpr int kWrites = 500;
    for (int i = 0; i < kWrites; ++i) {
        db_->SubmitWrite(Insert(i, "close", "c" + std::to_string(i)), [&](Result<void> r) {
            ok.fetch_add(r ? 1 : 0);
            answered.fetch_add(1);
        });
    }
    db_->Close();
    EXPECT_EQ(answered.load(), kWrites);
    db_ = Open();
    EXPECT_EQ(Count("who = 'close'"), ok.load());
}

// The planner's statistics (refreshed after each schema change) cover the indexes and never a table
// without one: counting such a table means reading all of it with every write waiting, and its
// rowid ranges plan right without statistics.
TEST_F(SqliteDatabaseTest, StatisticsCoverIndexesButNotTablesWithoutOne) {
    ASSERT_TRUE(db_->WriteSchema([](Executor& ex) -> Result<void> {
        auto r = ex.Exec("CREATE TABLE plain (id INTEGER PRIMARY KEY, x TEXT)");
        return r ? Ok() : Result<void>(r.error());
    }));
    for (int i = 0; i < 50; ++i) {
        ASSERT_TRUE(db_->Write(Insert(i, "stat", "s" + std::to_string(i))));
        ASSERT_TRUE(db_->Write([i](Executor& ex) -> Result<void> {
            auto r = ex.Exec("INSERT INTO plain (x) VALUES (?)", {std::to_string(i)});
            return r ? Ok() : Result<void>(r.error());
        }));
    }
    ASSERT_TRUE(db_->WriteSchema([](Executor& ex) -> Result<void> {
        auto r = ex.Exec("CREATE INDEX t_seq ON t (seq)");
        return r ? Ok() : Result<void>(r.error());
    }));
    auto stats = db_->Read("SELECT tbl, idx, stat FROM sqlite_stat1 ORDER BY tbl, idx");
    ASSERT_TRUE(stats);
    std::vector<std::string> seen;
    for (const auto& row : stats->rows) {
        EXPECT_NE(AsString(row[0]), "plain") << "a table without an index was counted";
        seen.push_back(AsString(row[1]));
    }
    EXPECT_NE(std::find(seen.begin(), seen.end(), "t_seq"), seen.end());
    auto plan = db_->Read("EXPLAIN QUERY PLAN SELECT x FROM plain WHERE id > 10 ORDER BY id LIMIT 5");
    ASSERT_TRUE(plan);
    ASSERT_FALSE(plan->rows.empty());
    EXPECT_NE(AsString(plan->rows[0][3]).find("INTEGER PRIMARY KEY"), std::string::npos) << AsString(plan->rows[0][3]);
}

TEST_F(SqliteDatabaseTest, InjectedFailureFailsExactlyThatWrite) {
    db_->Close();
    opts_.fail_nth_write_for_test = 2;
    db_ = Open();
    EXPECT_TRUE(db_->Write(Insert(1, "inj", "i1")));
    auto r = db_->Write(Insert(2, "inj", "i2"));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kInternal);
    EXPECT_TRUE(db_->Write(Insert(3, "inj", "i3")));
    EXPECT_EQ(Count("who = 'inj'"), 2);
}

TEST_F(SqliteDatabaseTest, WritesAfterCloseAreRefused) {
    db_->Close();
    auto r = db_->Write(Insert(1, "closed", "c"));
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kUnavailable);
}

TEST_F(SqliteDatabaseTest, ReadConnectionsCannotWrite) {
    auto r = db_->Read("INSERT INTO t (seq, who, v) VALUES (1, 'r', 'r') RETURNING seq");
    EXPECT_FALSE(r);
    EXPECT_EQ(Count(), 0);
}

TEST_F(SqliteDatabaseTest, FailedMigrationLeavesTheDatabaseAsItWas) {
    std::vector<Migration> migrations{
        {1,
         "one",
         [](Executor& ex) -> Result<void> {
             auto r = ex.Exec("CREATE TABLE m1 (x INTEGER)");
             return r ? Ok() : Result<void>(r.error());
         }},
        {2,
         "two_breaks",
         [](Executor& ex) -> Result<void> {
             auto r = ex.Exec("CREATE TABLE m2 (x INTEGER)");
             if (!r) {
                 return r.error();
             }
             auto bad = ex.Exec("INSERT INTO no_such_table VALUES (1)");
             return bad ? Ok() : Result<void>(bad.error());
         }},
    };
    auto r = ApplyMigrations(*db_, migrations);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("two_breaks"), std::string::npos);
    EXPECT_TRUE(db_->Read("SELECT * FROM m1"));
    EXPECT_FALSE(db_->Read("SELECT * FROM m2"));  // rolled back with its migration
    auto recorded = db_->Read("SELECT version FROM _migrations");
    ASSERT_TRUE(recorded);
    EXPECT_EQ(recorded->rows.size(), 1U);

    // Fixed, it applies once; a second run applies nothing.
    migrations[1].up = [](Executor& ex) -> Result<void> {
        auto r2 = ex.Exec("CREATE TABLE m2 (x INTEGER)");
        return r2 ? Ok() : Result<void>(r2.error());
    };
    auto again = ApplyMigrations(*db_, migrations);
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, 1);
    auto third = ApplyMigrations(*db_, migrations);
    ASSERT_TRUE(third);
    EXPECT_EQ(*third, 0);
}

// A long read (a backup's or a replica's snapshot) keeps the WAL from being emptied. The writer
// then tries its TRUNCATE checkpoint again only after a growing pause (250 ms, 500 ms, ...), not
// after every group: each try waits for the reader, and trying after every group had stalled
// every write. Once the read ends, the WAL is emptied again.
TEST_F(SqliteDatabaseTest, ALongReadBacksOffTheTruncatingCheckpoint) {
    db_->Close();
    opts_.wal_truncate_frames = 4;
    db_ = Open();
    sqlite3* reader = nullptr;
    ASSERT_EQ(sqlite3_open(opts_.path.c_str(), &reader), SQLITE_OK);
    ASSERT_EQ(sqlite3_exec(reader, "BEGIN; SELECT COUNT(*) FROM t;", nullptr, nullptr, nullptr), SQLITE_OK);
    auto busy = [&] {
        obs::Exposition out;
        db_->CollectMetrics(out);
        const std::string& text = out.Text();
        const std::string key = "basalt_db_checkpoints_total{result=\"busy\"} ";
        const auto at = text.find(key);
        return at == std::string::npos ? -1 : std::stoll(text.substr(at + key.size()));
    };
    const auto started = std::chrono::steady_clock::now();
    int writes = 0;
    while (std::chrono::steady_clock::now() - started < std::chrono::milliseconds(700)) {
        ASSERT_TRUE(db_->Write(Insert(writes, "w", "v" + std::to_string(writes))));
        ++writes;
    }
    EXPECT_GT(writes, 20);
    // Tries at most at 0, 250 and 750 ms (and one more for a slow machine), whatever the groups.
    EXPECT_GE(busy(), 1);
    EXPECT_LE(busy(), 4) << writes << " writes";
    ASSERT_EQ(sqlite3_exec(reader, "COMMIT;", nullptr, nullptr, nullptr), SQLITE_OK);
    sqlite3_close(reader);
    // Without the reader the next try (within the backoff's 4 s at most) empties the WAL.
    const auto wal = fs::path(opts_.path + "-wal");
    bool emptied = false;
    for (int i = 0; i < 60 && !emptied; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        ASSERT_TRUE(db_->Write(Insert(writes, "w", "v" + std::to_string(writes))));
        ++writes;
        emptied = fs::file_size(wal) < 64 * 1024;
    }
    EXPECT_TRUE(emptied);
}

}  // namespace
}  // namespace basalt::db
