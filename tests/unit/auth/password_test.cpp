// SPDX-License-Identifier: MIT
#include "auth/password.hpp"

#include <gtest/gtest.h>

namespace basalt::auth {
namespace {

// bcrypt of "imported-pass-1" as Go's bcrypt (PocketBase) writes it: $2a$, cost 10; made with
// libxcrypt's crypt() and the salt "abcdefghijklmnopqrstuv".
constexpr const char* kBcrypt = "$2a$10$abcdefghijklmnopqrstuuX/sm/HX.CJ5Jh5j7uyqiffnTl6O4vQS";

TEST(Password, VerifiesAnImportedBcryptHash) {
    EXPECT_TRUE(VerifyPassword(kBcrypt, "imported-pass-1"));
    EXPECT_FALSE(VerifyPassword(kBcrypt, "imported-pass-2"));
    EXPECT_FALSE(VerifyPassword(kBcrypt, ""));
    EXPECT_TRUE(IsBcryptHash(kBcrypt));
    EXPECT_TRUE(NeedsRehash(kBcrypt));
}

TEST(Password, RefusesMalformedBcryptAndOverlongPasswords) {
    std::string truncated(kBcrypt);
    truncated.pop_back();
    EXPECT_FALSE(IsBcryptHash(truncated));
    EXPECT_FALSE(VerifyPassword(truncated, "imported-pass-1"));
    // bcrypt reads 72 bytes; Go refuses more, so a longer password never matches
    EXPECT_FALSE(VerifyPassword(kBcrypt, "imported-pass-1" + std::string(80, 'x')));
    std::string bad_cost(kBcrypt);
    bad_cost[4] = '9';
    bad_cost[5] = '9';
    EXPECT_FALSE(VerifyPassword(bad_cost, "imported-pass-1"));
}

TEST(Password, Argon2idNeedsNoRehash) {
    auto h = HashPassword("a-new-password");
    ASSERT_TRUE(h);
    EXPECT_FALSE(NeedsRehash(*h));
    EXPECT_FALSE(IsBcryptHash(*h));
    EXPECT_TRUE(VerifyPassword(*h, "a-new-password"));
}

}  // namespace
}  // namespace basalt::auth
