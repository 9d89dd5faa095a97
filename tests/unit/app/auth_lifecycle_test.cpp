// SPDX-License-Identifier: MIT
// The auth hooks of the one write path, as app wires them (RecordService -> identity::AuthLifecycle)
// over a real database: writes to an auth record through the records service end its sessions when
// its credentials change and take its sessions and API keys with it when it is deleted, in the same
// transaction; other changes keep them.
#include "identity/auth_lifecycle.hpp"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "auth/password.hpp"
#include "collections/store.hpp"
#include "identity/api_keys.hpp"
#include "identity/auth_records.hpp"
#include "identity/sessions.hpp"
#include "identity/tokens.hpp"
#include "records/service.hpp"
#include "support/system_database.hpp"

namespace basalt::identity {
namespace {

namespace json = boost::json;

class AuthLifecycleTest : public testing::SystemCollectionsTest {
protected:
    void SetUp() override {
        SystemCollectionsTest::SetUp();
        ASSERT_FALSE(HasFatalFailure());
        auth_records_ = std::make_unique<AuthRecords>(Db());
        sessions_ = std::make_unique<SessionStore>(Db(), clock_, std::chrono::seconds(60));
        tokens_ =
            std::make_unique<TokenService>(*collections_, *auth_records_, *sessions_, clock_, std::chrono::seconds(60));
        keys_ = std::make_unique<ApiKeyStore>(Db(), *collections_, *auth_records_, clock_);
        lifecycle_ = std::make_unique<AuthLifecycle>(*sessions_, *tokens_, *keys_);
        records_ = std::make_unique<records::RecordService>(Db(), *collections_, clock_);
        records_->SetAuthHooks(lifecycle_.get());

        records::AuthInput input;
        input.password_hash = *auth::HashPassword("password123");
        input.manage = true;
        auto created = records_->PrepareCreate("users", json::parse(R"({"email":"a@b.co"})").as_object(), Su(), input);
        ASSERT_TRUE(created) << created.error().message;
        ASSERT_TRUE(Db().Write(created->fn));
        id_ = std::string(created->record->at("id").as_string());
        users_ = *collections_->Current()->Find("users");
        auto rec = auth_records_->FindById(users_, id_);
        ASSERT_TRUE(rec && rec->has_value());
        record_ = **rec;
    }

    static records::Access Su() {
        records::Access a;
        a.superuser = true;
        return a;
    }

    std::string OpenSession() {
        auto s = sessions_->Open(record_, "password", "127.0.0.1", "test");
        EXPECT_TRUE(s);
        return s ? s->id : std::string();
    }

    bool Open(const std::string& sid) {
        auto r = sessions_->Check(sid, users_.id, id_, /*fresh=*/true);
        return r && *r;
    }

    std::int64_t Count(const std::string& sql) {
        auto rs = Db().Read(sql, {id_});
        EXPECT_TRUE(rs);
        return rs ? db::AsInt(rs->rows[0][0]) : -1;
    }

    static records::AuthInput Manage() {
        records::AuthInput input;
        input.manage = true;
        return input;
    }

    void Update(const std::string& body, const records::AuthInput& input = Manage()) {
        auto w = records_->PrepareUpdate("users", id_, json::parse(body).as_object(), Su(), input);
        ASSERT_TRUE(w) << w.error().message;
        auto r = Db().Write(w->fn);
        ASSERT_TRUE(r) << r.error().message;
    }

    std::unique_ptr<AuthRecords> auth_records_;
    std::unique_ptr<SessionStore> sessions_;
    std::unique_ptr<TokenService> tokens_;
    std::unique_ptr<ApiKeyStore> keys_;
    std::unique_ptr<AuthLifecycle> lifecycle_;
    std::unique_ptr<records::RecordService> records_;
    schema::Collection users_;
    std::string id_;
    auth::AuthRecord record_;
};

TEST_F(AuthLifecycleTest, OtherChangesKeepTheSessions) {
    const std::string sid = OpenSession();
    Update(R"({"name":"Ann"})");
    EXPECT_TRUE(Open(sid));
}

TEST_F(AuthLifecycleTest, ANewPasswordOrEmailEndsEverySession) {
    const std::string first = OpenSession();
    records::AuthInput input;
    input.password_hash = *auth::HashPassword("another-password");
    input.manage = true;
    Update("{}", input);
    EXPECT_FALSE(Open(first));

    const std::string second = OpenSession();
    Update(R"({"email":"new@b.co"})");
    EXPECT_FALSE(Open(second));
}

TEST_F(AuthLifecycleTest, DeletingTheRecordTakesItsSessionsAndKeys) {
    OpenSession();
    auto key = keys_->Create("ci", users_, id_, {"admin"}, "");
    ASSERT_TRUE(key) << key.error().message;
    ASSERT_EQ(Count("SELECT COUNT(*) FROM _apiKeys WHERE recordId = ?"), 1);

    auto w = records_->PrepareDelete("users", id_, Su());
    ASSERT_TRUE(w) << w.error().message;
    ASSERT_TRUE(Db().Write(w->fn));
    EXPECT_EQ(Count("SELECT COUNT(*) FROM _sessions WHERE recordId = ? AND revoked = ''"), 0);
    EXPECT_EQ(Count("SELECT COUNT(*) FROM _apiKeys WHERE recordId = ?"), 0);
}

}  // namespace
}  // namespace basalt::identity
