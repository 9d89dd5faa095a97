// SPDX-License-Identifier: MIT
// PocketBase's collections API behaviour that needs the system migrations: the list's filter and
// sort, the auth data collections, the view dry run.
#include "collections/store.hpp"

#include <algorithm>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "collections/view.hpp"
#include "support/system_database.hpp"

namespace basalt::collections {
namespace {

class CollectionsCompatTest : public testing::SystemDatabaseTest {
protected:
    void SetUp() override {
        SystemDatabaseTest::SetUp();
        ASSERT_FALSE(HasFatalFailure());
        store_ = std::make_unique<CollectionStore>(*db_, clock_);
        ASSERT_TRUE(store_->Load());
        for (const char* name : {"zeta", "alpha"}) {
            auto r = store_->Create(boost::json::parse(
                                        std::string(R"({"name":")") + name +
                                        R"(","fields":[{"name":"title","type":"text"}]})"
            )
                                        .as_object());
            ASSERT_TRUE(r.collection) << r.message;
        }
    }

    std::vector<std::string> Names(std::string filter, std::string sort = {}) {
        CollectionQuery q;
        q.filter = std::move(filter);
        q.sort = std::move(sort);
        q.per_page = 100;
        auto page = store_->List(q);
        EXPECT_TRUE(page) << page.error().message;
        std::vector<std::string> out;
        if (page) {
            for (const auto& c : page->items) {
                out.push_back(c.name);
            }
        }
        return out;
    }

    std::unique_ptr<CollectionStore> store_;
};

TEST_F(CollectionsCompatTest, ListFiltersAndSortsOverTheCollectionColumns) {
    using V = std::vector<std::string>;
    // Stored order by default: the system collections of the migrations, then the new ones.
    EXPECT_EQ(
        Names(""), (V{"_superusers", "users", "_mfas", "_otps", "_authOrigins", "_externalAuths", "zeta", "alpha"})
    );
    EXPECT_EQ(Names("system = false && type = 'base'", "name"), (V{"alpha", "zeta"}));
    EXPECT_EQ(Names("type = 'auth'", "-name"), (V{"users", "_superusers"}));
    EXPECT_EQ(
        Names("name ~ 'auth' && id != '' && created != '' && updated != ''"), (V{"_authOrigins", "_externalAuths"})
    );
    EXPECT_EQ(Names("system = true").size(), 5U);
    EXPECT_EQ(Names("", "-@rowid").front(), "alpha");
    EXPECT_EQ(Names("", "@random").size(), 8U);

    CollectionQuery paged;
    paged.per_page = 3;
    paged.page = 3;
    auto page = store_->List(paged);
    ASSERT_TRUE(page);
    EXPECT_EQ(page->total_items, 8);
    ASSERT_EQ(page->items.size(), 2U);
    EXPECT_EQ(page->items[0].name, "zeta");
    paged.skip_total = true;
    EXPECT_EQ(store_->List(paged)->total_items, -1);
}

TEST_F(CollectionsCompatTest, ListRefusesEverythingElse) {
    for (const auto& [filter, sort] : std::vector<std::pair<std::string, std::string>>{
             {"listRule = ''", ""},
             {"fields ~ 'x'", ""},
             {"foo = 1", ""},
             {"name = ", ""},
             {"@request.auth.id != ''", ""},
             {"@collection.users.id != ''", ""},
             {"", "viewQuery"},
             {"", "-foo"}}) {
        CollectionQuery q;
        q.filter = filter;
        q.sort = sort;
        auto r = store_->List(q);
        EXPECT_FALSE(r) << filter << " / " << sort;
        if (!r) {
            EXPECT_TRUE(r.error().code == ErrorCode::kInvalidArgument || r.error().code == ErrorCode::kForbidden);
        }
    }
}

TEST_F(CollectionsCompatTest, AuthDataCollectionsAreSystemCollectionsInPocketBaseShape) {
    const auto snap = store_->Current();
    const std::string owner =
        "@request.auth.id != '' && recordRef = @request.auth.id && collectionRef = @request.auth.collectionId";
    struct Expected {
        const char* name;
        const char* id;
        bool owner_deletes;
        std::vector<std::string> fields;
    };
    for (const Expected& e : std::vector<Expected>{
             {"_mfas", "pbc_2279338944", false, {"id", "collectionRef", "recordRef", "method", "created", "updated"}},
             {"_otps",
              "pbc_1638494021",
              false,
              {"id", "collectionRef", "recordRef", "password", "sentTo", "created", "updated"}},
             {"_authOrigins",
              "pbc_4275539003",
              true,
              {"id", "collectionRef", "recordRef", "fingerprint", "created", "updated"}},
             {"_externalAuths",
              "pbc_2281828961",
              true,
              {"id", "collectionRef", "recordRef", "provider", "providerId", "created", "updated"}}}) {
        const schema::Collection* c = snap->Find(e.name);
        ASSERT_NE(c, nullptr) << e.name;
        EXPECT_EQ(c->id, e.id);
        EXPECT_TRUE(c->system);
        EXPECT_EQ(c->type, schema::CollectionType::kBase);
        EXPECT_EQ(c->list_rule, owner);
        EXPECT_EQ(c->view_rule, owner);
        EXPECT_FALSE(c->create_rule);
        EXPECT_FALSE(c->update_rule);
        EXPECT_EQ(c->delete_rule.has_value(), e.owner_deletes);
        std::vector<std::string> names;
        for (const auto& f : c->fields) {
            names.push_back(f.name);
            EXPECT_TRUE(f.system) << e.name << "." << f.name;
        }
        EXPECT_EQ(names, e.fields);
    }
    EXPECT_EQ(snap->Find("_otps")->FindField("recordRef")->id, "text127846527");
    // basalt's own tables cannot become collections; other `_` names can.
    auto taken = store_->Create(boost::json::parse(R"({"name":"_sessions"})").as_object());
    ASSERT_FALSE(taken.collection);
    ASSERT_FALSE(taken.errors.empty());
    EXPECT_EQ(taken.errors[0].code, "validation_collection_name_invalid");
    EXPECT_TRUE(store_->Create(boost::json::parse(R"({"name":"_mine"})").as_object()).collection);
    // A system collection keeps its name.
    auto renamed = store_->Update("_otps", boost::json::parse(R"({"name":"otps"})").as_object());
    ASSERT_FALSE(renamed.errors.empty());
    EXPECT_EQ(renamed.errors[0].code, "validation_collection_system_name_change");
}

TEST_F(CollectionsCompatTest, RebuildingASystemTableKeepsColumnsOutsideItsDefinition) {
    ASSERT_TRUE(db_->WriteOne(
        "INSERT INTO _otps (id, collectionRef, recordRef, password, sentTo, created, updated, attempts) VALUES "
        "('o00000000000001', 'c', 'r', 'h', '', '', '', 3)",
        {}
    ));
    // A single relation added, then removed: the second change rebuilds the table.
    auto fields_of = [&](bool with_link) {
        boost::json::array a;
        for (const auto& f : store_->Current()->Find("_otps")->fields) {
            if (f.name != "link") {
                a.push_back(schema::FieldToJson(f));
            }
        }
        if (with_link) {
            a.push_back(boost::json::parse(R"({"name":"link","type":"relation","collectionId":"_pb_users_auth_"})"));
        }
        return boost::json::object{{"fields", std::move(a)}};
    };
    auto added = store_->Update("_otps", fields_of(true));
    ASSERT_TRUE(added.collection) << added.message << (added.errors.empty() ? "" : added.errors[0].message);
    auto removed = store_->Update("_otps", fields_of(false));
    ASSERT_TRUE(removed.collection) << removed.message << (removed.errors.empty() ? "" : removed.errors[0].message);
    auto rs = db_->Read("SELECT attempts FROM _otps WHERE id = 'o00000000000001'");
    ASSERT_TRUE(rs) << rs.error().message;
    ASSERT_EQ(rs->rows.size(), 1U);
    EXPECT_EQ(db::AsInt(rs->rows[0][0]), 3);
}

TEST_F(CollectionsCompatTest, DryRunDerivesFieldsAndASampleWithoutCreatingAnything) {
    for (int i = 0; i < 12; ++i) {
        ASSERT_TRUE(db_->WriteOne(
            "INSERT INTO alpha (id, title) VALUES (?, ?)",
            {std::string("a0000000000000") + static_cast<char>('a' + i), "t" + std::to_string(i)}
        ));
    }
    const auto snap = store_->Current();
    std::optional<ViewDryRun> run;
    auto r = db_->ReadTx([&](db::Executor& ex) -> Result<void> {
        auto d = DryRunView(ex, "select id, title from alpha;", *snap, 10);
        if (!d) {
            return d.error();
        }
        run = std::move(*d);
        return Ok();
    });
    ASSERT_TRUE(r) << r.error().message;
    ASSERT_EQ(run->shape.fields.size(), 2U);
    EXPECT_EQ(run->shape.fields[1].type, schema::FieldType::kText);
    EXPECT_EQ(run->sample.rows.size(), 10U);
    auto views = db_->Read("SELECT COUNT(*) FROM sqlite_master WHERE type = 'view'");
    EXPECT_EQ(db::AsInt(views->rows[0][0]), 0);

    for (const char* bad :
         {"select 1 as nope",
          "select 1 as id union all select 1",
          "select '' as id",
          "select id, password from _otps",
          "select 1 as id; select 2 as id"}) {
        auto failed = db_->ReadTx([&](db::Executor& ex) -> Result<void> {
            auto d = DryRunView(ex, bad, *snap, 10);
            return d ? Ok() : Result<void>(d.error());
        });
        ASSERT_FALSE(failed) << bad;
        EXPECT_EQ(failed.error().code, ErrorCode::kInvalidArgument) << bad;
    }
}

TEST_F(CollectionsCompatTest, ChangesReachTheTableAndSurviveALoad) {
    auto made = store_->Create(boost::json::parse(R"json({
        "name": "notes",
        "fields": [{"name": "body", "type": "text"}, {"name": "stars", "type": "number"}],
        "indexes": ["CREATE INDEX idx_notes_stars ON notes (stars)"]
    })json")
                                   .as_object());
    ASSERT_TRUE(made.collection) << made.message;
    Exec("INSERT INTO notes (id, body, stars) VALUES ('n1', 'hello', 3)");

    // A rename keeps the rows.
    auto changed = store_->Update("notes", boost::json::parse(R"({"name": "memos", "listRule": ""})").as_object());
    ASSERT_TRUE(changed.collection) << changed.message;
    auto rows = Db().Read("SELECT body, stars FROM memos WHERE id = 'n1'");
    ASSERT_TRUE(rows) << rows.error().message;
    ASSERT_EQ(rows->rows.size(), 1U);
    EXPECT_EQ(db::AsString(rows->rows[0][0]), "hello");

    // Another store over the same database sees the same definitions.
    CollectionStore again(Db(), clock_);
    ASSERT_TRUE(again.Load());
    const auto* memos = again.Current()->Find("memos");
    ASSERT_NE(memos, nullptr);
    EXPECT_EQ(memos->id, made.collection->id);
    EXPECT_EQ(memos->list_rule, std::optional<std::string>(""));
    EXPECT_EQ(again.Current()->Find("notes"), nullptr);

    // Deleting drops the table; system collections cannot go.
    ASSERT_TRUE(store_->Delete("memos"));
    EXPECT_FALSE(Db().Read("SELECT 1 FROM memos"));
    EXPECT_FALSE(store_->Delete("_superusers"));
    EXPECT_EQ(store_->Delete("nothing").error().code, ErrorCode::kNotFound);
}

TEST_F(CollectionsCompatTest, AnInvalidChangeLeavesNothingBehind) {
    auto bad = store_->Create(boost::json::parse(R"({
        "name": "broken",
        "fields": [{"name": "title", "type": "text"}],
        "listRule": "nope = 1"
    })")
                                  .as_object());
    EXPECT_FALSE(bad.collection);
    EXPECT_FALSE(bad.errors.empty());
    EXPECT_EQ(store_->Current()->Find("broken"), nullptr);
    EXPECT_FALSE(Db().Read("SELECT 1 FROM broken"));
}

}  // namespace
}  // namespace basalt::collections
