// SPDX-License-Identifier: MIT
// Range headers of file downloads, as net/http's ServeContent reads one range.
#include <gtest/gtest.h>

#include "api/file_handlers.hpp"

namespace basalt::api {
namespace {

TEST(FileRange, OneRangeIsServedAndEverythingElseIsTheWholeFile) {
    auto r = ParseRange("bytes=0-4", 10);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->first, 0U);
    EXPECT_EQ(r->length, 5U);
    r = ParseRange("bytes=5-", 10);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->first, 5U);
    EXPECT_EQ(r->length, 5U);
    r = ParseRange("bytes=-3", 10);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->first, 7U);
    EXPECT_EQ(r->length, 3U);
    r = ParseRange("bytes=-30", 10);  // more than there is: all of it
    ASSERT_TRUE(r);
    EXPECT_EQ(r->first, 0U);
    EXPECT_EQ(r->length, 10U);
    r = ParseRange("bytes=8-100", 10);  // clipped at the end
    ASSERT_TRUE(r);
    EXPECT_EQ(r->length, 2U);

    for (const char* whole :
         {"",
          "bytes",
          "bytes=",
          "items=0-1",
          "bytes=0-1,3-4",
          "bytes=5-2",
          "bytes=a-b",
          "bytes=99999999999999999999-"}) {
        EXPECT_FALSE(ParseRange(whole, 10)) << whole;
    }
}

TEST(FileRange, ARangePastTheEndIsUnsatisfiable) {
    for (const char* past : {"bytes=10-", "bytes=50-60", "bytes=-0"}) {
        auto r = ParseRange(past, 10);
        ASSERT_TRUE(r) << past;
        EXPECT_FALSE(r->satisfiable) << past;
    }
    auto empty = ParseRange("bytes=0-", 0);
    ASSERT_TRUE(empty);
    EXPECT_FALSE(empty->satisfiable);
}

}  // namespace
}  // namespace basalt::api
