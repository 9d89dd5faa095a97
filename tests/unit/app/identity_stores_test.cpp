// SPDX-License-Identifier: MIT
// The identity stores that own the auth data tables (_otps, _mfas, _totps, _externalAuths) and the
// throttle's keys, against a real database with the system migrations.
#include <gtest/gtest.h>

#include "app/system_migrations.hpp"
#include "auth/totp.hpp"
#include "collections/store.hpp"
#include "db/sqlite/sqlite_database.hpp"
#include "identity/auth_options.hpp"
#include "identity/external_auths.hpp"
#include "identity/mfas.hpp"
#include "identity/otps.hpp"
#include "identity/sessions.hpp"
#include "identity/superusers.hpp"
#include "identity/throttle.hpp"
#include "identity/totps.hpp"
#include "support/fake_clock.hpp"
#include "support/temp_dir.hpp"

namespace basalt::identity {
namespace {

using std::chrono::seconds;

class IdentityStoresTest : public ::testing::Test {
protected:
    void SetUp() override {
        db::SqliteOptions o;
        o.path = (dir_.Path() / "data.db").string();
        auto db = db::OpenSqlite(o);
        ASSERT_TRUE(db);
        db_ = std::move(*db);
        auto applied = db::ApplyMigrations(*db_, app::SystemMigrations());
        ASSERT_TRUE(applied) << applied.error().message;
        collections_ = std::make_unique<collections::CollectionStore>(*db_, clock_);
        ASSERT_TRUE(collections_->Load());
        superusers_ = std::make_unique<identity::SuperuserStore>(*db_, clock_);
        auto a = superusers_->Upsert("a@b.co", "password1");
        auto b = superusers_->Upsert("b@b.co", "password2");
        ASSERT_TRUE(a && b);
        alice_ = *a;
        bob_ = *b;
        collection_ = *collections_->Current()->Find("_superusers");
    }

    std::int64_t Count(const char* table) {
        auto rs = db_->Read(std::string("SELECT COUNT(*) FROM ") + table);
        EXPECT_TRUE(rs);
        return rs ? db::AsInt(rs->rows.at(0).at(0)) : -1;
    }

    std::string CodeNow(const std::string& secret, std::int64_t steps_ahead = 0) {
        return auth::TotpCode(secret, UnixSeconds(clock_.Now()) / 30 + steps_ahead);
    }

    testing::TempDir dir_;
    testing::FakeClock clock_;
    std::unique_ptr<db::Database> db_;
    std::unique_ptr<collections::CollectionStore> collections_;
    std::unique_ptr<identity::SuperuserStore> superusers_;
    auth::AuthRecord alice_;
    auth::AuthRecord bob_;
    schema::Collection collection_;
};

TEST_F(IdentityStoresTest, OtpIsRedeemedOnceWithTheRightCode) {
    OtpStore otps(*db_, clock_);
    ASSERT_TRUE(otps.Add("otp1", collection_, alice_, "123456"));
    auto wrong = otps.Redeem("otp1", collection_, "654321", seconds(300));
    ASSERT_TRUE(wrong);
    EXPECT_FALSE(wrong->has_value());
    auto right = otps.Redeem("otp1", collection_, "123456", seconds(300));
    ASSERT_TRUE(right);
    ASSERT_TRUE(right->has_value());
    EXPECT_EQ((*right)->record_id, alice_.id);
    EXPECT_EQ((*right)->sent_to, "a@b.co");
    auto again = otps.Redeem("otp1", collection_, "123456", seconds(300));
    ASSERT_TRUE(again);
    EXPECT_FALSE(again->has_value());
    EXPECT_EQ(Count("_otps"), 0);
}

TEST_F(IdentityStoresTest, OtpEndsAfterFiveWrongCodesOrWhenExpired) {
    OtpStore otps(*db_, clock_);
    ASSERT_TRUE(otps.Add("otp1", collection_, alice_, "123456"));
    for (int i = 0; i < OtpStore::kMaxAttempts; ++i) {
        ASSERT_TRUE(otps.Redeem("otp1", collection_, "000000", seconds(300)));
    }
    EXPECT_EQ(Count("_otps"), 0);
    auto late = otps.Redeem("otp1", collection_, "123456", seconds(300));
    ASSERT_TRUE(late);
    EXPECT_FALSE(late->has_value());

    ASSERT_TRUE(otps.Add("otp2", collection_, alice_, "123456"));
    clock_.Advance(seconds(301));
    auto expired = otps.Redeem("otp2", collection_, "123456", seconds(300));
    ASSERT_TRUE(expired);
    EXPECT_FALSE(expired->has_value());
}

TEST_F(IdentityStoresTest, MfaNeedsADifferentMethodOfTheSameRecordInTime) {
    MfaStore mfas(*db_, clock_);
    auto id = mfas.Open(collection_, alice_, "password");
    ASSERT_TRUE(id);
    auto of = mfas.RecordOf(*id, collection_);
    ASSERT_TRUE(of);
    EXPECT_EQ(of->value_or(""), alice_.id);

    auto same = mfas.Complete(*id, collection_, alice_, "password", seconds(60));
    ASSERT_FALSE(same);
    EXPECT_EQ(same.error().message, "A different authentication method is required.");
    auto other = mfas.Complete(*id, collection_, bob_, "otp", seconds(60));
    ASSERT_FALSE(other);
    EXPECT_EQ(other.error().message, "Invalid MFA session.");
    EXPECT_TRUE(mfas.Complete(*id, collection_, alice_, "otp", seconds(60)));
    EXPECT_EQ(Count("_mfas"), 0);

    auto late = mfas.Open(collection_, alice_, "password");
    ASSERT_TRUE(late);
    clock_.Advance(seconds(61));
    auto expired = mfas.Complete(*late, collection_, alice_, "otp", seconds(60));
    ASSERT_FALSE(expired);
    EXPECT_EQ(expired.error().message, "Invalid or expired MFA session.");
}

TEST_F(IdentityStoresTest, TotpIsEnabledWithACodeAndEachCodeWorksOnce) {
    TotpStore totps(*db_, clock_);
    auto secret = totps.Begin(collection_, alice_.id);
    ASSERT_TRUE(secret);
    EXPECT_FALSE(*totps.Enabled(collection_.id, alice_.id));
    auto bad = totps.Enable(collection_, alice_.id, "000000x");
    ASSERT_FALSE(bad);
    ASSERT_EQ(bad.error().fields.size(), 1U);
    EXPECT_EQ(bad.error().fields[0].field, "code");

    auto codes = totps.Enable(collection_, alice_.id, CodeNow(*secret));
    ASSERT_TRUE(codes);
    EXPECT_EQ(codes->size(), static_cast<std::size_t>(TotpStore::kRecoveryCodes));
    EXPECT_TRUE(*totps.Enabled(collection_.id, alice_.id));
    EXPECT_FALSE(totps.Begin(collection_, alice_.id));  // disable first

    // The step used to enable is spent; the next one works once.
    EXPECT_FALSE(*totps.Verify(collection_, alice_.id, CodeNow(*secret)));
    clock_.Advance(seconds(30));
    EXPECT_TRUE(*totps.Verify(collection_, alice_.id, CodeNow(*secret)));
    EXPECT_FALSE(*totps.Verify(collection_, alice_.id, CodeNow(*secret)));

    // A recovery code works once.
    EXPECT_TRUE(*totps.Verify(collection_, alice_.id, codes->front()));
    EXPECT_FALSE(*totps.Verify(collection_, alice_.id, codes->front()));
    EXPECT_TRUE(*totps.Verify(collection_, alice_.id, codes->back()));

    EXPECT_FALSE(*totps.Verify(collection_, bob_.id, CodeNow(*secret)));  // bob has none
    ASSERT_TRUE(totps.Remove(collection_, alice_.id));
    EXPECT_FALSE(*totps.Enabled(collection_.id, alice_.id));
}

TEST_F(IdentityStoresTest, EnableWithoutSetupIsRefusedWithoutFieldErrors) {
    TotpStore totps(*db_, clock_);
    auto r = totps.Enable(collection_, alice_.id, "123456");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_TRUE(r.error().fields.empty());
}

TEST_F(IdentityStoresTest, ExternalAuthLinksOneProviderAccountToOneRecord) {
    ExternalAuthStore links(*db_, clock_);
    auto none = links.FindRecord(collection_, "github", "42");
    ASSERT_TRUE(none);
    EXPECT_FALSE(none->has_value());
    ASSERT_TRUE(links.Link(collection_, alice_.id, "github", "42"));
    EXPECT_EQ(links.FindRecord(collection_, "github", "42")->value_or(""), alice_.id);
    EXPECT_FALSE(links.FindRecord(collection_, "google", "42")->has_value());
    ASSERT_TRUE(links.Link(collection_, bob_.id, "github", "42"));  // the link moves
    EXPECT_EQ(links.FindRecord(collection_, "github", "42")->value_or(""), bob_.id);
    EXPECT_EQ(Count("_externalAuths"), 1);
}

TEST_F(IdentityStoresTest, ANewOriginIsNewsOnlyAfterAFirstSession) {
    SessionStore sessions(*db_, clock_);
    EXPECT_FALSE(*sessions.IsNewOrigin(collection_.id, alice_.id, "1.2.3.4", "ua"));
    ASSERT_TRUE(sessions.Open(alice_, "password", "1.2.3.4", "ua"));
    EXPECT_FALSE(*sessions.IsNewOrigin(collection_.id, alice_.id, "1.2.3.4", "ua"));
    EXPECT_TRUE(*sessions.IsNewOrigin(collection_.id, alice_.id, "5.6.7.8", "ua"));
    EXPECT_TRUE(*sessions.IsNewOrigin(collection_.id, alice_.id, "1.2.3.4", "other"));
}

TEST_F(IdentityStoresTest, ThrottleGivesAnIpMoreRoomAndOnlyRefundsIt) {
    Throttle throttle;
    const std::string id_key = ThrottleKey(ThrottleKind::kIdentity, "c", "A@B.co");
    EXPECT_EQ(id_key, ThrottleKey(ThrottleKind::kIdentity, "c", "a@b.co"));
    const std::string ip_key = ThrottleKey(ThrottleKind::kIp, "c", "1.2.3.4");
    // 5 free attempts, then one more runs and closes the identity behind it; the IP stays open.
    for (int i = 0; i < 6; ++i) {
        EXPECT_FALSE(throttle.ReserveAll({id_key, ip_key})) << i;
    }
    EXPECT_TRUE(throttle.ReserveAll({id_key, ip_key}));
    const std::string other = ThrottleKey(ThrottleKind::kIdentity, "c", "other@b.co");
    EXPECT_FALSE(throttle.ReserveAll({other, ip_key}));
    throttle.SucceededAll({other, ip_key});
    EXPECT_FALSE(throttle.Closed(other));
}

TEST_F(IdentityStoresTest, AuthOptionsAreReadOnce) {
    const AuthOptions o = AuthOptionsOf(collection_);
    EXPECT_TRUE(o.password_auth);
    EXPECT_TRUE(o.auth_rule.has_value());
    schema::Collection c = collection_;
    c.options["mfa"] = boost::json::object{{"enabled", true}, {"duration", 900}, {"rule", "verified = true"}};
    c.options["otp"] = "not an object";
    const AuthOptions m = AuthOptionsOf(c);
    EXPECT_TRUE(m.mfa);
    EXPECT_EQ(m.mfa_duration, 900);
    EXPECT_EQ(m.mfa_rule, "verified = true");
    EXPECT_FALSE(m.otp);
    EXPECT_EQ(m.otp_duration, 0);
}

}  // namespace
}  // namespace basalt::identity
