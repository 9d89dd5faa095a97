// SPDX-License-Identifier: MIT
#include "api/rate_limit.hpp"

#include <gtest/gtest.h>

namespace basalt::api {
namespace {

using settings::RateLimitRule;
using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

RateLimitRule Rule(std::string label, std::string audience = "", std::int64_t duration = 10, std::int64_t max = 3) {
    return RateLimitRule{std::move(label), std::move(audience), duration, max};
}

// The lookup over whole-string labels.
const RateLimitRule* FindRateLimitRule(
    const std::vector<RateLimitRule>& rules, const std::vector<std::string>& labels, bool signed_in
) {
    std::vector<RateLimitLabel> parts;
    for (const std::string& l : labels) {
        parts.push_back(RateLimitLabel{{l}});
    }
    return api::FindRateLimitRule(rules, parts, signed_in);
}

TEST(FindRateLimitRule, FollowsPocketBasesOrder) {
    const std::vector<RateLimitRule> rules = {
        Rule("/api/"), Rule("*:create"), Rule("users:create"), Rule("POST /api/batch"), Rule("/api/batch")};
    const std::vector<std::string> create = {
        "users:create", "*:create", "POST /api/collections/users/records", "/api/collections/users/records"};
    EXPECT_EQ(FindRateLimitRule(rules, create, false)->label, "users:create");
    const std::vector<std::string> other = {"posts:create", "*:create", "POST /api/x", "/api/x"};
    EXPECT_EQ(FindRateLimitRule(rules, other, false)->label, "*:create");
    EXPECT_EQ(FindRateLimitRule(rules, {"POST /api/batch", "/api/batch"}, false)->label, "POST /api/batch");
    EXPECT_EQ(FindRateLimitRule(rules, {"GET /api/batch", "/api/batch"}, false)->label, "/api/batch");
    EXPECT_EQ(FindRateLimitRule(rules, {"GET /api/health", "/api/health"}, false)->label, "/api/");
    EXPECT_EQ(FindRateLimitRule(rules, {"GET /_/", "/_/"}, false), nullptr);
}

TEST(FindRateLimitRule, HonoursAudiences) {
    const std::vector<RateLimitRule> rules = {Rule("*:auth", "@guest"), Rule("/api/", "@auth")};
    const std::vector<std::string> labels = {"*:auth", "POST /api/x", "/api/x"};
    EXPECT_EQ(FindRateLimitRule(rules, labels, false)->label, "*:auth");
    EXPECT_EQ(FindRateLimitRule(rules, labels, true)->label, "/api/");
    EXPECT_EQ(FindRateLimitRule({Rule("*:auth", "@auth")}, labels, false), nullptr);
}

TEST(RateLimitLabel, ComparesItsPiecesAsOneString) {
    const RateLimitLabel get{{"GET", " ", "/api/health"}};
    EXPECT_TRUE(get.Equals("GET /api/health"));
    EXPECT_FALSE(get.Equals("GET /api/healt"));
    EXPECT_FALSE(get.Equals("GET /api/health/"));
    EXPECT_FALSE(get.Equals("POST /api/health"));
    const RateLimitLabel path{{"/api/batch"}};
    EXPECT_TRUE(path.SlashedStartsWith("/api/"));
    EXPECT_TRUE(path.SlashedStartsWith("/api/batch/"));  // the label plus its slash
    EXPECT_FALSE(path.SlashedStartsWith("/api/batch/x/"));
    EXPECT_FALSE(path.SlashedStartsWith("/apx/"));
    const RateLimitLabel tag{{"users", ":", "create"}};
    EXPECT_TRUE(tag.Equals("users:create"));
    EXPECT_FALSE(tag.Equals("users:createx"));
    EXPECT_FALSE(tag.SlashedStartsWith("/api/"));
}

TEST(RateLimiter, AllowsTheBurstThenOneRequestPerShare) {
    RateLimiter limiter;
    const auto rule = Rule("r", "", 3, 3);  // one request per second, three at once
    const auto t0 = Clock::now();
    for (int i = 0; i < 3; ++i) {
        const auto d = limiter.Take("k", rule, t0);
        ASSERT_TRUE(d.allowed) << i;
        EXPECT_EQ(d.remaining, 2 - i);
    }
    const auto refused = limiter.Take("k", rule, t0);
    EXPECT_FALSE(refused.allowed);
    EXPECT_EQ(refused.retry_after_seconds, 1);
    EXPECT_FALSE(limiter.Take("k", rule, t0 + milliseconds(900)).allowed);
    EXPECT_TRUE(limiter.Take("k", rule, t0 + milliseconds(1000)).allowed);
    EXPECT_FALSE(limiter.Take("k", rule, t0 + milliseconds(1000)).allowed);
    // No double burst at a window's edge: after a full wait the quota is back, not twice over.
    for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(limiter.Take("k", rule, t0 + milliseconds(10'000)).allowed);
    }
    EXPECT_FALSE(limiter.Take("k", rule, t0 + milliseconds(10'000)).allowed);
    EXPECT_TRUE(limiter.Take("other", rule, t0).allowed);
}

TEST(RateLimiter, AFloodOfDistinctKeysStaysBounded) {
    RateLimiter limiter(64);
    const auto rule = Rule("r", "", 60, 1);
    const auto t0 = Clock::now();
    for (int i = 0; i < 100'000; ++i) {
        limiter.Take("ip:" + std::to_string(i), rule, t0);
    }
    EXPECT_LE(limiter.Size(), 64U);
    limiter.Clear();
    EXPECT_EQ(limiter.Size(), 0U);
}

}  // namespace
}  // namespace basalt::api
