// SPDX-License-Identifier: MIT
#include "migrations/migrator.hpp"

#include <fstream>
#include <sstream>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "support/system_database.hpp"

namespace basalt::migrations {
namespace {

class MigratorTest : public testing::SystemDatabaseTest {
protected:
    void SetUp() override {
        SystemDatabaseTest::SetUp();
        ASSERT_FALSE(HasFatalFailure());
        migrator_ = std::make_unique<Migrator>(Db(), clock_, dir_.Path() / "migrations");
        std::filesystem::create_directories(migrator_->Dir());
    }

    void Write(const std::string& name, const std::string& text) { std::ofstream(migrator_->Dir() / name) << text; }

    std::string Read(const std::string& name) {
        std::ifstream in(migrator_->Dir() / name);
        std::stringstream s;
        s << in.rdbuf();
        return s.str();
    }

    bool HasCollection(const std::string& name) {
        auto rs = Db().Read("SELECT 1 FROM _collections WHERE name = ?", {name});
        return rs && !rs->rows.empty();
    }

    std::vector<std::string> Applied() {
        std::vector<std::string> out;
        auto h = migrator_->History();
        EXPECT_TRUE(h);
        for (const auto& e : *h) {
            if (!e.applied.empty()) {
                out.push_back(e.file);
            }
        }
        return out;
    }

    std::unique_ptr<Migrator> migrator_;
};

TEST_F(MigratorTest, AppliesPendingFilesInNameOrderEachWithItsRecord) {
    // 2_ refers to what 1_ creates: name order, not the order written.
    Write("2_rule.json", R"({"up": [{"update": {"name": "posts", "listRule": "title != ''"}}]})");
    Write(
        "1_posts.json",
        R"j({"up": [{"create": {"name": "posts", "fields": [{"name": "title", "type": "text"}]}},
                   {"sql": "INSERT INTO posts (id, title) VALUES ('aaaaaaaaaaaaaaa', 'x')"}],
            "down": [{"delete": "posts"}]})j"
    );
    std::vector<std::string> applied;
    ASSERT_TRUE(migrator_->Up(applied));
    EXPECT_EQ(applied, (std::vector<std::string>{"1_posts.json", "2_rule.json"}));
    EXPECT_EQ(Applied(), applied);
    auto rule = Db().Read("SELECT listRule FROM _collections WHERE name = 'posts'");
    ASSERT_TRUE(rule);
    EXPECT_EQ(db::AsString(rule->rows[0][0]), "title != ''");
    applied.clear();
    ASSERT_TRUE(migrator_->Up(applied));
    EXPECT_TRUE(applied.empty());  // nothing pending
}

TEST_F(MigratorTest, AFailingMigrationLeavesNothingAndNamesTheFile) {
    Write("1_ok.json", R"({"up": [{"create": {"name": "first"}}]})");
    Write("2_bad.json", R"({"up": [{"create": {"name": "second"}}, {"sql": "UPDATE nowhere SET x = 1"}]})");
    Write("3_later.json", R"({"up": [{"create": {"name": "third"}}]})");
    std::vector<std::string> applied;
    auto r = migrator_->Up(applied);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().message.rfind("2_bad.json: up[1] (sql): ", 0), 0U) << r.error().message;
    EXPECT_EQ(applied, std::vector<std::string>{"1_ok.json"});
    EXPECT_TRUE(HasCollection("first"));
    EXPECT_FALSE(HasCollection("second"));  // rolled back with the failing step
    EXPECT_FALSE(HasCollection("third"));   // never reached
    auto table = Db().Read("SELECT 1 FROM sqlite_master WHERE name = 'second'");
    ASSERT_TRUE(table);
    EXPECT_TRUE(table->rows.empty());
    EXPECT_EQ(Applied(), std::vector<std::string>{"1_ok.json"});
}

TEST_F(MigratorTest, RefusesIdClashesAndRulesThatDoNotCompile) {
    Write("1_a.json", R"({"up": [{"create": {"id": "pbc_aaaa", "name": "a"}}]})");
    std::vector<std::string> applied;
    ASSERT_TRUE(migrator_->Up(applied));
    Write("2_clash.json", R"({"up": [{"create": {"id": "pbc_aaaa", "name": "b"}}]})");
    auto clash = migrator_->Up(applied);
    ASSERT_FALSE(clash);
    EXPECT_NE(clash.error().message.find("2_clash.json: up[0] (create b): "), std::string::npos);
    EXPECT_NE(clash.error().message.find("id: "), std::string::npos) << clash.error().message;
    std::filesystem::remove(migrator_->Dir() / "2_clash.json");
    Write("3_rule.json", R"({"up": [{"create": {"name": "c", "listRule": "missing_field = 1"}}]})");
    auto rule = migrator_->Up(applied);
    ASSERT_FALSE(rule);
    EXPECT_NE(rule.error().message.find("listRule"), std::string::npos) << rule.error().message;
    EXPECT_FALSE(HasCollection("b"));
    EXPECT_FALSE(HasCollection("c"));
}

TEST_F(MigratorTest, CollectionStepsInARowAreOneChangeSoRelationsMayPointForward) {
    Write(
        "1_pair.json",
        R"({"up": [
            {"create": {"id": "pbc_books0", "name": "books",
                        "fields": [{"name": "author", "type": "relation", "collectionId": "pbc_authors0", "maxSelect": 1}]}},
            {"create": {"id": "pbc_authors0", "name": "authors",
                        "fields": [{"name": "fav", "type": "relation", "collectionId": "pbc_books0", "maxSelect": 1}]}}
        ]})"
    );
    std::vector<std::string> applied;
    auto r = migrator_->Up(applied);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(HasCollection("books"));
    EXPECT_TRUE(HasCollection("authors"));
}

TEST_F(MigratorTest, AFileAnotherProcessAppliedIsSkipped) {
    Write("1_a.json", R"({"up": [{"create": {"name": "a"}}]})");
    Exec("INSERT INTO _migrationFiles (file, applied) VALUES ('1_a.json', 'x')");
    std::vector<std::string> applied;
    ASSERT_TRUE(migrator_->Up(applied));
    EXPECT_TRUE(applied.empty());
    EXPECT_FALSE(HasCollection("a"));
}

TEST_F(MigratorTest, AutomigrateWritesRevertibleFilesRecordedAsApplied) {
    collections::CollectionStore store(Db(), clock_);
    ASSERT_TRUE(store.Load());
    store.SetChangeHook(migrator_->AutomigrateHook());
    auto created = store.Create(
        boost::json::parse(R"({"name": "notes", "fields": [{"name": "body", "type": "text"}]})").as_object()
    );
    ASSERT_TRUE(created.collection) << created.message;
    auto updated = store.Update("notes", boost::json::parse(R"({"name": "memos", "listRule": ""})").as_object());
    ASSERT_TRUE(updated.collection) << updated.message;
    auto history = migrator_->History();
    ASSERT_TRUE(history);
    ASSERT_EQ(history->size(), 2U);
    EXPECT_NE((*history)[0].file.find("_created_notes.json"), std::string::npos);
    EXPECT_NE((*history)[1].file.find("_updated_notes.json"), std::string::npos);
    EXPECT_LT((*history)[0].file, (*history)[1].file);  // same second: still in order
    for (const auto& e : *history) {
        EXPECT_FALSE(e.applied.empty());
        EXPECT_FALSE(e.missing);
    }
    auto file = ParseMigration(Read((*history)[1].file));
    ASSERT_TRUE(file) << file.error().message;
    EXPECT_EQ(file->up[0].kind, StepKind::kUpdate);
    EXPECT_EQ(file->up[0].collection.at("name").as_string(), "memos");
    EXPECT_EQ(file->down[0].collection.at("name").as_string(), "notes");
    EXPECT_FALSE(file->up[0].collection.contains("created"));

    // A refused change writes nothing.
    auto refused = store.Create(boost::json::parse(R"({"name": "memos"})").as_object());
    EXPECT_FALSE(refused.collection);
    EXPECT_EQ(migrator_->History()->size(), 2U);

    // down 1: the rename is undone; down 1 again: the collection is gone.
    std::vector<std::string> reverted;
    auto r = migrator_->Down(1, reverted);
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_TRUE(HasCollection("notes"));
    EXPECT_FALSE(HasCollection("memos"));
    ASSERT_TRUE(migrator_->Down(1, reverted));
    EXPECT_FALSE(HasCollection("notes"));
    EXPECT_EQ(reverted.size(), 2U);
    EXPECT_TRUE(Applied().empty());
}

TEST_F(MigratorTest, AnImportBecomesOneFileThatRevertsAndReplays) {
    collections::CollectionStore store(Db(), clock_);
    ASSERT_TRUE(store.Load());
    store.SetChangeHook(migrator_->AutomigrateHook());
    // books points at authors, which the same import creates after it.
    auto imported = store.Import(
        boost::json::parse(
            R"j([{"id": "pbc_books0", "name": "books",
                  "fields": [{"name": "author", "type": "relation", "collectionId": "pbc_authors0", "maxSelect": 1}]},
                 {"id": "pbc_authors0", "name": "authors", "fields": [{"name": "name", "type": "text"}]}])j"
        )
            .as_array(),
        false
    );
    ASSERT_TRUE(imported.errors.empty()) << imported.message;
    auto history = migrator_->History();
    ASSERT_TRUE(history);
    ASSERT_EQ(history->size(), 1U);
    EXPECT_NE((*history)[0].file.find("_collections_change.json"), std::string::npos);
    auto file = ParseMigration(Read((*history)[0].file));
    ASSERT_TRUE(file);
    ASSERT_EQ(file->up.size(), 2U);
    ASSERT_EQ(file->down.size(), 2U);
    EXPECT_EQ(file->down[0].target, "pbc_authors0");  // reverse order
    std::vector<std::string> done;
    auto down = migrator_->Down(1, done);
    ASSERT_TRUE(down) << down.error().message;
    EXPECT_FALSE(HasCollection("books"));
    EXPECT_FALSE(HasCollection("authors"));
    auto up = migrator_->Up(done);
    ASSERT_TRUE(up) << up.error().message;
    EXPECT_TRUE(HasCollection("books"));
    EXPECT_TRUE(HasCollection("authors"));
}

TEST_F(MigratorTest, DownNeedsTheFile) {
    Write("1_a.json", R"({"up": [{"create": {"name": "a"}}], "down": [{"delete": "a"}]})");
    std::vector<std::string> done;
    ASSERT_TRUE(migrator_->Up(done));
    std::filesystem::remove(migrator_->Dir() / "1_a.json");
    auto h = migrator_->History();
    ASSERT_TRUE(h);
    ASSERT_EQ(h->size(), 1U);
    EXPECT_TRUE((*h)[0].missing);
    auto r = migrator_->Down(1, done);
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
    EXPECT_TRUE(HasCollection("a"));
}

TEST_F(MigratorTest, SnapshotImportsEveryCollectionElsewhere) {
    Write("1_a.json", R"({"up": [{"create": {"name": "a", "fields": [{"name": "t", "type": "text"}]}}]})");
    std::vector<std::string> done;
    ASSERT_TRUE(migrator_->Up(done));
    auto path = migrator_->Snapshot();
    ASSERT_TRUE(path) << path.error().message;
    auto file = ParseMigration(Read(path->filename().string()));
    ASSERT_TRUE(file);
    ASSERT_EQ(file->up.size(), 1U);
    EXPECT_EQ(file->up[0].kind, StepKind::kImport);
    EXPECT_FALSE(file->up[0].delete_missing);
    EXPECT_TRUE(file->down.empty());
    for (const auto& c : file->up[0].collections) {
        EXPECT_FALSE(c.as_object().at("system").as_bool());
    }
    EXPECT_EQ(Applied().size(), 2U);  // recorded: it describes this database
}

}  // namespace
}  // namespace basalt::migrations
