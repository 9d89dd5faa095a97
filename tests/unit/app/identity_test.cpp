// SPDX-License-Identifier: MIT
// Tokens, sessions and the sign-in throttle against a real database with the system migrations.
#include <atomic>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "auth/jwt.hpp"
#include "collections/auth_collection.hpp"
#include "collections/store.hpp"
#include "identity/auth_records.hpp"
#include "identity/sessions.hpp"
#include "identity/superusers.hpp"
#include "identity/throttle.hpp"
#include "identity/tokens.hpp"
#include "support/system_database.hpp"

namespace basalt::identity {
namespace {

class IdentityTest : public testing::SystemDatabaseTest {
protected:
    void SetUp() override {
        SystemDatabaseTest::SetUp();
        ASSERT_FALSE(HasFatalFailure());
        superusers_ = std::make_unique<identity::SuperuserStore>(*db_, clock_);
        collections_ = std::make_unique<collections::CollectionStore>(*db_, clock_);
        ASSERT_TRUE(collections_->Load());
        records_ = std::make_unique<AuthRecords>(*db_);
        sessions_ = std::make_unique<SessionStore>(*db_, clock_, std::chrono::seconds(60));
        // A long cache lifetime: what these tests check must hold without waiting for expiry.
        tokens_ =
            std::make_unique<TokenService>(*collections_, *records_, *sessions_, clock_, std::chrono::seconds(60));
    }

    std::string Signed(const auth::AuthRecord& r) {
        auto s = sessions_->Open(r, "password", "127.0.0.1", "test");
        EXPECT_TRUE(s);
        auto t = tokens_->Issue(r, s->id, true);
        EXPECT_TRUE(t);
        return t ? *t : std::string();
    }

    std::unique_ptr<identity::SuperuserStore> superusers_;
    std::unique_ptr<collections::CollectionStore> collections_;
    std::unique_ptr<AuthRecords> records_;
    std::unique_ptr<SessionStore> sessions_;
    std::unique_ptr<TokenService> tokens_;
};

TEST_F(IdentityTest, FreshInstallHasTheUsersAuthCollection) {
    const auto snap = collections_->Current();
    const auto* users = snap->Find("_pb_users_auth_");
    ASSERT_NE(users, nullptr);
    EXPECT_EQ(users->name, "users");
    EXPECT_EQ(users->type, schema::CollectionType::kAuth);
    for (const char* f : {"id", "password", "tokenKey", "email", "emailVisibility", "verified", "name", "created"}) {
        EXPECT_NE(users->FindField(f), nullptr) << f;
    }
    EXPECT_EQ(collections::TokenConfigOf(*users, "authToken").duration, 604800);
    EXPECT_GE(collections::TokenConfigOf(*users, "authToken").secret.size(), 30U);
    EXPECT_EQ(collections::IdentityFields(*users), std::vector<std::string>{"email"});
}

TEST_F(IdentityTest, TokensWorkUntilThePasswordChangesOrTheSessionIsRevoked) {
    auto rec = superusers_->Upsert("a@b.co", "password1");
    ASSERT_TRUE(rec);
    const std::string token = Signed(*rec);
    auto who = tokens_->Authenticate(token);
    ASSERT_TRUE(who) << who.error().message;
    EXPECT_TRUE((*who)->superuser);
    EXPECT_EQ((*who)->record.email, "a@b.co");
    EXPECT_FALSE((*who)->session_id.empty());

    // A revoked session is refused at once, though the record is cached.
    ASSERT_TRUE(sessions_->Revoke((*who)->session_id));
    auto revoked = tokens_->Authenticate(token);
    ASSERT_FALSE(revoked);
    EXPECT_EQ(revoked.error().code, ErrorCode::kUnauthorized);

    // A new password (a new tokenKey) kills the tokens of every other session too.
    const std::string second = Signed(*rec);
    ASSERT_TRUE(tokens_->Authenticate(second));
    ASSERT_TRUE(superusers_->Upsert("a@b.co", "password2"));
    tokens_->Forget(rec->collection_id, rec->id);
    EXPECT_FALSE(tokens_->Authenticate(second));
    EXPECT_FALSE(tokens_->Authenticate(second, /*fresh=*/true));
}

TEST_F(IdentityTest, ForgedExpiredForeignAndSessionlessTokensAreRefused) {
    auto rec = superusers_->Upsert("a@b.co", "password1");
    ASSERT_TRUE(rec);
    const std::string token = Signed(*rec);
    const std::string secret =
        collections::TokenConfigOf(*collections_->Current()->Find("_superusers"), "authToken").secret;
    auto parsed = auth::ParseToken(token);
    ASSERT_TRUE(parsed);
    auth::TokenClaims c = parsed->claims;

    EXPECT_FALSE(tokens_->Authenticate(auth::SignToken(c, rec->token_key)));  // without the collection secret
    EXPECT_TRUE(tokens_->Authenticate(auth::SignToken(c, rec->token_key + secret)));
    auth::TokenClaims no_session = c;
    no_session.session_id.clear();
    EXPECT_FALSE(tokens_->Authenticate(auth::SignToken(no_session, rec->token_key + secret)));
    auth::TokenClaims other_session = c;
    other_session.session_id = "nosuchsession000000000000";
    EXPECT_FALSE(tokens_->Authenticate(auth::SignToken(other_session, rec->token_key + secret)));
    auth::TokenClaims file = c;
    file.type = "file";
    EXPECT_FALSE(tokens_->Authenticate(auth::SignToken(file, rec->token_key + secret)));
    // The same id claimed for another auth collection.
    auth::TokenClaims users = c;
    users.collection_id = "_pb_users_auth_";
    EXPECT_FALSE(tokens_->Authenticate(auth::SignToken(users, rec->token_key + secret)));
    auth::TokenClaims by_name = c;
    by_name.collection_id = "_superusers";
    EXPECT_FALSE(tokens_->Authenticate(auth::SignToken(by_name, rec->token_key + secret)));

    clock_.Advance(std::chrono::hours(25));  // _superusers tokens last a day
    EXPECT_FALSE(tokens_->Authenticate(token));
}

TEST_F(IdentityTest, SessionsListAndRevokeAllButOne) {
    auto rec = superusers_->Upsert("a@b.co", "password1");
    ASSERT_TRUE(rec);
    auto a = sessions_->Open(*rec, "password", "10.0.0.1", "ua-a");
    auto b = sessions_->Open(*rec, "password", "10.0.0.2", "ua-b");
    auto c = sessions_->Open(*rec, "impersonate", "10.0.0.3", "ua-c");
    ASSERT_TRUE(a && b && c);
    auto open = sessions_->List(rec->collection_id, rec->id, false, 100);
    ASSERT_TRUE(open);
    EXPECT_EQ(open->size(), 3U);
    auto n = sessions_->RevokeAll(rec->collection_id, rec->id, b->id);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 2);
    EXPECT_FALSE(*sessions_->Check(a->id, rec->collection_id, rec->id, false));
    EXPECT_TRUE(*sessions_->Check(b->id, rec->collection_id, rec->id, false));
    EXPECT_FALSE(*sessions_->Check(b->id, rec->collection_id, "someoneelse0000", false));
    auto all = sessions_->List(rec->collection_id, rec->id, true, 100);
    ASSERT_TRUE(all);
    EXPECT_EQ(all->size(), 3U);
    EXPECT_EQ(sessions_->Revoke(a->id).error().code, ErrorCode::kNotFound);  // already revoked
}

TEST(Throttle, ClosesAfterFreeAttemptsWithGrowingWaitsAndReopensOnSuccess) {
    Throttle t(Throttle::Options{3, std::chrono::seconds(600), std::chrono::seconds(900)});
    for (int i = 0; i < 3; ++i) {
        EXPECT_FALSE(t.Reserve("k"));  // three free attempts
    }
    EXPECT_FALSE(t.Closed("k"));
    EXPECT_FALSE(t.Reserve("k"));  // the fourth runs and closes the key behind it
    auto wait = t.Closed("k");
    ASSERT_TRUE(wait);
    EXPECT_LE(wait->count(), 2);
    EXPECT_TRUE(t.Reserve("k"));  // refused while closed, and not counted
    EXPECT_FALSE(t.Closed("other"));
    for (int i = 0; i < 10; ++i) {
        EXPECT_FALSE(t.Reserve("shared-ip", 30));  // a key with more room
    }
    EXPECT_FALSE(t.Closed("shared-ip"));
    t.Succeeded("k");
    EXPECT_FALSE(t.Closed("k"));
    EXPECT_FALSE(t.Reserve("k"));
}

// issue 11.7: concurrent attempts are counted before they run, so only the free ones get through.
TEST(Throttle, ConcurrentAttemptsAreCountedBeforeTheyRun) {
    Throttle t(Throttle::Options{5, std::chrono::seconds(900), std::chrono::seconds(900)});
    std::atomic<int> allowed{0};
    std::vector<std::thread> threads;
    for (int i = 0; i < 40; ++i) {
        threads.emplace_back([&] {
            if (!t.Reserve("victim")) {
                ++allowed;
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    EXPECT_EQ(allowed.load(), 6);  // five free, and one that closes the key
}

// issue 11.10: an attacker's own successful sign-ins give back only their own attempts on the IP key.
TEST(Throttle, RefundDoesNotResetAnIpKey) {
    Throttle t(Throttle::Options{5, std::chrono::seconds(900), std::chrono::seconds(900)});
    int refused = 0;
    for (int i = 0; i < 20; ++i) {
        if (t.Reserve("ip", 10)) {
            ++refused;  // a guess
        }
        if (!t.Reserve("ip", 10)) {
            t.Refund("ip");  // the attacker's own valid sign-in
        }
    }
    EXPECT_GT(refused, 0);
    EXPECT_TRUE(t.Closed("ip"));
}

}  // namespace
}  // namespace basalt::identity
