// SPDX-License-Identifier: MIT
// RecordService over a real SQLite database with the system migrations: writes checked against the
// create/update/delete rules (inside the write, on the stored row), validation, list and view
// rules, and the outbox event each committed write leaves (and a refused one does not).
#include "records/service.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "collections/store.hpp"
#include "support/system_database.hpp"

namespace basalt::records {
namespace {

namespace json = boost::json;

class RecordServiceTest : public testing::SystemCollectionsTest {
protected:
    void SetUp() override {
        SystemCollectionsTest::SetUp();
        ASSERT_FALSE(HasFatalFailure());
        // Guests may create anything but "forbidden", update what is not "locked", delete "trash",
        // and see what is not "secret".
        CreateCollection(R"({
            "name": "posts",
            "fields": [{"name": "title", "type": "text", "required": true}, {"name": "views", "type": "number"}],
            "listRule": "title != 'secret'",
            "viewRule": "title != 'secret'",
            "createRule": "title != 'forbidden'",
            "updateRule": "title != 'locked'",
            "deleteRule": "title = 'trash'"
        })");
        ASSERT_FALSE(HasFatalFailure());
        CreateCollection(R"({"name": "closed", "fields": [{"name": "title", "type": "text"}]})");
        ASSERT_FALSE(HasFatalFailure());
        service_ = std::make_unique<RecordService>(Db(), *collections_, clock_);
    }

    static Access Guest() { return Access{}; }
    static Access Superuser() {
        Access a;
        a.superuser = true;
        return a;
    }

    // Prepares and runs one write as the API does; the record as answered, or the error.
    Result<json::object> Run(Result<PreparedWrite> prepared) {
        if (!prepared) {
            return prepared.error();
        }
        if (auto w = Db().Write(prepared->fn); !w) {
            return w.error();
        }
        return *prepared->record;
    }

    Result<json::object> Create(const std::string& collection, const std::string& body, const Access& access) {
        return Run(service_->PrepareCreate(collection, json::parse(body).as_object(), access));
    }

    std::string CreateAsSuperuser(const std::string& title) {
        auto r = Create("posts", R"({"title":")" + title + R"("})", Superuser());
        EXPECT_TRUE(r) << r.error().message;
        return r ? std::string((*r)["id"].as_string()) : std::string();
    }

    std::vector<std::string> Events() {
        auto rs = Db().Read("SELECT action || ':' || recordId FROM _events WHERE collectionName = 'posts' ORDER BY id");
        EXPECT_TRUE(rs);
        std::vector<std::string> out;
        for (const auto& row : rs->rows) {
            out.push_back(db::AsString(row[0]));
        }
        return out;
    }

    std::unique_ptr<RecordService> service_;
};

TEST_F(RecordServiceTest, CreateChecksTheRuleOnTheStoredRecordAndLeavesOneEvent) {
    auto ok = Create("posts", R"({"title":"hello","views":3})", Guest());
    ASSERT_TRUE(ok) << ok.error().message;
    const std::string id(ok->at("id").as_string());
    EXPECT_EQ(id.size(), 15U);
    EXPECT_EQ(ok->at("title").as_string(), "hello");
    EXPECT_EQ(ok->at("collectionName").as_string(), "posts");

    auto refused = Create("posts", R"({"title":"forbidden"})", Guest());
    ASSERT_FALSE(refused);
    EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(refused.error().message, "Failed to create record.");
    // The refused insert was rolled back with its event.
    auto n = Db().Read("SELECT COUNT(*) FROM posts");
    ASSERT_TRUE(n);
    EXPECT_EQ(db::AsInt(n->rows[0][0]), 1);
    EXPECT_EQ(Events(), std::vector<std::string>{"create:" + id});

    // Superusers pass every rule.
    EXPECT_TRUE(Create("posts", R"({"title":"forbidden"})", Superuser()));
}

TEST_F(RecordServiceTest, ANullRuleIsForSuperusersOnly) {
    auto guest = Create("closed", R"({"title":"x"})", Guest());
    ASSERT_FALSE(guest);
    EXPECT_EQ(guest.error().code, ErrorCode::kForbidden);
    EXPECT_TRUE(Create("closed", R"({"title":"x"})", Superuser()));
}

TEST_F(RecordServiceTest, ValidationNamesTheField) {
    auto r = Create("posts", R"({"views":1})", Superuser());
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    ASSERT_EQ(r.error().fields.size(), 1U);
    EXPECT_EQ(r.error().fields[0].field, "title");
    EXPECT_EQ(r.error().fields[0].code, "validation_required");
    EXPECT_TRUE(Events().empty());
}

TEST_F(RecordServiceTest, UpdateMissesARecordItsRuleDoesNotMatch) {
    const std::string open = CreateAsSuperuser("open");
    const std::string locked = CreateAsSuperuser("locked");

    auto miss = Run(service_->PrepareUpdate("posts", locked, json::parse(R"({"title":"mine"})").as_object(), Guest()));
    ASSERT_FALSE(miss);
    EXPECT_EQ(miss.error().code, ErrorCode::kNotFound);

    auto hit = Run(service_->PrepareUpdate("posts", open, json::parse(R"({"views":7})").as_object(), Guest()));
    ASSERT_TRUE(hit) << hit.error().message;
    EXPECT_EQ(hit->at("title").as_string(), "open");
    auto seen = service_->View("posts", open, Guest());
    ASSERT_TRUE(seen) << seen.error().message;
    EXPECT_EQ(seen->at("views").as_int64(), 7);
    EXPECT_EQ(Events(), (std::vector<std::string>{"create:" + open, "create:" + locked, "update:" + open}));
}

TEST_F(RecordServiceTest, DeleteFollowsItsRuleAndTheRecordIsGone) {
    const std::string keep = CreateAsSuperuser("keep");
    const std::string trash = CreateAsSuperuser("trash");

    auto miss = Run(service_->PrepareDelete("posts", keep, Guest()));
    ASSERT_FALSE(miss);
    EXPECT_EQ(miss.error().code, ErrorCode::kNotFound);

    auto hit = service_->PrepareDelete("posts", trash, Guest());
    ASSERT_TRUE(hit) << hit.error().message;
    ASSERT_TRUE(Db().Write(hit->fn));
    auto gone = service_->View("posts", trash, Superuser());
    ASSERT_FALSE(gone);
    EXPECT_EQ(gone.error().code, ErrorCode::kNotFound);
    EXPECT_TRUE(service_->View("posts", keep, Guest()));
    EXPECT_EQ(Events().back(), "delete:" + trash);
}

TEST_F(RecordServiceTest, ListAndViewApplyTheirRules) {
    CreateAsSuperuser("a");
    const std::string secret = CreateAsSuperuser("secret");
    CreateAsSuperuser("b");

    ListParams p;
    p.sort = "title";
    auto guest = service_->List("posts", p, Guest());
    ASSERT_TRUE(guest) << guest.error().message;
    EXPECT_EQ(guest->total_items, 2);
    const json::array items = json::parse(guest->items_json).as_array();
    ASSERT_EQ(items.size(), 2U);
    EXPECT_EQ(items[0].at("title").as_string(), "a");
    EXPECT_EQ(items[1].at("title").as_string(), "b");

    auto all = service_->List("posts", p, Superuser());
    ASSERT_TRUE(all);
    EXPECT_EQ(all->total_items, 3);

    auto hidden = service_->View("posts", secret, Guest());
    ASSERT_FALSE(hidden);
    EXPECT_EQ(hidden.error().code, ErrorCode::kNotFound);

    p.filter = "title = 'b'";
    auto filtered = service_->List("posts", p, Guest());
    ASSERT_TRUE(filtered);
    EXPECT_EQ(filtered->total_items, 1);
}

}  // namespace
}  // namespace basalt::records
