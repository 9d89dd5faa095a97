// SPDX-License-Identifier: MIT
#include "identity/superusers.hpp"

#include <gtest/gtest.h>

#include "app/application.hpp"
#include "support/system_database.hpp"

namespace basalt::identity {
namespace {

class SuperusersTest : public testing::SystemDatabaseTest {
protected:
    void SetUp() override {
        SystemDatabaseTest::SetUp();
        ASSERT_FALSE(HasFatalFailure());
        store_ = std::make_unique<SuperuserStore>(*db_, clock_);
    }

    std::unique_ptr<SuperuserStore> store_;
};

TEST_F(SuperusersTest, UpsertCreatesThenUpdates) {
    auto a = store_->Upsert("Admin@Example.com", "password1");
    ASSERT_TRUE(a) << a.error().message;
    EXPECT_EQ(a->collection_id, "pbc_3142635823");
    EXPECT_EQ(a->id.size(), 15U);
    EXPECT_EQ(a->created, "2023-11-14 22:13:20.000Z");
    auto b = store_->Upsert("admin@example.com", "password2");  // same address, other case
    ASSERT_TRUE(b);
    EXPECT_EQ(a->id, b->id);
    EXPECT_NE(a->token_key, b->token_key);
    EXPECT_EQ(*store_->Count(), 1);
    auto found = store_->FindByEmail("ADMIN@example.COM");
    ASSERT_TRUE(found && found->has_value());
    EXPECT_EQ((*found)->id, a->id);
    // The new password (the CLI's way) is in the outbox, once, in the same transaction.
    auto events = db_->Read("SELECT action, recordId, record FROM _events");
    ASSERT_TRUE(events);
    ASSERT_EQ(events->rows.size(), 1U);
    EXPECT_EQ(db::AsString(events->rows[0][0]), "auth.passwordChange");
    EXPECT_EQ(db::AsString(events->rows[0][1]), a->id);
    EXPECT_EQ(db::AsString(events->rows[0][2]).find("password1"), std::string::npos);
}

TEST_F(SuperusersTest, UpsertValidatesInput) {
    auto bad_email = store_->Upsert("not-an-email", "password1");
    ASSERT_FALSE(bad_email);
    EXPECT_EQ(bad_email.error().field, "email");
    auto short_pw = store_->Upsert("a@b.co", "short");
    ASSERT_FALSE(short_pw);
    EXPECT_EQ(short_pw.error().field, "password");
    EXPECT_EQ(*store_->Count(), 0);
}

TEST_F(SuperusersTest, DeleteRemovesAndReportsMissing) {
    ASSERT_TRUE(store_->Upsert("a@b.co", "password1"));
    EXPECT_TRUE(store_->Delete("A@B.CO"));
    auto again = store_->Delete("a@b.co");
    ASSERT_FALSE(again);
    EXPECT_EQ(again.error().code, ErrorCode::kNotFound);
}

// Deleting a superuser (the CLI's way) ends what it owned in the same transaction.
TEST_F(SuperusersTest, DeleteEndsSessionsAndRemovesKeys) {
    auto a = store_->Upsert("a@b.co", "password1");
    ASSERT_TRUE(a);
    ASSERT_TRUE(db_->WriteOne(
        "INSERT INTO _sessions (id, collectionId, recordId, created, lastSeen) VALUES ('s1', ?, ?, 'x', 'x')",
        {a->collection_id, a->id}
    ));
    ASSERT_TRUE(db_->WriteOne(
        "INSERT INTO _apiKeys (id, collectionId, recordId, prefix, hash, created) VALUES ('k1', ?, ?, 'p', 'h', 'x')",
        {a->collection_id, a->id}
    ));
    ASSERT_TRUE(store_->Delete("a@b.co"));
    auto open = db_->Read("SELECT COUNT(*) FROM _sessions WHERE revoked = ''");
    auto keys = db_->Read("SELECT COUNT(*) FROM _apiKeys");
    ASSERT_TRUE(open && keys);
    EXPECT_EQ(db::AsInt(open->rows[0][0]), 0);
    EXPECT_EQ(db::AsInt(keys->rows[0][0]), 0);
}

TEST(DataDir, RefusesAnUnwritableDirectory) {
    config::AppConfig c;
    c.data_dir = "/proc/basalt-cannot-exist";
    auto d = app::DataDir::Open(c);
    EXPECT_FALSE(d);
}

}  // namespace
}  // namespace basalt::identity
