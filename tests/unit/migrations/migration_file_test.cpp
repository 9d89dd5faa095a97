// SPDX-License-Identifier: MIT
#include "migrations/migration_file.hpp"

#include <fstream>

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"

namespace basalt::migrations {
namespace {

TEST(MigrationFile, ReadsEveryStepKind) {
    auto m = ParseMigration(R"({
        "up": [
            {"create": {"name": "posts", "fields": [{"name": "title", "type": "text"}]}},
            {"update": {"id": "pbc_1", "listRule": ""}},
            {"import": {"collections": [{"name": "tags"}], "deleteMissing": true}},
            {"sql": "UPDATE posts SET title = 'x'"},
            {"delete": "tags"}
        ],
        "down": [{"delete": "posts"}]
    })");
    ASSERT_TRUE(m) << m.error().message;
    ASSERT_EQ(m->up.size(), 5U);
    EXPECT_EQ(m->up[0].kind, StepKind::kCreate);
    EXPECT_EQ(m->up[1].kind, StepKind::kUpdate);
    EXPECT_EQ(m->up[2].kind, StepKind::kImport);
    EXPECT_TRUE(m->up[2].delete_missing);
    EXPECT_EQ(m->up[3].sql, "UPDATE posts SET title = 'x'");
    EXPECT_EQ(m->up[4].target, "tags");
    ASSERT_EQ(m->down.size(), 1U);
    EXPECT_EQ(DescribeStep(m->up[0]), "create posts");
}

TEST(MigrationFile, DownIsOptionalUpIsNot) {
    EXPECT_TRUE(ParseMigration(R"({"up": []})"));
    auto missing = ParseMigration(R"({"down": []})");
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("\"up\" is missing"), std::string::npos);
}

TEST(MigrationFile, InvalidJsonSaysWhere) {
    auto r = ParseMigration("{\"up\": [\n  {\"sql\": \"x\"},\n  oops\n]}");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find("line 3"), std::string::npos) << r.error().message;
    for (const char* text : {"", "{", "[]", "null", "\"up\"", "{\"up\": {}}", "{\"up\": [1]}"}) {
        EXPECT_FALSE(ParseMigration(text)) << text;
    }
    // Nesting past the JSON depth limit is refused, not a crash.
    EXPECT_FALSE(ParseMigration(std::string(100000, '[')));
}

TEST(MigrationFile, RefusesMalformedSteps) {
    const std::pair<const char*, const char*> cases[] = {
        {R"({"up": [{"create": "posts"}]})", "up[0].create: expected a collection object"},
        {R"({"up": [{"update": {"listRule": ""}}]})", "up[0].update: the collection needs an id or a name"},
        {R"({"up": [{"delete": ""}]})", "up[0].delete"},
        {R"({"up": [{"import": {"collections": []}}]})", "up[0].import"},
        {R"({"up": [{"import": {"collections": [{}], "deleteMissing": "yes"}}]})", "deleteMissing"},
        {R"({"up": [{"sql": 1}]})", "up[0].sql"},
        {R"({"up": [{"sql": "x", "delete": "y"}]})", "one key"},
        {R"({"up": [], "down": [{"drop": "x"}]})", "down[0]: unknown step \"drop\""},
        {R"({"up": [], "extra": 1})", "unknown key \"extra\""},
    };
    for (const auto& [text, why] : cases) {
        auto r = ParseMigration(text);
        ASSERT_FALSE(r) << text;
        EXPECT_NE(r.error().message.find(why), std::string::npos) << text << " -> " << r.error().message;
    }
}

TEST(MigrationFile, FormatReadsBack) {
    MigrationFile m;
    Step create;
    create.kind = StepKind::kCreate;
    create.collection = {{"name", "posts"}, {"fields", boost::json::array{}}};
    Step sql;
    sql.kind = StepKind::kSql;
    sql.sql = "UPDATE posts SET title = \"a\"\nWHERE 1";
    Step import;
    import.kind = StepKind::kImport;
    import.collections = {boost::json::object { { "name", "x" } }};
    m.up = {create, sql, import};
    Step del;
    del.kind = StepKind::kDelete;
    del.target = "posts";
    m.down = {del};
    const std::string text = FormatMigration(m);
    EXPECT_NE(text.find("\n  \"up\": [\n"), std::string::npos) << text;
    EXPECT_EQ(text.back(), '\n');
    auto back = ParseMigration(text);
    ASSERT_TRUE(back) << back.error().message;
    EXPECT_EQ(FormatMigration(*back), text);
    EXPECT_EQ(back->up[1].sql, sql.sql);
    EXPECT_EQ(FormatMigration(MigrationFile{}), "{\n  \"up\": [],\n  \"down\": []\n}\n");
}

TEST(MigrationFile, NamesAndOrder) {
    EXPECT_TRUE(IsMigrationName("1712345678_created_posts.json"));
    EXPECT_TRUE(IsMigrationName("1_x.json"));
    for (const char* name :
         {"created_posts.json",
          "1712.json",
          "_1.json",
          "1712_posts.js",
          "1712_posts.json.tmp",
          ".1712_x.json.tmp",
          "README.md",
          "a/1_x.json"}) {
        EXPECT_FALSE(IsMigrationName(name)) << name;
    }
    EXPECT_EQ(MigrationFileName(1712, "add notes!"), "1712_add_notes_.json");
    EXPECT_EQ(MigrationFileName(1712, ""), "1712_migration.json");
    EXPECT_EQ(MigrationTimestamp("1712_x.json"), 1712);
    EXPECT_EQ(MigrationTimestamp("x.json"), 0);

    testing::TempDir dir;
    for (const char* name : {"1712_b.json", "1712_a.json", "1700_z.json", "notes.txt", ".1800_x.json.tmp"}) {
        std::ofstream(dir.Path() / name) << "{}";
    }
    std::filesystem::create_directory(dir.Path() / "1800_dir.json");
    auto list = ListMigrations(dir.Path());
    ASSERT_TRUE(list);
    EXPECT_EQ(*list, (std::vector<std::string>{"1700_z.json", "1712_a.json", "1712_b.json"}));
    auto none = ListMigrations(dir.Path() / "missing");
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->empty());
}

}  // namespace
}  // namespace basalt::migrations
