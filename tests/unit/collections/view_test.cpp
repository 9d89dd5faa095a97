// SPDX-License-Identifier: MIT
#include "collections/view.hpp"

#include <filesystem>

#include <gtest/gtest.h>

#include "support/system_database.hpp"

namespace basalt::collections {
namespace {

std::vector<std::string> List(std::string_view q) {
    auto r = SelectListOf(q);
    EXPECT_TRUE(r) << q << ": " << r.error().message;
    return r ? *r : std::vector<std::string>{};
}

TEST(ViewQuery, NormalizeTrimsWhitespaceAndSemicolons) {
    EXPECT_EQ(NormalizeViewQuery("  SELECT 1 ;; \n"), "SELECT 1");
    EXPECT_EQ(NormalizeViewQuery(";"), "");
}

TEST(ViewQuery, SelectListSplitsTopLevelColumnsOnly) {
    using V = std::vector<std::string>;
    EXPECT_EQ(List("SELECT id, name FROM t"), (V{"id", "name"}));
    EXPECT_EQ(
        List("select distinct a.id, coalesce(a.x, 'a,b') AS y from t a"), (V{"a.id", "coalesce(a.x, 'a,b') AS y"})
    );
    EXPECT_EQ(
        List("SELECT id, \"we,ird\" -- a, comment\n, /* b, c */ x FROM t"),
        (V{"id", "\"we,ird\" -- a, comment", "/* b, c */ x"})
    );
    EXPECT_EQ(
        List("WITH c AS (SELECT id, n FROM t) SELECT id, (SELECT count(*) FROM u) AS k FROM c WHERE n > 1"),
        (V{"id", "(SELECT count(*) FROM u) AS k"})
    );
    EXPECT_EQ(List("SELECT 1 AS id UNION SELECT 2"), (V{"1 AS id"}));
    EXPECT_EQ(List("SELECT 'it''s, fine' AS id"), (V{"'it''s, fine' AS id"}));
}

TEST(ViewQuery, SelectListRefusesWildcardsAndNonSelects) {
    for (const char* q :
         {"SELECT * FROM t", "SELECT t.* FROM t", "SELECT id, b.* FROM t JOIN b", "DELETE FROM t", ""}) {
        auto r = SelectListOf(q);
        EXPECT_FALSE(r) << q;
        if (!r) {
            EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
        }
    }
    // count(*) is not a wildcard column.
    EXPECT_EQ(List("SELECT id, count(*) AS n FROM t").size(), 2U);
}

// Over the system database (whose `_params` a view must not read) with two tables of its own.
class DescribeViewTest : public testing::SystemDatabaseTest {
protected:
    void SetUp() override {
        SystemDatabaseTest::SetUp();
        ASSERT_FALSE(HasFatalFailure());
        Exec("CREATE TABLE authors (id TEXT PRIMARY KEY, name TEXT, password TEXT, tokenKey TEXT)");
        Exec("CREATE TABLE books (id TEXT PRIMARY KEY, title TEXT, pages NUMERIC, author TEXT, meta JSON)");
        schema::Collection authors;
        authors.id = "pbc_authors";
        authors.name = "authors";
        authors.type = schema::CollectionType::kAuth;
        authors.fields = {
            schema::IdField(),
            Field("name", schema::FieldType::kText),
            Field("password", schema::FieldType::kPassword),
            Field("tokenKey", schema::FieldType::kText)};
        schema::Collection books;
        books.id = "pbc_books";
        books.name = "books";
        books.fields = {
            schema::IdField(),
            Field("title", schema::FieldType::kText),
            Field("pages", schema::FieldType::kNumber),
            Field("author", schema::FieldType::kRelation),
            Field("meta", schema::FieldType::kJson)};
        books.fields[3].SetOption("collectionId", "pbc_authors");
        books.fields[3].SetOption("maxSelect", 1);
        catalog_ = std::make_unique<schema::StaticCatalog>(std::vector<schema::Collection>{authors, books});
    }
    static schema::Field Field(std::string name, schema::FieldType type) {
        schema::Field f;
        f.id = type == schema::FieldType::kText ? "text_" + name : "f_" + name;
        f.name = std::move(name);
        f.type = type;
        return f;
    }

    Result<ViewShape> Describe(std::string_view q, const std::vector<schema::Field>& previous = {}) {
        Result<ViewShape> out = MakeError(ErrorCode::kInternal, "not run");
        auto r = db_->Write([&](db::Executor& ex) -> Result<void> {
            out = DescribeView(ex, q, *catalog_, previous);
            return Ok();
        });
        EXPECT_TRUE(r);
        return out;
    }

    std::unique_ptr<schema::StaticCatalog> catalog_;
};

TEST_F(DescribeViewTest, FieldsFollowTheirSources) {
    auto shape = Describe(
        "SELECT b.id, b.title AS heading, b.author, a.id AS writer, b.meta, count(b.id) AS n, total(b.pages) AS p, "
        "CAST(b.pages AS INTEGER) AS ip, cast( b.title as text ) AS t, CAST(1 AS BOOLEAN) AS yes, b.pages * 2 AS "
        "twice FROM books b JOIN authors a ON a.id = b.author GROUP BY b.id"
    );
    ASSERT_TRUE(shape) << shape.error().message;
    const auto& f = shape->fields;
    ASSERT_EQ(f.size(), 11U);
    using T = schema::FieldType;
    EXPECT_EQ(f[0].name, "id");
    EXPECT_TRUE(f[0].Options().primary_key);
    EXPECT_EQ(f[1].name, "heading");
    EXPECT_EQ(f[1].type, T::kText);
    EXPECT_EQ(f[2].type, T::kRelation);
    EXPECT_EQ(f[2].CollectionId(), "pbc_authors");
    EXPECT_EQ(f[3].type, T::kRelation);  // a collection's id
    EXPECT_EQ(f[3].CollectionId(), "pbc_authors");
    EXPECT_EQ(f[4].type, T::kJson);
    EXPECT_EQ(f[5].type, T::kNumber);
    EXPECT_TRUE(f[5].Options().only_int);
    EXPECT_EQ(f[6].type, T::kNumber);
    EXPECT_FALSE(f[6].Options().only_int);
    EXPECT_EQ(f[7].type, T::kNumber);
    EXPECT_TRUE(f[7].Options().only_int);
    EXPECT_EQ(f[8].type, T::kText);
    EXPECT_EQ(f[9].type, T::kBool);
    EXPECT_EQ(f[10].type, T::kJson);
    EXPECT_EQ(shape->select_sql.rfind("SELECT \"id\", ", 0), 0U) << "a table id is not cast";
}

TEST_F(DescribeViewTest, IdsAreKeptAndComputedIdsAreCast) {
    auto first = Describe("SELECT (ROW_NUMBER() OVER ()) AS id, title FROM books");
    ASSERT_TRUE(first) << first.error().message;
    EXPECT_NE(first->select_sql.find("CAST(\"id\" AS TEXT) AS \"id\""), std::string::npos);
    auto previous = first->fields;
    previous[1].id = "kept_id";
    auto again = Describe("SELECT (ROW_NUMBER() OVER ()) AS id, title, pages FROM books", previous);
    ASSERT_TRUE(again);
    EXPECT_EQ(again->fields[1].id, "kept_id");
    EXPECT_NE(again->fields[2].id, "kept_id");
}

// issue 11.15: secrets cannot be read through a view, whatever expression wraps them.
TEST_F(DescribeViewTest, SystemTablesAndSecretColumnsAreRefused) {
    for (const char* q : {
             "SELECT id, password || '' AS p FROM authors",
             "SELECT id, (SELECT tokenKey FROM authors LIMIT 1) AS t FROM books",
             "SELECT id, upper(tokenKey) AS t FROM authors",
             "SELECT key AS id, value FROM _params",
             "SELECT b.id, (SELECT value FROM _params) AS v FROM books b",
             "SELECT name AS id, sql FROM sqlite_master",
         }) {
        auto r = Describe(q);
        ASSERT_FALSE(r) << q;
        EXPECT_NE(r.error().message.find("may not read"), std::string::npos) << q << ": " << r.error().message;
    }
    EXPECT_TRUE(Describe("SELECT id, name FROM authors"));  // the rest of an auth collection is fine
}

TEST_F(DescribeViewTest, BadQueriesAreRefused) {
    for (const char* q : {
             "SELECT title FROM books",                  // no id
             "SELECT id, title, title FROM books",       // duplicate name
             "SELECT id, count(*) FROM books",           // unusable name
             "SELECT id FROM nowhere",                   // unknown table
             "SELECT id FROM books; DELETE FROM books",  // two statements
             "SELECT id FROM books WHERE",               // syntax
         }) {
        EXPECT_FALSE(Describe(q)) << q;
    }
    int rows = -1;
    ASSERT_TRUE(db_->Write([&](db::Executor& ex) -> Result<void> {
        auto rs = ex.Query("SELECT count(*) FROM sqlite_master WHERE name = 'books'");
        rows = rs ? static_cast<int>(db::AsInt(rs->rows[0][0])) : -1;
        return Ok();
    }));
    EXPECT_EQ(rows, 1);
}

}  // namespace
}  // namespace basalt::collections
