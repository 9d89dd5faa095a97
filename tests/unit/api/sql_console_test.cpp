// SPDX-License-Identifier: MIT
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "api/sql_handler.hpp"

namespace basalt::api {
namespace {

TEST(SqlConsole, ClassifiesWritesAsPocketBase) {
    for (const char* q :
         {"INSERT INTO t VALUES (1)",
          "  create table x (a)",
          "update t set a = 1",
          "delete from t",
          "DROP TABLE t",
          "detach db",
          "alter table t add b",
          "replace into t values (1)",
          "insert into t values (1); select 1"}) {
        EXPECT_TRUE(IsWriteQuery(q)) << q;
    }
    for (const char* q :
         {"select 1",
          "SELECT * FROM t; DELETE FROM t",
          "with x as (select 1) delete from t",
          "-- comment\ninsert into t values (1)",
          "pragma user_version = 1",
          "vacuum",
          "explain select 1",
          "selectinsert",
          ""}) {
        EXPECT_FALSE(IsWriteQuery(q)) << q;
    }
}

TEST(SqlConsole, CellsAreStringsOrNull) {
    auto text = [](const db::Value& v) {
        return boost::json::serialize(ConsoleCell(v));
    };
    EXPECT_EQ(text(nullptr), "null");
    EXPECT_EQ(text(std::int64_t{-42}), "\"-42\"");
    EXPECT_EQ(text(1.5), "\"1.5\"");
    EXPECT_EQ(text(1e6), "\"1e+06\"");
    EXPECT_EQ(text(std::string("x")), "\"x\"");
}

}  // namespace
}  // namespace basalt::api
