// SPDX-License-Identifier: MIT
#include "auth/totp.hpp"

#include <gtest/gtest.h>

namespace basalt::auth {
namespace {

// RFC 6238 appendix B (SHA1, the 20-byte ASCII secret "12345678901234567890"), 8 digits.
TEST(Totp, MatchesTheRfcTestVectors) {
    const std::string secret = "12345678901234567890";
    EXPECT_EQ(TotpCode(secret, 59 / 30, 8), "94287082");
    EXPECT_EQ(TotpCode(secret, 1111111109 / 30, 8), "07081804");
    EXPECT_EQ(TotpCode(secret, 1234567890 / 30, 8), "89005924");
    EXPECT_EQ(TotpCode(secret, 2000000000 / 30, 8), "69279037");
    EXPECT_EQ(TotpCode(secret, 1111111109 / 30).size(), 6U);
}

TEST(Totp, AcceptsOneStepOfDriftOnly) {
    const std::string secret = NewTotpSecret();
    const std::int64_t t = 1'800'000'000;
    const std::string code = TotpCode(secret, t / 30);
    EXPECT_EQ(TotpMatch(secret, code, t), t / 30);
    EXPECT_EQ(TotpMatch(secret, code, t + 30), t / 30);
    EXPECT_EQ(TotpMatch(secret, code, t - 30), t / 30);
    EXPECT_FALSE(TotpMatch(secret, code, t + 90));
    EXPECT_FALSE(TotpMatch(secret, "12345", t));
}

TEST(Totp, Base32RoundTripsAndRefusesOtherCharacters) {
    const std::string raw = "\x01\x02\xff hello";
    EXPECT_EQ(Base32Decode(Base32Encode(raw)), raw);
    EXPECT_EQ(Base32Encode("foobar"), "MZXW6YTBOI");
    EXPECT_EQ(Base32Decode("mzxw6ytboi======"), "foobar");
    EXPECT_FALSE(Base32Decode("MZXW1"));
    EXPECT_EQ(
        TotpUri("Acme Notes", "a@b.co", "foobar"),
        "otpauth://totp/Acme%20Notes:a@b.co?secret=MZXW6YTBOI&issuer=Acme%20Notes&algorithm=SHA1&digits=6&period=30"
    );
}

}  // namespace
}  // namespace basalt::auth
