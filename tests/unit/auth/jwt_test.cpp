// SPDX-License-Identifier: MIT
#include "auth/jwt.hpp"

#include <gtest/gtest.h>

#include "auth/password.hpp"
#include "core/base64.hpp"

namespace basalt::auth {
namespace {

TokenClaims Claims() {
    TokenClaims c;
    c.type = "auth";
    c.id = "abcdefghijklmno";
    c.collection_id = "pbc_3142635823";
    c.exp = 1900000000;
    c.refreshable = true;
    return c;
}

TEST(Jwt, SignsAndVerifies) {
    const std::string token = SignToken(Claims(), "key");
    auto parsed = ParseToken(token);
    ASSERT_TRUE(parsed) << parsed.error().message;
    EXPECT_EQ(parsed->claims.id, "abcdefghijklmno");
    EXPECT_EQ(parsed->claims.collection_id, "pbc_3142635823");
    EXPECT_EQ(parsed->claims.exp, 1900000000);
    EXPECT_TRUE(parsed->claims.refreshable);
    EXPECT_TRUE(VerifyTokenSignature(*parsed, "key"));
    EXPECT_FALSE(VerifyTokenSignature(*parsed, "other key"));
}

TEST(Jwt, PayloadHasPocketBaseClaimsOnly) {
    const std::string token = SignToken(Claims(), "key");
    const auto first = token.find('.');
    const auto second = token.find('.', first + 1);
    auto payload = Base64UrlDecode(token.substr(first + 1, second - first - 1));
    ASSERT_TRUE(payload);
    EXPECT_EQ(
        *payload,
        R"({"collectionId":"pbc_3142635823","exp":1900000000,"id":"abcdefghijklmno","refreshable":true,"type":"auth"})"
    );
}

TEST(Jwt, RefusesAlgNoneAndOtherAlgorithms) {
    const std::string payload = Base64UrlEncode(R"({"type":"auth","id":"x","collectionId":"y","exp":1900000000})");
    for (const char* header : {R"({"alg":"none","typ":"JWT"})", R"({"alg":"HS512"})", R"({"alg":"hs256"})", R"({})"}) {
        const std::string token = Base64UrlEncode(header) + "." + payload + "." + Base64UrlEncode(std::string(32, 'x'));
        EXPECT_FALSE(ParseToken(token)) << header;
    }
    // alg=none with an empty signature.
    EXPECT_FALSE(ParseToken(Base64UrlEncode(R"({"alg":"none"})") + "." + payload + "."));
}

TEST(Jwt, RefusesTamperingAndGarbage) {
    std::string token = SignToken(Claims(), "key");
    const auto first = token.find('.');
    const auto second = token.find('.', first + 1);
    TokenClaims forged = Claims();
    forged.id = "someoneelse0000";
    const std::string other = SignToken(forged, "attacker");
    // Their payload with our signature.
    const std::string spliced = token.substr(0, first) +
                                other.substr(other.find('.'), other.rfind('.') - other.find('.')) +
                                token.substr(second);
    auto parsed = ParseToken(spliced);
    ASSERT_TRUE(parsed);
    EXPECT_FALSE(VerifyTokenSignature(*parsed, "key"));

    for (std::string bad :
         {std::string(""),
          std::string("a.b"),
          std::string("a.b.c.d"),
          std::string("...."),
          std::string(5000, 'a'),
          std::string("!!!.???.***")}) {
        EXPECT_FALSE(ParseToken(bad)) << bad.substr(0, 20);
    }
    // Claims of the wrong types.
    const std::string h = Base64UrlEncode(R"({"alg":"HS256"})");
    EXPECT_FALSE(ParseToken(
        h + "." + Base64UrlEncode(R"({"type":1,"id":"x","collectionId":"y","exp":1})") + "." +
        Base64UrlEncode(std::string(32, 'x'))
    ));
    EXPECT_FALSE(ParseToken(
        h + "." + Base64UrlEncode(R"({"type":"auth","id":"x","collectionId":"y"})") + "." +
        Base64UrlEncode(std::string(32, 'x'))
    ));
}

TEST(Password, HashesAndVerifiesWithArgon2id) {
    auto hash = HashPassword("correct horse");
    ASSERT_TRUE(hash);
    EXPECT_EQ(hash->rfind("$argon2id$", 0), 0U);
    EXPECT_TRUE(VerifyPassword(*hash, "correct horse"));
    EXPECT_FALSE(VerifyPassword(*hash, "correct horsE"));
    EXPECT_FALSE(VerifyPassword("", "x"));
    EXPECT_FALSE(VerifyPassword("not a hash", "x"));
    auto again = HashPassword("correct horse");
    ASSERT_TRUE(again);
    EXPECT_NE(*hash, *again);  // salted
}

TEST(Password, ConstantTimeEquals) {
    EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
    EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
    EXPECT_FALSE(ConstantTimeEquals("abc", "abcd"));
}

}  // namespace
}  // namespace basalt::auth
