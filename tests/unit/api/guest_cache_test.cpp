// SPDX-License-Identifier: MIT
#include "api/guest_cache.hpp"

#include <string>

#include <gtest/gtest.h>

namespace basalt::api {
namespace {

// A gauge's value in the cache's own exposition.
double Gauge(const GuestCache& cache, const std::string& name) {
    obs::Exposition out;
    cache.CollectMetrics(out);
    const std::string& text = out.Text();
    const std::string needle = "\n" + name + " ";
    const auto at = text.find(needle);
    EXPECT_NE(at, std::string::npos) << text;
    if (at == std::string::npos) {
        return -1;
    }
    return std::stod(text.substr(at + needle.size()));
}

TEST(GuestCacheTest, ServesAnAnswerOnlyUnderTheVersionItWasTaggedWith) {
    GuestCache cache(1 << 20);
    cache.Store("GET /a", 7, 7, "body-a");
    ASSERT_NE(cache.Find("GET /a", 7), nullptr);
    EXPECT_EQ(*cache.Find("GET /a", 7), "body-a");
    EXPECT_EQ(cache.Find("GET /a", 8), nullptr);  // a write moved the version
    EXPECT_EQ(cache.Find("GET /b", 7), nullptr);
    cache.Store("GET /a", 8, 8, "body-a2");  // replaced, not added
    EXPECT_EQ(*cache.Find("GET /a", 8), "body-a2");
    EXPECT_EQ(Gauge(cache, "basalt_guest_cache_entries"), 1);
    EXPECT_EQ(Gauge(cache, "basalt_guest_cache_bytes"), std::string("GET /a").size() + std::string("body-a2").size());
}

TEST(GuestCacheTest, KeepsNoAnswerAlreadyStaleNorOneOverTheEntryLimit) {
    GuestCache cache(64 * 1024);  // entries up to 1 KiB (1/64)
    cache.Store("GET /stale", 3, 4, "read before a write committed");
    EXPECT_EQ(cache.Find("GET /stale", 3), nullptr);
    EXPECT_EQ(cache.Find("GET /stale", 4), nullptr);
    cache.Store("GET /big", 4, 4, std::string(2048, 'x'));
    EXPECT_EQ(cache.Find("GET /big", 4), nullptr);
    cache.Store("GET /small", 4, 4, std::string(512, 'x'));
    EXPECT_NE(cache.Find("GET /small", 4), nullptr);
}

TEST(GuestCacheTest, StaysWithinItsBudgetAndMakesRoomForCurrentAnswers) {
    constexpr std::size_t kBudget = 64 * 1024;
    GuestCache cache(kBudget);
    const std::string body(200, 'b');
    for (int i = 0; i < 5000; ++i) {
        cache.Store("GET /old/" + std::to_string(i), 1, 1, body);
        EXPECT_LE(Gauge(cache, "basalt_guest_cache_bytes"), kBudget) << i;
    }
    // Version 2 now: a cache full of stale answers makes room for the current ones.
    for (int i = 0; i < 40; ++i) {
        cache.Store("GET /new/" + std::to_string(i), 2, 2, body);
    }
    for (int i = 0; i < 40; ++i) {
        EXPECT_NE(cache.Find("GET /new/" + std::to_string(i), 2), nullptr) << i;
    }
    EXPECT_LE(Gauge(cache, "basalt_guest_cache_bytes"), kBudget);
}

}  // namespace
}  // namespace basalt::api
