// SPDX-License-Identifier: MIT
#include "query/statement_kind.hpp"

#include <gtest/gtest.h>

namespace basalt::query {
namespace {

TEST(StatementKind, ClassifiesConsoleWritesAsPocketBase) {
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

}  // namespace
}  // namespace basalt::query
