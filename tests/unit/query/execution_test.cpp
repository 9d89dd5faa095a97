// SPDX-License-Identifier: MIT
// Compiled filters run against a real SQLite database: the rows they return are the point.
#include <functional>
#include <memory>

#include <gtest/gtest.h>

#include "db/sqlite/sqlite_database.hpp"
#include "query/compiler.hpp"
#include "support/temp_dir.hpp"
#include "unit/query/test_catalog.hpp"

namespace basalt::query {
namespace {

class QueryExecutionTest : public ::testing::Test {
protected:
    void SetUp() override {
        db::SqliteOptions o;
        o.path = (dir_.Path() / "q.db").string();
        auto d = db::OpenSqlite(o);
        ASSERT_TRUE(d);
        db_ = std::move(*d);
        const char* script[] = {
            "CREATE TABLE users (id TEXT PRIMARY KEY, email TEXT DEFAULT '', emailVisibility INTEGER DEFAULT 0,"
            " name TEXT DEFAULT '', role TEXT DEFAULT '',"
            " verified INTEGER DEFAULT 0, password TEXT DEFAULT '', tokenKey TEXT DEFAULT '', team TEXT DEFAULT '',"
            " created TEXT DEFAULT '', updated TEXT DEFAULT '')",
            "CREATE TABLE teams (id TEXT PRIMARY KEY, name TEXT DEFAULT '', owner TEXT DEFAULT '')",
            "CREATE TABLE posts (id TEXT PRIMARY KEY, title TEXT DEFAULT '', body TEXT DEFAULT '', views NUMERIC "
            "DEFAULT 0,"
            " published INTEGER DEFAULT 0, author TEXT DEFAULT '', tags TEXT DEFAULT '[]', categories TEXT DEFAULT "
            "'[]',"
            " status TEXT DEFAULT '', meta TEXT DEFAULT 'null', location TEXT DEFAULT '{\"lon\":0,\"lat\":0}',"
            " secret TEXT DEFAULT '', created TEXT DEFAULT '', updated TEXT DEFAULT '')",
            "CREATE TABLE tags (id TEXT PRIMARY KEY, name TEXT DEFAULT '')",
            "CREATE TABLE comments (id TEXT PRIMARY KEY, message TEXT DEFAULT '', post TEXT DEFAULT '', likes TEXT "
            "DEFAULT '[]')",
            "INSERT INTO teams VALUES ('t1', 'core', 'u1'), ('t2', 'web', 'u2')",
            "INSERT INTO users (id, email, name, role, team) VALUES ('u1', 'a@x.io', 'Ann', 'admin', 't1'),"
            " ('u2', 'b@x.io', 'Bob', 'member', 't2'), ('u3', 'c@x.io', 'Cid', 'member', '')",
            "INSERT INTO tags VALUES ('g1', 'go'), ('g2', 'cpp'), ('g3', 'rust')",
            "INSERT INTO posts (id, title, views, published, author, tags, categories, status, meta, location, "
            "created) VALUES"
            " ('p1', 'Hello world', 10, 1, 'u1', '[\"g1\",\"g2\"]', '[\"a\"]', 'live', '{\"rank\":3,\"name\":\"X\"}',"
            "  '{\"lon\":23.32,\"lat\":42.69}', '2024-05-01 10:00:00.000Z'),"
            " ('p2', '50% off', 0, 0, 'u2', '[\"g2\"]', '[\"a\",\"b\"]', 'draft', 'null', '{\"lon\":0,\"lat\":0}',"
            "  '2024-04-01 10:00:00.000Z'),"
            " ('p3', 'Untitled', 5, 1, '', '[]', '[]', '', '{\"rank\":1}', '{\"lon\":23.3,\"lat\":42.7}',"
            "  '2023-12-31 23:59:59.999Z'),"
            " ('p4', '', 7, 1, 'u3', '[\"g1\",\"g3\"]', '[\"c\"]', 'live', 'null', '{\"lon\":0,\"lat\":0}',"
            "  '2024-05-15 09:00:00.000Z')",
            "INSERT INTO comments VALUES ('c1', 'hi there', 'p1', '[\"u1\",\"u2\"]'), ('c2', 'nice', 'p1', '[]'),"
            " ('c3', 'hi', 'p2', '[\"u2\"]')",
            "UPDATE users SET emailVisibility = 1 WHERE id = 'u1'",
            "CREATE TABLE vault (id TEXT PRIMARY KEY, code TEXT DEFAULT '')",
            "CREATE TABLE notes (id TEXT PRIMARY KEY, text TEXT DEFAULT '', owner TEXT DEFAULT '', vault TEXT DEFAULT "
            "'')",
            "INSERT INTO vault VALUES ('v1', 'xyzzy')",
            "INSERT INTO notes VALUES ('n1', 'mine', 'u1', 'v1'), ('n2', 'mine', 'u2', ''), ('n3', 'other', 'u2', '')",
        };
        for (const char* sql : script) {
            ASSERT_TRUE(db_->Write([sql](db::Executor& ex) -> Result<void> {
                auto r = ex.Exec(sql);
                return r ? Ok() : Result<void>(r.error());
            })) << sql;
        }
    }

    // The ids (sorted by id unless `sort`) the filter selects from `collection`.
    std::vector<std::string> Ids(
        const std::string& filter,
        const std::string& collection = "posts",
        const std::string& sort = "",
        bool rule = false,
        const RequestInfo* req = nullptr
    ) {
        const schema::Collection* root = catalog_.Find(collection);
        CompileOptions opt;
        opt.allow_hidden = rule;
        opt.allow_request = rule;
        opt.request = req;
        opt.now = SystemTime{std::chrono::milliseconds(1715768430123)};
        Compiler c(*root, catalog_, opt);
        auto added = c.AddFilter(filter);
        EXPECT_TRUE(added) << filter << ": " << (added ? "" : added.error().message);
        if (!sort.empty()) {
            EXPECT_TRUE(c.SetSort(sort));
        }
        const CompiledFilter f = c.Build();
        std::string sql = "SELECT DISTINCT " + QuoteIdent(collection) + ".\"id\" FROM " + QuoteIdent(collection);
        for (const auto& j : f.joins) {
            sql += " " + j;
        }
        if (!f.where.empty()) {
            sql += " WHERE " + f.where;
        }
        sql += " ORDER BY " + (f.order_by.empty() ? QuoteIdent(collection) + ".\"id\"" : f.order_by);
        std::vector<db::Value> params = f.join_params;
        params.insert(params.end(), f.params.begin(), f.params.end());
        params.insert(params.end(), f.order_params.begin(), f.order_params.end());
        auto rs = db_->Read(sql, params);
        EXPECT_TRUE(rs) << sql << ": " << (rs ? "" : rs.error().message);
        std::vector<std::string> ids;
        if (rs) {
            for (const auto& row : rs->rows) {
                ids.push_back(db::AsString(row[0]));
            }
        }
        return ids;
    }

    // The error a client filter on `collection` fails with (with `readable` bounding it, when set).
    Error CompileError(
        const std::string& filter,
        const std::string& collection,
        std::function<bool(const schema::Collection&)> readable = nullptr
    ) {
        CompileOptions opt;
        opt.readable = std::move(readable);
        Compiler c(*catalog_.Find(collection), catalog_, opt);
        auto added = c.AddFilter(filter);
        EXPECT_FALSE(added) << filter;
        return added ? Error{} : added.error();
    }

    static RequestInfo AuthAs(const std::string& id) {
        RequestInfo r;
        r.auth = std::make_shared<const boost::json::object>(boost::json::object{
            {"id", id}, {"collectionId", "_pb_users_auth_"}, {"collectionName", "users"}});
        return r;
    }

    using V = std::vector<std::string>;
    testing::TempDir dir_;
    std::unique_ptr<db::Database> db_;
    schema::StaticCatalog catalog_ = testing::QueryTestCatalog();
};

TEST_F(QueryExecutionTest, PlainComparisons) {
    EXPECT_EQ(Ids("title = 'Hello world'"), V({"p1"}));
    EXPECT_EQ(Ids("title != 'Hello world'"), V({"p2", "p3", "p4"}));
    EXPECT_EQ(Ids("views > 5"), V({"p1", "p4"}));
    EXPECT_EQ(Ids("views >= 5 && views <= 7"), V({"p3", "p4"}));
    EXPECT_EQ(Ids("published = true"), V({"p1", "p3", "p4"}));
    EXPECT_EQ(Ids("published = false || views = 10"), V({"p1", "p2"}));
}

TEST_F(QueryExecutionTest, EmptyAndNullAreTheSame) {
    EXPECT_EQ(Ids("title = ''"), V({"p4"}));
    EXPECT_EQ(Ids("title = null"), V({"p4"}));
    EXPECT_EQ(Ids("author = ''"), V({"p3"}));
    EXPECT_EQ(Ids("title != null"), V({"p1", "p2", "p3"}));
}

TEST_F(QueryExecutionTest, LikeEscapesWildcardsUnlessExplicit) {
    EXPECT_EQ(Ids("title ~ 'world'"), V({"p1"}));
    EXPECT_EQ(Ids("title ~ '50%'"), V({"p2"}));      // explicit wildcard: starts with 50
    EXPECT_EQ(Ids("title ~ '%0_ of%'"), V({"p2"}));  // with an explicit %, _ is a wildcard too
    EXPECT_EQ(Ids("title ~ '%titled'"), V({"p3"}));
    EXPECT_EQ(Ids("title ~ 'o_f'"), V({}));  // _ is literal when auto-wrapped
    EXPECT_EQ(Ids("title !~ 'o'"), V({"p3", "p4"}));
    EXPECT_EQ(Ids("title ~ 'HELLO'"), V({"p1"}));  // LIKE is case-insensitive for ASCII
}

TEST_F(QueryExecutionTest, SingleRelations) {
    EXPECT_EQ(Ids("author.name = 'Ann'"), V({"p1"}));
    EXPECT_EQ(Ids("author.team.name = 'web'"), V({"p2"}));
    EXPECT_EQ(Ids("author.role = 'member' && author.team.name != 'web'"), V({"p4"}));
    EXPECT_EQ(Ids("post.author.name = 'Ann'", "comments"), V({"c1", "c2"}));
}

TEST_F(QueryExecutionTest, MultiRelationsMatchAllOrAny) {
    EXPECT_EQ(Ids("tags.name ?= 'go'"), V({"p1", "p4"}));
    EXPECT_EQ(Ids("tags.name = 'cpp'"), V({"p2"}));  // every tag is cpp
    // No tag is cpp. As in PocketBase, a plain operator other than = also requires every related
    // record to exist, so p3 (no tags) does not match.
    EXPECT_EQ(Ids("tags.name != 'cpp'"), V({"p4"}));
    EXPECT_EQ(Ids("tags ?= 'g3'"), V({"p4"}));
    EXPECT_EQ(Ids("tags:length = 2"), V({"p1", "p4"}));
    EXPECT_EQ(Ids("tags:length = 0"), V({"p3"}));
}

TEST_F(QueryExecutionTest, MultiSelects) {
    EXPECT_EQ(Ids("categories ?= 'b'"), V({"p2"}));
    EXPECT_EQ(Ids("categories = 'a'"), V({"p1"}));
    EXPECT_EQ(Ids("categories:length > 1"), V({"p2"}));
}

TEST_F(QueryExecutionTest, BackRelations) {
    EXPECT_EQ(Ids("comments_via_post.message ?~ 'hi'"), V({"p1", "p2"}));
    EXPECT_EQ(Ids("comments_via_post.message = 'hi'"), V({"p2"}));
    EXPECT_EQ(Ids("comments_via_likes.message ?= 'hi'", "users"), V({"u2"}));
}

TEST_F(QueryExecutionTest, JsonAndGeo) {
    EXPECT_EQ(Ids("meta.rank > 2"), V({"p1"}));
    EXPECT_EQ(Ids("meta.name:lower = 'x'"), V({"p1"}));
    EXPECT_EQ(Ids("meta = null"), V({"p2", "p4"}));
    EXPECT_EQ(Ids("geoDistance(location.lon, location.lat, 23.32, 42.69) < 10"), V({"p1", "p3"}));
}

TEST_F(QueryExecutionTest, MacrosAndFunctions) {
    EXPECT_EQ(Ids("created >= @monthStart"), V({"p1", "p4"}));
    EXPECT_EQ(Ids("created < @yearStart"), V({"p3"}));
    EXPECT_EQ(Ids("strftime('%Y', created) = '2023'"), V({"p3"}));
    EXPECT_EQ(Ids("created >= @todayStart && created <= @now"), V({"p4"}));
}

TEST_F(QueryExecutionTest, RulesWithRequestData) {
    RequestInfo ann;
    ann.auth = std::make_shared<const boost::json::object>(boost::json::object{
        {"id", "u1"}, {"collectionId", "_pb_users_auth_"}, {"team", "t1"}});
    EXPECT_EQ(Ids("author = @request.auth.id", "posts", "", true, &ann), V({"p1"}));
    EXPECT_EQ(Ids("@request.auth.team.name = 'core' && status = 'live'", "posts", "", true, &ann), V({"p1", "p4"}));
    RequestInfo guest;
    EXPECT_EQ(Ids("@request.auth.id != ''", "posts", "", true, &guest), V({}));
    EXPECT_EQ(
        Ids("@collection.teams.owner ?= author && @collection.teams.name ?= 'core'", "posts", "", true, &guest),
        V({"p1"})
    );
    RequestInfo body;
    body.body = boost::json::object{{"tags", boost::json::array{"g1", "g2"}}, {"title", "Hello world"}};
    EXPECT_EQ(Ids("@request.body.tags:each ?= tags", "posts", "", true, &body), V({"p1", "p2", "p4"}));
    EXPECT_EQ(Ids("@request.body.title:changed = false", "posts", "", true, &body), V({"p1"}));
}

TEST_F(QueryExecutionTest, SortOrders) {
    EXPECT_EQ(Ids("", "posts", "-views"), V({"p1", "p4", "p3", "p2"}));
    EXPECT_EQ(Ids("views > 0", "posts", "author.name,-created"), V({"p3", "p1", "p4"}));
    EXPECT_EQ(Ids("", "posts", "-meta.rank,id"), V({"p1", "p3", "p2", "p4"}));
}

// issue 11.3: an auth record's email matches a client filter only where it is public or the caller's
// own, through relations and back-relations too; rules and superusers see every email.
TEST_F(QueryExecutionTest, HiddenEmailsDoNotMatchClientFilters) {
    EXPECT_EQ(Ids("author.email = 'a@x.io'"), V({"p1"}));  // u1's email is public
    EXPECT_EQ(Ids("author.email = 'b@x.io'"), V({}));
    EXPECT_EQ(Ids("author.email ~ 'b%'"), V({}));
    EXPECT_EQ(Ids("email ~ 'c'", "users"), V({}));
    EXPECT_EQ(Ids("likes.email ?= 'b@x.io'", "comments"), V({}));
    EXPECT_EQ(Ids("author.email != ''"), V({"p1"}));  // a hidden email is no value at all
    const RequestInfo bob = AuthAs("u2");
    EXPECT_EQ(Ids("author.email = 'b@x.io'", "posts", "", false, &bob), V({"p2"}));  // his own
    EXPECT_EQ(Ids("author.email = 'c@x.io'", "posts", "", false, &bob), V({}));
    EXPECT_EQ(Ids("author.email = 'b@x.io'", "posts", "", true), V({"p2"}));  // a rule
}

// issue 11.3/11.4: a client filter sees a joined collection through its list rule, as PocketBase.
TEST_F(QueryExecutionTest, JoinedCollectionsApplyTheirListRules) {
    const RequestInfo ann = AuthAs("u1");
    const RequestInfo bob = AuthAs("u2");
    EXPECT_EQ(Ids("notes_via_owner.text ?= 'mine'", "users"), V({}));  // a guest lists no notes
    EXPECT_EQ(Ids("notes_via_owner.text ?= 'mine'", "users", "", false, &ann), V({"u1"}));
    EXPECT_EQ(Ids("notes_via_owner.text ?= 'mine'", "users", "", false, &bob), V({"u2"}));
    EXPECT_EQ(Ids("notes_via_owner.text ?= 'mine'", "users", "", true), V({"u1", "u2"}));  // a rule
    // No list rule: superusers only.
    EXPECT_EQ(CompileError("vault.code = 'xyzzy'", "notes").code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(Ids("vault.code = 'xyzzy'", "notes", "", true), V({"n1"}));
}

// issue 11.4: an API key's scopes bound every collection a client filter reaches.
TEST_F(QueryExecutionTest, ScopesBoundJoinedCollections) {
    auto only_posts = [](const schema::Collection& c) {
        return c.name == "posts";
    };
    EXPECT_EQ(CompileError("author.name = 'Ann'", "posts", only_posts).code, ErrorCode::kForbidden);
    EXPECT_EQ(CompileError("comments_via_post.message ?= 'hi'", "posts", only_posts).code, ErrorCode::kForbidden);
    CompileOptions opt;
    opt.readable = only_posts;
    Compiler c(*catalog_.Find("posts"), catalog_, opt);
    EXPECT_TRUE(c.AddFilter("title = 'x'"));
    EXPECT_FALSE(c.SetSort("author.name"));
}

}  // namespace
}  // namespace basalt::query
