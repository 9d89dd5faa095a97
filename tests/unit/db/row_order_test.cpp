// SPDX-License-Identifier: MIT
// Database::RowOrderToken on SQLite: a column whose values follow the rowid order gets a token once
// checked (in chunks), keeps it through writes that keep the order, and loses it (0, or another
// token) the moment a write would break it — before that write commits — or when the schema or
// another process changes the table. A write that rolls back changes nothing.
#include "db/sqlite/row_order.hpp"

#include <chrono>
#include <cstdio>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "db/sqlite/sqlite_database.hpp"
#include "support/temp_dir.hpp"

namespace basalt::db {
namespace {

class RowOrderTest : public ::testing::Test {
protected:
    void SetUp() override {
        SqliteOptions o;
        o.path = (dir_.Path() / "data.db").string();
        path_ = o.path;
        auto db = OpenSqlite(o);
        ASSERT_TRUE(db) << db.error().message;
        db_ = std::move(*db);
        Exec("CREATE TABLE t (id TEXT PRIMARY KEY, created TEXT DEFAULT '' NOT NULL, n INTEGER)");
    }

    void Exec(const std::string& sql) {
        auto r = db_->WriteOne(sql, {});
        ASSERT_TRUE(r) << sql << ": " << r.error().message;
    }

    void Insert(int from, int to) {
        ASSERT_TRUE(db_->Write([&](Executor& ex) -> Result<void> {
            for (int i = from; i < to; ++i) {
                char stamp[32];
                std::snprintf(
                    stamp, sizeof stamp, "2026-12-03 10:%02d:%02d.%03dZ", i / 60000 % 60, i / 1000 % 60, i % 1000
                );
                BASALT_TRY(
                    ex.Exec("INSERT INTO t (id, created, n) VALUES (?, ?, ?)", {"r" + std::to_string(i), stamp, i})
                );
            }
            return Ok();
        }));
    }

    // The token once the check has run (it starts with the first call and answers 0 until then).
    std::uint64_t Settled(const char* column = "created") {
        const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(5);
        std::uint64_t token = db_->RowOrderToken("t", column);
        while (token == 0 && std::chrono::steady_clock::now() < until) {
            std::this_thread::sleep_for(std::chrono::milliseconds(5));
            token = db_->RowOrderToken("t", column);
        }
        return token;
    }

    // Waits for the check to have finished, whatever it found: a column that is not in order stays 0.
    void WaitForWriter() {
        ASSERT_TRUE(db_->Write([](Executor&) -> Result<void> { return Ok(); }));
    }

    basalt::testing::TempDir dir_;
    std::string path_;
    std::unique_ptr<Database> db_;
};

TEST_F(RowOrderTest, AColumnInRowidOrderGetsATokenThatOrderedInsertsKeep) {
    Insert(0, 100);
    const std::uint64_t token = Settled();
    ASSERT_NE(token, 0U);
    Insert(100, 200);
    EXPECT_EQ(db_->RowOrderToken("t", "created"), token);
    // Equal values are in order too (two creates in one millisecond).
    Exec("INSERT INTO t (id, created) VALUES ('same', (SELECT max(created) FROM t))");
    EXPECT_EQ(db_->RowOrderToken("t", "created"), token);
}

TEST_F(RowOrderTest, AnEarlierValueInsertedBreaksTheOrderBeforeItCommits) {
    Insert(0, 10);
    ASSERT_NE(Settled(), 0U);
    std::uint64_t seen_inside = 1;
    ASSERT_TRUE(db_->Write([&](Executor& ex) -> Result<void> {
        BASALT_TRY(ex.Exec("INSERT INTO t (id, created) VALUES ('old', '2020-01-01 00:00:00.000Z')"));
        seen_inside = db_->RowOrderToken("t", "created");  // not committed yet
        return Ok();
    }));
    EXPECT_EQ(seen_inside, 0U);
    EXPECT_EQ(db_->RowOrderToken("t", "created"), 0U);
}

TEST_F(RowOrderTest, AnUpdateOfTheColumnBreaksItAndOtherUpdatesDoNot) {
    Insert(0, 10);
    const std::uint64_t token = Settled();
    ASSERT_NE(token, 0U);
    Exec("UPDATE t SET n = n + 1");
    Exec("UPDATE t SET created = created WHERE id = 'r3'");
    EXPECT_EQ(db_->RowOrderToken("t", "created"), token);
    Exec("UPDATE t SET created = '2030-01-01 00:00:00.000Z' WHERE id = 'r3'");
    EXPECT_EQ(db_->RowOrderToken("t", "created"), 0U);
}

TEST_F(RowOrderTest, AWriteThatRollsBackChangesNothing) {
    Insert(0, 10);
    const std::uint64_t token = Settled();
    ASSERT_NE(token, 0U);
    auto failed = db_->Write([](Executor& ex) -> Result<void> {
        BASALT_TRY(ex.Exec("INSERT INTO t (id, created) VALUES ('old', '2020-01-01 00:00:00.000Z')"));
        return MakeError(ErrorCode::kInvalidArgument, "refused after the insert");
    });
    ASSERT_FALSE(failed);
    EXPECT_EQ(db_->RowOrderToken("t", "created"), token);
    // The rolled-back row's rowid is given again: not a break.
    Insert(10, 12);
    EXPECT_EQ(db_->RowOrderToken("t", "created"), token);
}

TEST_F(RowOrderTest, TheNewestRowDeletedAndCreatedAgainKeepsTheOrder) {
    Insert(0, 10);
    const std::uint64_t token = Settled();
    ASSERT_NE(token, 0U);
    Exec("DELETE FROM t WHERE id = 'r9'");
    Insert(9, 11);  // rowid 10 again, then 11
    EXPECT_EQ(db_->RowOrderToken("t", "created"), token);
}

TEST_F(RowOrderTest, AColumnOutOfOrderNeverGetsAToken) {
    Insert(0, 10);
    Exec("INSERT INTO t (id, created) VALUES ('old', '2020-01-01 00:00:00.000Z')");
    Insert(10, 20);
    EXPECT_EQ(db_->RowOrderToken("t", "created"), 0U);
    WaitForWriter();
    WaitForWriter();
    EXPECT_EQ(db_->RowOrderToken("t", "created"), 0U);
    EXPECT_EQ(db_->RowOrderToken("t", "n"), 0U);  // integers: not text
    WaitForWriter();
    WaitForWriter();
    EXPECT_EQ(db_->RowOrderToken("t", "n"), 0U);
    EXPECT_EQ(db_->RowOrderToken("t", "missing"), 0U);
    EXPECT_EQ(db_->RowOrderToken("missing", "created"), 0U);
}

TEST_F(RowOrderTest, ATableLargerThanAChunkIsCheckedInChunksWithWritesBetween) {
    const int rows = static_cast<int>(sqlite::RowOrders::kChunkRows) * 3 + 7;
    Insert(0, rows);
    EXPECT_EQ(db_->RowOrderToken("t", "created"), 0U);  // starts the check
    Insert(rows, rows + 5);                             // while the check runs: past the part checked so far
    const std::uint64_t token = Settled();
    EXPECT_NE(token, 0U);
    // An update deep inside the checked rows breaks it.
    Exec("UPDATE t SET created = '2020-01-01 00:00:00.000Z' WHERE id = 'r" + std::to_string(rows - 2) + "'");
    EXPECT_EQ(db_->RowOrderToken("t", "created"), 0U);
}

TEST_F(RowOrderTest, ASchemaChangeForgetsTheOrderAndChecksItAgain) {
    Insert(0, 10);
    const std::uint64_t token = Settled();
    ASSERT_NE(token, 0U);
    ASSERT_TRUE(db_->WriteSchema([](Executor& ex) -> Result<void> {
        BASALT_TRY(ex.Exec("ALTER TABLE t ADD COLUMN extra TEXT"));
        return Ok();
    }));
    const std::uint64_t again = Settled();
    EXPECT_NE(again, 0U);
    EXPECT_NE(again, token);
    // DDL inside an ordinary write is noticed before its commit too.
    Exec("ALTER TABLE t ADD COLUMN other TEXT");
    EXPECT_NE(db_->RowOrderToken("t", "created"), again);
}

TEST_F(RowOrderTest, AnotherProcesssWriteIsNoticedWithinASecondOrSo) {
    Insert(0, 10);
    const std::uint64_t token = Settled();
    ASSERT_NE(token, 0U);
    sqlite3* other = nullptr;
    ASSERT_EQ(sqlite3_open(path_.c_str(), &other), SQLITE_OK);
    ASSERT_EQ(
        sqlite3_exec(
            other,
            "INSERT INTO t (id, created) VALUES ('outside', '2020-01-01 00:00:00.000Z')",
            nullptr,
            nullptr,
            nullptr
        ),
        SQLITE_OK
    );
    sqlite3_close(other);
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(3);
    while (db_->RowOrderToken("t", "created") == token && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    EXPECT_NE(db_->RowOrderToken("t", "created"), token);
    WaitForWriter();
    WaitForWriter();
    EXPECT_EQ(db_->RowOrderToken("t", "created"), 0U);  // checked again: out of order now
}

}  // namespace
}  // namespace basalt::db
