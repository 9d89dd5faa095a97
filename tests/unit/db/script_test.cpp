// SPDX-License-Identifier: MIT
// Executor::RunScript (the superusers' SQL console) against a real SQLite database.
#include <gtest/gtest.h>

#include "db/sqlite/sqlite_database.hpp"
#include "support/temp_dir.hpp"

namespace basalt::db {
namespace {

class ScriptTest : public ::testing::Test {
protected:
    void SetUp() override {
        SqliteOptions o;
        o.path = (dir_.Path() / "data.db").string();
        auto db = OpenSqlite(o);
        ASSERT_TRUE(db) << db.error().message;
        db_ = std::move(*db);
        auto made = Write("CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT NOT NULL DEFAULT '')", false);
        ASSERT_TRUE(made) << made.error().message;
    }

    // The script on a reader connection, as the console runs reads.
    Result<ScriptResult> Read(std::string_view sql, ScriptOptions o = {}) {
        o.read_only = true;
        Result<ScriptResult> out = MakeError(ErrorCode::kInternal, "not run");
        auto tx = db_->ReadTx([&](Executor& ex) -> Result<void> {
            out = ex.RunScript(sql, o);
            return Ok();
        });
        EXPECT_TRUE(tx);
        return out;
    }

    // The script as one write of the writer, as the console runs writes.
    Result<ScriptResult> Write(std::string_view sql, bool keep_rows, ScriptOptions o = {}) {
        o.keep_rows = keep_rows;
        Result<ScriptResult> out = MakeError(ErrorCode::kInternal, "not run");
        auto w = db_->Write([&](Executor& ex) -> Result<void> {
            out = ex.RunScript(sql, o);
            return out ? Ok() : Result<void>(out.error());
        });
        if (!w && out) {
            return w.error();
        }
        return out;
    }

    std::int64_t Count() {
        auto rs = db_->Read("SELECT COUNT(*) FROM t");
        EXPECT_TRUE(rs);
        return AsInt(rs->rows[0][0]);
    }

    testing::TempDir dir_;
    std::unique_ptr<Database> db_;
};

TEST_F(ScriptTest, ReadsReturnTheLastStatementsRowsAndColumns) {
    auto r = Read("select 1; select 2 as n, null as z, 'a' as s, 1.5 as f");
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->rows.size(), 1U);
    ASSERT_EQ(r->columns.size(), 4U);
    EXPECT_EQ(r->columns[0].name, "n");
    EXPECT_EQ(r->columns[0].type, "");  // an expression has no declared type
    EXPECT_EQ(std::get<std::int64_t>(r->rows[0][0]), 2);
    EXPECT_TRUE(IsNull(r->rows[0][1]));
    EXPECT_EQ(AsString(r->rows[0][2]), "a");
    EXPECT_EQ(std::get<double>(r->rows[0][3]), 1.5);
    EXPECT_EQ(r->affected_rows, 0);
    EXPECT_FALSE(r->needs_writer);

    ASSERT_TRUE(Write("INSERT INTO t (name) VALUES ('x')", false));
    auto typed = Read("SELECT id, name FROM t -- trailing comment\n;");
    ASSERT_TRUE(typed);
    EXPECT_EQ(typed->columns[0].type, "INTEGER");
    EXPECT_EQ(typed->columns[1].type, "TEXT");
    EXPECT_EQ(typed->rows.size(), 1U);
}

TEST_F(ScriptTest, ReadsStopAtTheRowLimitEvenWhenTheQueryNeverEnds) {
    ScriptOptions o;
    o.max_rows = 1000;
    auto r = Read("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c", o);
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(r->rows.size(), 1000U);
    EXPECT_EQ(std::get<std::int64_t>(r->rows.back()[0]), 1000);
}

TEST_F(ScriptTest, AReadThatWouldWriteStopsBeforeItAndAsksForTheWriter) {
    auto r = Read("select 1; insert into t (name) values ('y'); select 3");
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(r->needs_writer);
    EXPECT_EQ(Count(), 0);
    // The same script as a write keeps the last statement's rows when asked to.
    auto w = Write("select 1; insert into t (name) values ('y'); select count(*) from t", true);
    ASSERT_TRUE(w) << w.error().message;
    ASSERT_EQ(w->rows.size(), 1U);
    EXPECT_EQ(std::get<std::int64_t>(w->rows[0][0]), 1);
}

TEST_F(ScriptTest, WritesReportTheLastChangeAndRollBackTogether) {
    auto w = Write("insert into t (name) values ('a'), ('b'); insert into t (name) values ('c')", false);
    ASSERT_TRUE(w) << w.error().message;
    EXPECT_EQ(w->affected_rows, 1);  // the last statement's, as PocketBase's driver reports
    EXPECT_TRUE(w->rows.empty());
    EXPECT_TRUE(w->columns.empty());
    EXPECT_EQ(Count(), 3);
    auto ddl = Write("create table u (x int)", false);
    ASSERT_TRUE(ddl);
    EXPECT_EQ(ddl->affected_rows, 0);  // nothing changed: not the count of an earlier write
    EXPECT_TRUE(ddl->schema_changed);
    EXPECT_FALSE(Write("update t set name = 'z'", false)->schema_changed);

    auto failed = Write("insert into t (name) values ('d'); invalid sql", false);
    ASSERT_FALSE(failed);
    EXPECT_EQ(failed.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(failed.error().message.find("syntax error"), std::string::npos) << failed.error().message;
    EXPECT_EQ(Count(), 3);  // the write's savepoint undid the insert
}

TEST_F(ScriptTest, RefusesWhatWouldBreakTheConnectionItRunsOn) {
    for (const char* sql :
         {"BEGIN; SELECT 1",
          "COMMIT",
          "SAVEPOINT x",
          "ATTACH 'other.db' AS o",
          "PRAGMA synchronous = OFF",
          "PRAGMA foreign_keys = 0",
          "pragma QUERY_ONLY = 0"}) {
        auto r = Write(sql, true);
        ASSERT_FALSE(r) << sql;
        EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument) << sql;
    }
    // Reading a setting, or pragmas that are not connection settings, are fine.
    EXPECT_TRUE(Read("PRAGMA synchronous"));
    EXPECT_TRUE(Read("PRAGMA table_info(t)"));
    auto uv = Write("PRAGMA user_version = 7", true);
    ASSERT_TRUE(uv) << uv.error().message;
    EXPECT_EQ(std::get<std::int64_t>(Read("PRAGMA user_version")->rows[0][0]), 7);
    // The writer is still in order afterwards.
    EXPECT_TRUE(Write("insert into t (name) values ('after')", false));
    EXPECT_EQ(Count(), 1);
}

TEST_F(ScriptTest, StopsAtTheDeadline) {
    ScriptOptions o;
    o.deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(50);
    auto r = Read("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c", o);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("interrupted"), std::string::npos) << r.error().message;
    EXPECT_TRUE(Read("select 1"));  // the connection is usable again
}

TEST_F(ScriptTest, WritesToCollectionDefinitionsCountAsSchemaChanges) {
    ASSERT_TRUE(Write("create table _collections (id text)", false));
    auto w = Write("insert into _collections values ('x')", false);
    ASSERT_TRUE(w);
    EXPECT_TRUE(w->schema_changed);
}

}  // namespace
}  // namespace basalt::db
