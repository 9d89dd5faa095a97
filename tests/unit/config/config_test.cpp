// SPDX-License-Identifier: MIT
#include "config/config.hpp"

#include <gtest/gtest.h>

namespace basalt::config {
namespace {

TEST(ListenAddress, ParsesHostAndPort) {
    HttpConfig http;
    ASSERT_TRUE(ParseListenAddress("0.0.0.0:9000", http));
    EXPECT_EQ(http.host, "0.0.0.0");
    EXPECT_EQ(http.port, 9000);
    ASSERT_TRUE(ParseListenAddress("[::1]:0", http));
    EXPECT_EQ(http.host, "::1");
    EXPECT_EQ(http.port, 0);
    ASSERT_TRUE(ParseListenAddress(":8091", http));
    EXPECT_EQ(http.host, "0.0.0.0");
}

TEST(ListenAddress, RejectsGarbage) {
    HttpConfig http;
    EXPECT_FALSE(ParseListenAddress("localhost", http));
    EXPECT_FALSE(ParseListenAddress("127.0.0.1:99999", http));
    EXPECT_FALSE(ParseListenAddress("127.0.0.1:80a", http));
    EXPECT_FALSE(ParseListenAddress("127.0.0.1:", http));
}

TEST(Validate, RefusesNonsense) {
    AppConfig c;
    EXPECT_TRUE(Validate(c));
    c.http.max_connections = 0;
    EXPECT_FALSE(Validate(c));
    c = AppConfig{};
    c.http.header_timeout = std::chrono::milliseconds(0);
    EXPECT_FALSE(Validate(c));
    c = AppConfig{};
    c.data_dir.clear();
    EXPECT_FALSE(Validate(c));
}

TEST(Validate, FilesSweepHoursAreZeroToAYear) {
    AppConfig c;
    EXPECT_EQ(c.files.sweep_interval, std::chrono::hours(6));
    c.files.sweep_interval = std::chrono::hours(0);  // off
    EXPECT_TRUE(Validate(c));
    c.files.sweep_interval = std::chrono::hours(24 * 365);
    EXPECT_TRUE(Validate(c));
    c.files.sweep_interval = std::chrono::hours(-1);
    EXPECT_FALSE(Validate(c));
    c.files.sweep_interval = std::chrono::hours(24 * 365 + 1);
    EXPECT_FALSE(Validate(c));
}

}  // namespace
}  // namespace basalt::config
