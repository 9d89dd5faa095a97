// SPDX-License-Identifier: MIT
// The point-in-time replica: restore points round-trip and a damaged or cut one ends the stream; a replicator fed by a
// real database restores it as of the latest commit and as of a moment between commits; a gap starts a new generation;
// retention removes what no restore needs.
#include "backups/replica.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <future>
#include <iterator>
#include <thread>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "backups/replica_format.hpp"
#include "support/temp_dir.hpp"

namespace basalt::backups {
namespace {

namespace fs = std::filesystem;
using std::chrono::microseconds;
using std::chrono::system_clock;

std::int64_t NowUs() {
    return std::chrono::duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

std::string ReadFile(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::int64_t CountRows(const fs::path& db, const std::string& where = "1=1") {
    sqlite3* h = nullptr;
    EXPECT_EQ(sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    EXPECT_EQ(sqlite3_prepare_v2(h, ("SELECT COUNT(*) FROM t WHERE " + where).c_str(), -1, &st, nullptr), SQLITE_OK)
        << sqlite3_errmsg(h);
    std::int64_t n = -1;
    if (st != nullptr && sqlite3_step(st) == SQLITE_ROW) {
        n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    return n;
}

class ReplicaTest : public ::testing::Test {
protected:
    void SetUp() override {
        database_ = dir_.Path() / "data.db";
        dest_ = dir_.Path() / "replica";
    }

    std::unique_ptr<Replicator> MakeReplicator(
        std::chrono::seconds retention = std::chrono::hours(72),
        std::chrono::milliseconds sync_every = std::chrono::milliseconds(20)
    ) {
        ReplicaOptions o;
        o.dest = dest_;
        o.database = database_;
        o.retention = retention;
        o.sync_every = sync_every;
        o.segment_bytes = 64 * 1024;  // several segments
        auto r = std::make_unique<Replicator>(o);
        EXPECT_TRUE(r->Prepare());
        return r;
    }

    void OpenDb(Replicator& replica) {
        db::SqliteOptions o;
        o.path = database_.string();
        o.wal_tap = replica.Tap();
        o.wal_truncate_frames = 64;  // restarts and truncations along the way
        auto db = db::OpenSqlite(o);
        ASSERT_TRUE(db) << db.error().message;
        db_ = std::move(*db);
        ASSERT_TRUE(db_->Write([](db::Executor& ex) -> Result<void> {
            auto r = ex.Exec("CREATE TABLE IF NOT EXISTS t (n INTEGER, pad TEXT)");
            return r ? Ok() : Result<void>(r.error());
        }));
    }

    void Insert(int from, int n) {
        for (int i = from; i < from + n; ++i) {
            ASSERT_TRUE(db_->Write([i](db::Executor& ex) -> Result<void> {
                auto r = ex.Exec("INSERT INTO t (n, pad) VALUES (?, hex(randomblob(700)))", {std::int64_t{i}});
                return r ? Ok() : Result<void>(r.error());
            }));
        }
    }

    testing::TempDir dir_;
    fs::path database_;
    fs::path dest_;
    std::unique_ptr<db::Database> db_;
};

TEST_F(ReplicaTest, RestoresTheLatestAndAMomentBetweenCommits) {
    auto replica = MakeReplicator();
    OpenDb(*replica);
    replica->Start();
    Insert(0, 100);
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    const std::int64_t middle = NowUs();
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    Insert(100, 150);
    db_->Close();
    replica->Stop();

    auto list = ListReplica(dest_);
    ASSERT_TRUE(list);
    ASSERT_EQ(list->size(), 1U);
    ASSERT_TRUE(list->front().snapshot_us);
    EXPECT_GT(list->front().transactions, 250U);

    auto latest = RestoreReplica(dest_, std::nullopt, dir_.Path() / "latest.db");
    ASSERT_TRUE(latest) << latest.error().message;
    EXPECT_EQ(CountRows(dir_.Path() / "latest.db"), 250);
    EXPECT_EQ(ReadFile(dir_.Path() / "latest.db").size(), fs::file_size(dir_.Path() / "latest.db"));

    auto mid = RestoreReplica(dest_, middle, dir_.Path() / "middle.db");
    ASSERT_TRUE(mid) << mid.error().message;
    EXPECT_EQ(CountRows(dir_.Path() / "middle.db"), 100);
    EXPECT_LE(mid->restored_us, middle);

    // A moment before the snapshot: nothing covers it.
    auto before = RestoreReplica(dest_, *list->front().snapshot_us - 1000000, dir_.Path() / "before.db");
    ASSERT_FALSE(before);
    EXPECT_EQ(before.error().code, ErrorCode::kNotFound);
    EXPECT_FALSE(fs::exists(dir_.Path() / "before.db"));
    // Never over an existing file.
    EXPECT_FALSE(RestoreReplica(dest_, std::nullopt, dir_.Path() / "latest.db"));
}

// A restart of the server starts a new generation; a restore to a moment before it uses the old.
TEST_F(ReplicaTest, ARestartStartsANewGenerationAndTheOldOneStillRestores) {
    {
        auto replica = MakeReplicator();
        OpenDb(*replica);
        replica->Start();
        Insert(0, 40);
        db_->Close();
        replica->Stop();
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    const std::int64_t between = NowUs();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    {
        auto replica = MakeReplicator();
        OpenDb(*replica);
        replica->Start();
        Insert(40, 60);
        db_->Close();
        replica->Stop();
    }
    auto list = ListReplica(dest_);
    ASSERT_TRUE(list);
    ASSERT_EQ(list->size(), 2U);
    auto old = RestoreReplica(dest_, between, dir_.Path() / "old.db");
    ASSERT_TRUE(old) << old.error().message;
    EXPECT_EQ(old->generation, list->front().name);
    EXPECT_EQ(CountRows(dir_.Path() / "old.db"), 40);
    auto latest = RestoreReplica(dest_, std::nullopt, dir_.Path() / "new.db");
    ASSERT_TRUE(latest);
    EXPECT_EQ(latest->generation, list->back().name);
    EXPECT_EQ(CountRows(dir_.Path() / "new.db"), 100);
}

// Frames another process overwrote are announced as a gap: the replica starts a generation with a
// fresh snapshot, and the latest restore still has every row.
TEST_F(ReplicaTest, AGapStartsANewGeneration) {
    auto replica = MakeReplicator();
    OpenDb(*replica);
    replica->Start();
    Insert(0, 20);
    sqlite3* other = nullptr;
    ASSERT_EQ(sqlite3_open(database_.c_str(), &other), SQLITE_OK);
    sqlite3_busy_timeout(other, 5000);
    ASSERT_EQ(
        sqlite3_exec(
            other,
            "INSERT INTO t (n, pad) VALUES (1000, 'x'); PRAGMA wal_checkpoint(TRUNCATE);",
            nullptr,
            nullptr,
            nullptr
        ),
        SQLITE_OK
    );
    sqlite3_close(other);
    Insert(20, 20);
    db_->Close();
    replica->Stop();
    auto list = ListReplica(dest_);
    ASSERT_TRUE(list);
    EXPECT_EQ(list->size(), 2U);
    auto latest = RestoreReplica(dest_, std::nullopt, dir_.Path() / "latest.db");
    ASSERT_TRUE(latest) << latest.error().message;
    EXPECT_EQ(CountRows(dir_.Path() / "latest.db"), 41);
    EXPECT_EQ(CountRows(dir_.Path() / "latest.db", "n = 1000"), 1);
}

TEST_F(ReplicaTest, ADamagedOrCutRecordEndsTheStream) {
    auto replica = MakeReplicator(std::chrono::hours(72), std::chrono::milliseconds(1));
    OpenDb(*replica);
    replica->Start();
    for (int i = 0; i < 10; ++i) {  // a restore point each
        Insert(i * 3, 3);
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    db_->Close();
    replica->Stop();
    auto list = ListReplica(dest_);
    ASSERT_TRUE(list);
    const fs::path seg = dest_ / list->front().name / "0000000000000001.seg";
    const std::string bytes = ReadFile(seg);
    std::vector<std::size_t> ends;
    const std::size_t total = ReadTxnRecords(bytes, [&](const ReplicaTxn& t) {
        EXPECT_GT(t.db_size, 0U);
        EXPECT_EQ(t.page_size, 4096U);
        ends.push_back(0);
        return true;
    });
    ASSERT_EQ(total, bytes.size());
    ASSERT_GT(ends.size(), 3U);
    // Cut in the middle of the last record: every record before it is read.
    std::size_t whole = 0;
    (void)ReadTxnRecords(bytes.substr(0, bytes.size() - 100), [&](const ReplicaTxn&) {
        ++whole;
        return true;
    });
    EXPECT_EQ(whole, ends.size() - 1);
    // One flipped byte in a page of the second record ends the stream after the first.
    const std::size_t first_end = ReadTxnRecords(bytes, [](const ReplicaTxn&) { return false; });
    std::string damaged = bytes;
    damaged[first_end + kTxnHeaderBytes + kPageEntryHeader + 100] ^= 0x40;
    std::size_t read = 0;
    (void)ReadTxnRecords(damaged, [&](const ReplicaTxn&) {
        ++read;
        return true;
    });
    EXPECT_EQ(read, 1U);
    // Garbage is no record.
    EXPECT_EQ(ReadTxnRecords(std::string(4096, 'x'), [](const ReplicaTxn&) { return true; }), 0U);
}

// A damaged point in a segment before the last ends the replay there: the points after it would
// be replayed over a hole. The result is the database as of the last good point, and says so.
TEST_F(ReplicaTest, ADamagedPointInAnEarlierSegmentEndsTheReplay) {
    auto replica = MakeReplicator(std::chrono::hours(72), std::chrono::milliseconds(1));
    OpenDb(*replica);
    replica->Start();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the snapshot first
    for (int i = 0; i < 40; ++i) {
        Insert(i * 5, 5);
        std::this_thread::sleep_for(std::chrono::milliseconds(3));
    }
    db_->Close();
    replica->Stop();
    auto list = ListReplica(dest_);
    ASSERT_TRUE(list);
    const fs::path gen = dest_ / list->front().name;
    std::vector<fs::path> segments;
    for (const auto& e : fs::directory_iterator(gen)) {
        if (e.path().extension() == ".seg") {
            segments.push_back(e.path());
        }
    }
    std::sort(segments.begin(), segments.end());
    ASSERT_GE(segments.size(), 3U);
    {
        std::fstream f(segments[1], std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(kTxnHeaderBytes + kPageEntryHeader + 200);
        f.put('\x5a');
    }
    auto restored = RestoreReplica(dest_, std::nullopt, dir_.Path() / "cut.db");
    ASSERT_TRUE(restored) << restored.error().message;
    EXPECT_TRUE(restored->damaged);
    const std::int64_t rows = CountRows(dir_.Path() / "cut.db");
    EXPECT_LT(rows, 200);
    EXPECT_GE(rows, 0);
}

// A page rewritten by every commit of a window is kept once: the replica grows with the distinct
// pages written, not with the WAL.
TEST_F(ReplicaTest, AWindowKeepsTheLastImageOfEachPage) {
    auto replica = MakeReplicator(std::chrono::hours(72), std::chrono::milliseconds(500));
    OpenDb(*replica);
    replica->Start();
    ASSERT_TRUE(db_->Write([](db::Executor& ex) -> Result<void> {
        auto r = ex.Exec("CREATE TABLE c (k INTEGER PRIMARY KEY, v INTEGER)");
        if (!r) {
            return r.error();
        }
        r = ex.Exec("INSERT INTO c VALUES (1, 0)", {});
        return r ? Ok() : Result<void>(r.error());
    }));
    for (int i = 1; i <= 100; ++i) {
        ASSERT_TRUE(db_->Write([i](db::Executor& ex) -> Result<void> {
            auto r = ex.Exec("UPDATE c SET v = ? WHERE k = 1", {std::int64_t{i}});
            return r ? Ok() : Result<void>(r.error());
        }));
    }
    db_->Close();
    replica->Stop();
    auto list = ListReplica(dest_);
    ASSERT_TRUE(list);
    ASSERT_EQ(list->size(), 1U);
    EXPECT_GE(list->front().transactions, 101U);
    EXPECT_LT(list->front().bytes, 40U * 4096);  // 100 commits of the same page or two, a few points
    auto latest = RestoreReplica(dest_, std::nullopt, dir_.Path() / "latest.db");
    ASSERT_TRUE(latest) << latest.error().message;
    sqlite3* h = nullptr;
    ASSERT_EQ(sqlite3_open_v2((dir_.Path() / "latest.db").c_str(), &h, SQLITE_OPEN_READONLY, nullptr), SQLITE_OK);
    sqlite3_stmt* st = nullptr;
    ASSERT_EQ(sqlite3_prepare_v2(h, "SELECT v FROM c WHERE k = 1", -1, &st, nullptr), SQLITE_OK);
    ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
    EXPECT_EQ(sqlite3_column_int64(st, 0), 100);
    sqlite3_finalize(st);
    sqlite3_close(h);
}

// A generation goes once the next one's snapshot is older than the retention.
TEST_F(ReplicaTest, RetentionRemovesGenerationsNoRestoreNeeds) {
    for (int i = 0; i < 2; ++i) {
        auto replica = MakeReplicator();
        OpenDb(*replica);
        replica->Start();
        Insert(i * 10, 10);
        db_->Close();
        replica->Stop();
    }
    ASSERT_EQ(ListReplica(dest_)->size(), 2U);
    std::this_thread::sleep_for(std::chrono::milliseconds(1100));
    auto replica = MakeReplicator(std::chrono::seconds(1));
    OpenDb(*replica);
    replica->Start();  // prunes at start: the first generation is past the retention
    Insert(20, 5);
    db_->Close();
    replica->Stop();
    auto list = ListReplica(dest_);
    ASSERT_TRUE(list);
    EXPECT_EQ(list->size(), 2U);  // the second (its successor's snapshot is new) and the third
    auto latest = RestoreReplica(dest_, std::nullopt, dir_.Path() / "latest.db");
    ASSERT_TRUE(latest);
    EXPECT_EQ(CountRows(dir_.Path() / "latest.db"), 25);
}

}  // namespace
}  // namespace basalt::backups

namespace basalt::backups {
namespace {

// The fuzz target's seeds are whole restore points (so the fuzzer starts from valid records).
TEST(ReplicaSeeds, TheFuzzSeedsAreWholeRestorePoints) {
    const std::filesystem::path dir = std::filesystem::path(BASALT_SOURCE_DIR) / "tests/fuzz/corpus/replica_segment";
    std::size_t files = 0;
    for (const auto& entry : std::filesystem::directory_iterator(dir)) {
        const std::string bytes = ReadFile(entry.path());
        std::size_t points = 0;
        EXPECT_EQ(ReadTxnRecords(bytes, [&](const ReplicaTxn&) { return ++points > 0; }), bytes.size()) << entry.path();
        EXPECT_GT(points, 0U);
        ++files;
    }
    EXPECT_GE(files, 2U);
}

}  // namespace
}  // namespace basalt::backups
