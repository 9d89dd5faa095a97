// SPDX-License-Identifier: MIT
#include "webhooks/webhooks.hpp"

#include <gtest/gtest.h>

namespace basalt::webhooks {
namespace {

TEST(WebhookSignature, IsHmacSha256OverTimestampDotBody) {
    // Reference: Python's hmac.new(b"whsec_test_secret_123", b'1700000000.{"a":1}', hashlib.sha256).
    EXPECT_EQ(
        Signature("whsec_test_secret_123", "1700000000", R"({"a":1})"),
        "v1=e89dcbfdce3392fb275033fb083d8c81e095a63bf687d9a2cd50e7d5f55e21f6"
    );
    EXPECT_NE(
        Signature("whsec_test_secret_123", "1700000001", R"({"a":1})"),
        Signature("whsec_test_secret_123", "1700000000", R"({"a":1})")
    );
}

}  // namespace
}  // namespace basalt::webhooks
