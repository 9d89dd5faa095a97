// SPDX-License-Identifier: MIT
// The WAL tap (point-in-time replication's source): every commit's frames arrive in order and,
// replayed onto the database file as it was when the WAL began, give the same data; the WAL's own
// restarts and TRUNCATE checkpoints are not gaps; another process's commits are shipped when they
// stay in the WAL, and a gap is announced when that process restarted the WAL.
#include <algorithm>
#include <atomic>
#include <filesystem>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <vector>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include "db/sqlite/sqlite_database.hpp"
#include "db/sqlite/wal_reader.hpp"
#include "support/temp_dir.hpp"

namespace basalt::db {
namespace {

namespace fs = std::filesystem;

std::uint32_t U32(const std::string& b, std::size_t at) {
    return (static_cast<std::uint32_t>(static_cast<unsigned char>(b[at])) << 24) |
           (static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 1])) << 16) |
           (static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 2])) << 8) |
           static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 3]));
}

class WalTapTest : public ::testing::Test {
protected:
    void SetUp() override {
        opts_.path = (dir_.Path() / "data.db").string();
        opts_.wal_tap = [this](WalFrames f) {
            std::lock_guard lock(mu_);
            got_.push_back(std::move(f));
        };
    }

    void Open() {
        auto db = OpenSqlite(opts_);
        ASSERT_TRUE(db) << db.error().message;
        db_ = std::move(*db);
        ASSERT_TRUE(db_->Write([](Executor& ex) -> Result<void> {
            auto r = ex.Exec("CREATE TABLE IF NOT EXISTS t (n INTEGER, pad TEXT)");
            return r ? Ok() : Result<void>(r.error());
        }));
    }

    // `n` inserts submitted at once (they commit in groups), each with a page's worth of padding.
    void Insert(int from, int n) {
        std::atomic<int> left{n};
        std::promise<void> done;
        for (int i = from; i < from + n; ++i) {
            db_->SubmitWrite(
                [i](Executor& ex) -> Result<void> {
                    auto r = ex.Exec("INSERT INTO t (n, pad) VALUES (?, hex(randomblob(1500)))", {std::int64_t{i}});
                    return r ? Ok() : Result<void>(r.error());
                },
                [&](Result<void> r) {
                    EXPECT_TRUE(r) << r.error().message;
                    if (left.fetch_sub(1) == 1) {
                        done.set_value();
                    }
                }
            );
        }
        done.get_future().wait();
    }

    // Another process's connection to the same file runs `sql`.
    void External(const std::string& sql) {
        sqlite3* h = nullptr;
        ASSERT_EQ(sqlite3_open(opts_.path.c_str(), &h), SQLITE_OK);
        sqlite3_busy_timeout(h, 5000);
        char* err = nullptr;
        EXPECT_EQ(sqlite3_exec(h, sql.c_str(), nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
        sqlite3_free(err);
        sqlite3_close(h);
    }

    std::vector<WalFrames> Taken() {
        std::lock_guard lock(mu_);
        return std::exchange(got_, {});
    }

    // Replays `frames` (no gap among them) onto a copy of `base` (a database file, or none) and
    // returns the rows' n values, checking each batch continues the checksum chain of the last.
    std::vector<std::int64_t> Replay(const std::vector<WalFrames>& frames, const fs::path& base = {}) {
        const fs::path out = dir_.Path() / "replayed.db";
        fs::remove(out);
        if (!base.empty()) {
            fs::copy_file(base, out);
        }
        const int fd = ::open(out.c_str(), O_RDWR | O_CREAT, 0600);
        EXPECT_GE(fd, 0);
        std::uint32_t size = 0;
        std::uint32_t page_size = 0;
        std::optional<sqlite::WalChain> chain;
        for (const auto& f : frames) {
            EXPECT_FALSE(f.gap);
            if (!chain || chain->salt1 != f.salt1 || chain->salt2 != f.salt2) {
                chain = sqlite::WalChain{f.wal_magic, f.salt1, f.salt2, f.chain1, f.chain2};
            }
            EXPECT_EQ(chain->s1, f.chain1);
            EXPECT_EQ(chain->s2, f.chain2);
            EXPECT_TRUE(sqlite::CheckWalFrames(f.bytes, f.page_size, *chain));
            page_size = f.page_size;
            const std::size_t fb = 24 + f.page_size;
            for (std::size_t at = 0; at < f.bytes.size(); at += fb) {
                const off_t offset = static_cast<off_t>(U32(f.bytes, at) - 1) * f.page_size;
                EXPECT_EQ(
                    ::pwrite(fd, f.bytes.data() + at + 24, f.page_size, offset), static_cast<ssize_t>(f.page_size)
                );
                if (U32(f.bytes, at + 4) != 0) {
                    size = U32(f.bytes, at + 4);
                }
            }
        }
        EXPECT_EQ(::ftruncate(fd, static_cast<off_t>(size) * page_size), 0);
        ::close(fd);
        sqlite3* h = nullptr;
        EXPECT_EQ(
            sqlite3_open_v2(
                ("file:" + out.string() + "?immutable=1").c_str(), &h, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, nullptr
            ),
            SQLITE_OK
        );
        std::vector<std::int64_t> rows;
        sqlite3_stmt* st = nullptr;
        EXPECT_EQ(sqlite3_prepare_v2(h, "SELECT n FROM t ORDER BY n", -1, &st, nullptr), SQLITE_OK)
            << sqlite3_errmsg(h);
        int rc = SQLITE_ROW;
        while (st != nullptr && (rc = sqlite3_step(st)) == SQLITE_ROW) {
            rows.push_back(sqlite3_column_int64(st, 0));
        }
        EXPECT_EQ(rc, SQLITE_DONE) << sqlite3_errmsg(h);
        sqlite3_finalize(st);
        sqlite3_close(h);
        return rows;
    }

    static std::vector<std::int64_t> Range(int from, int to) {
        std::vector<std::int64_t> v;
        for (int i = from; i < to; ++i) {
            v.push_back(i);
        }
        return v;
    }

    testing::TempDir dir_;
    SqliteOptions opts_;
    std::mutex mu_;
    std::vector<WalFrames> got_;
    std::unique_ptr<Database> db_;
};

TEST_F(WalTapTest, EveryCommitArrivesInOrderAndReplaysToTheSameData) {
    Open();
    for (int round = 0; round < 5; ++round) {
        Insert(round * 100, 100);
    }
    db_->Close();
    const auto frames = Taken();
    ASSERT_FALSE(frames.empty());
    for (const auto& f : frames) {
        ASSERT_FALSE(f.gap);
        ASSERT_EQ(f.bytes.size() % (24 + f.page_size), 0U);
        // whole transactions: the last frame is a commit frame
        EXPECT_NE(U32(f.bytes, f.bytes.size() - (24 + f.page_size) + 4), 0U);
    }
    EXPECT_EQ(Replay(frames), Range(0, 500));  // a new database: the WAL holds all of it
}

// A WAL emptied by the writer's TRUNCATE checkpoints, and restarted after the checkpointer's
// PASSIVE ones, starts new incarnations (new salts): none of that is a gap.
TEST_F(WalTapTest, TheWritersOwnRestartsAreNoGap) {
    opts_.wal_truncate_frames = 16;
    Open();
    for (int round = 0; round < 30; ++round) {
        Insert(round * 50, 50);
    }
    db_->Close();
    const auto frames = Taken();
    std::set<std::pair<std::uint32_t, std::uint32_t>> incarnations;
    for (const auto& f : frames) {
        ASSERT_FALSE(f.gap);
        incarnations.insert({f.salt1, f.salt2});
    }
    EXPECT_GT(incarnations.size(), 5U);
    EXPECT_EQ(Replay(frames), Range(0, 1500));
}

TEST_F(WalTapTest, AnotherProcesssCommitsInTheWalAreShipped) {
    Open();
    Insert(0, 10);
    External("INSERT INTO t (n, pad) VALUES (1000, 'x')");
    Insert(10, 10);
    db_->Close();
    const auto frames = Taken();
    for (const auto& f : frames) {
        ASSERT_FALSE(f.gap);
    }
    auto want = Range(0, 20);
    want.push_back(1000);
    EXPECT_EQ(Replay(frames), want);
}

// The other process commits and empties the WAL (a TRUNCATE checkpoint) before this process's
// next commit: its frames are gone, so the tap announces a gap; what follows the gap replays onto
// a snapshot taken after it.
TEST_F(WalTapTest, AWalRestartedByAnotherProcessIsAGap) {
    Open();
    Insert(0, 10);
    (void)Taken();
    External("INSERT INTO t (n, pad) VALUES (1000, 'x'); PRAGMA wal_checkpoint(TRUNCATE);");
    Insert(10, 10);
    auto frames = Taken();
    ASSERT_FALSE(frames.empty());
    ASSERT_TRUE(frames.front().gap);
    for (std::size_t i = 1; i < frames.size(); ++i) {
        EXPECT_FALSE(frames[i].gap);
    }
    // The snapshot a replica takes after the notice, then everything after the notice.
    ASSERT_TRUE(CopyDatabase(opts_.path, (dir_.Path() / "snapshot.db").string()));
    Insert(20, 5);
    db_->Close();
    for (auto& f : Taken()) {
        frames.push_back(std::move(f));
    }
    frames.erase(frames.begin());
    auto want = Range(0, 25);
    want.push_back(1000);
    std::sort(want.begin(), want.end());
    EXPECT_EQ(Replay(frames, dir_.Path() / "snapshot.db"), want);
}

// Another process commits, this process's next batch commits nothing (its write fails: no frames,
// no hook), then the WAL is emptied: the evidence of the other commit must outlive that batch, and
// the next commit must come after a gap notice.
TEST_F(WalTapTest, AnotherProcesssCommitBeforeAnEmptyBatchStillMakesAGap) {
    Open();
    Insert(0, 10);
    (void)Taken();
    External("INSERT INTO t (n, pad) VALUES (1000, 'x')");
    auto failed = db_->Write([](Executor& ex) -> Result<void> {
        auto r = ex.Exec("INSERT INTO no_such_table VALUES (1)", {});
        return r ? Ok() : Result<void>(r.error());
    });
    ASSERT_FALSE(failed);
    EXPECT_TRUE(Taken().empty());
    External("PRAGMA wal_checkpoint(TRUNCATE);");
    Insert(10, 5);
    const auto frames = Taken();
    ASSERT_FALSE(frames.empty());
    EXPECT_TRUE(frames.front().gap);
}

}  // namespace
}  // namespace basalt::db
