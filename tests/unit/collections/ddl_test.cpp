// SPDX-License-Identifier: MIT
#include "collections/ddl.hpp"

#include <gtest/gtest.h>

#include "unit/query/test_catalog.hpp"

namespace basalt::collections {
namespace {

TEST(Ddl, ColumnsAreTypedWithZeroDefaultsAndForeignKeys) {
    const auto catalog = testing::QueryTestCatalog();
    const auto* posts = catalog.Find("posts");
    const std::string sql = CreateTableSql(*posts, catalog);
    EXPECT_NE(sql.find(R"("id" TEXT PRIMARY KEY)"), std::string::npos) << sql;
    EXPECT_NE(sql.find(R"("views" NUMERIC DEFAULT 0 NOT NULL)"), std::string::npos);
    EXPECT_NE(sql.find(R"("published" BOOLEAN DEFAULT FALSE NOT NULL)"), std::string::npos);
    EXPECT_NE(
        sql.find(R"("author" TEXT DEFAULT NULL REFERENCES "users" ("id") ON DELETE SET NULL)"), std::string::npos
    );
    EXPECT_NE(sql.find(R"("tags" JSON DEFAULT '[]' NOT NULL)"), std::string::npos);
    EXPECT_NE(sql.find(R"("meta" JSON DEFAULT NULL)"), std::string::npos);
}

TEST(Ddl, IndexesAreParsedAndRewritten) {
    const auto catalog = testing::QueryTestCatalog();
    const auto* posts = catalog.Find("posts");
    auto idx = ParseIndex("create unique index `idx_t` on `posts` (`title` collate nocase desc, views)", *posts);
    ASSERT_TRUE(idx) << idx.error().message;
    EXPECT_TRUE(idx->unique);
    EXPECT_EQ(
        IndexText(*idx, "posts"), "CREATE UNIQUE INDEX `idx_t` ON `posts` (`title` COLLATE NOCASE DESC, `views`)"
    );
    EXPECT_EQ(
        IndexSql(*idx, "posts"), R"(CREATE UNIQUE INDEX "idx_t" ON "posts" ("title" COLLATE NOCASE DESC, "views"))"
    );
}

TEST(Ddl, IndexesCannotEscapeTheirTable) {
    const auto catalog = testing::QueryTestCatalog();
    const auto* posts = catalog.Find("posts");
    for (const char* bad : {
             "CREATE INDEX i ON users (email)",
             "CREATE INDEX i ON posts (nope)",
             "CREATE INDEX i ON posts (title) WHERE 1=1",
             "CREATE INDEX i ON posts (lower(title))",
             "CREATE INDEX i ON posts (title); DROP TABLE posts",
             "CREATE TABLE x (a)",
             "CREATE INDEX `i ON posts (title)",
             "CREATE INDEX i ON posts (title COLLATE evil)",
         }) {
        EXPECT_FALSE(ParseIndex(bad, *posts)) << bad;
    }
}

}  // namespace
}  // namespace basalt::collections
