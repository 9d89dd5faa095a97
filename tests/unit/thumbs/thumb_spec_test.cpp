// SPDX-License-Identifier: MIT
// PocketBase's thumb size format, and the bounds checked before anything is decoded.
#include "thumbs/thumb_spec.hpp"

#include <gtest/gtest.h>

namespace basalt::thumbs {
namespace {

TEST(ThumbSpec, ParsesEachMode) {
    const auto centre = ParseThumbSpec("100x50");
    ASSERT_TRUE(centre);
    EXPECT_EQ(centre->width, 100);
    EXPECT_EQ(centre->height, 50);
    EXPECT_EQ(centre->mode, Mode::kCropCenter);
    EXPECT_EQ(ParseThumbSpec("100x50t")->mode, Mode::kCropTop);
    EXPECT_EQ(ParseThumbSpec("100x50b")->mode, Mode::kCropBottom);
    EXPECT_EQ(ParseThumbSpec("100x50f")->mode, Mode::kFit);
}

TEST(ThumbSpec, AcceptsOneZeroSide) {
    EXPECT_EQ(ParseThumbSpec("0x50")->height, 50);
    EXPECT_EQ(ParseThumbSpec("50x0")->width, 50);
    EXPECT_EQ(ParseThumbSpec("0050x0f")->width, 50);  // \d+ allows leading zeros
}

TEST(ThumbSpec, RejectsWhatPocketBaseRejects) {
    for (const char* bad :
         {"",
          "x",
          "abc",
          "100",
          "100x",
          "x100",
          "0x0",
          "0x0f",
          "-1x5",
          "1x-5",
          "+1x5",
          "100x100c",
          "100x100tt",
          "100X100",
          " 100x100",
          "100x100 ",
          "1.5x2",
          "100x100\n"}) {
        EXPECT_FALSE(ParseThumbSpec(bad)) << bad;
    }
}

TEST(ThumbSpec, RejectsAbsurdSizesWithoutOverflow) {
    EXPECT_TRUE(ParseThumbSpec("10000x10000"));
    EXPECT_FALSE(ParseThumbSpec("10001x1"));
    EXPECT_FALSE(ParseThumbSpec("99999x99999"));
    EXPECT_FALSE(ParseThumbSpec("1x99999999999999999999999999"));
    EXPECT_TRUE(ParseThumbSpec("000000000000000000000001x1"));
}

TEST(ThumbSpec, KnowsTheImageTypes) {
    for (const char* t : {"image/png", "image/jpg", "image/jpeg", "image/gif", "image/webp"}) {
        EXPECT_TRUE(IsThumbable(t)) << t;
    }
    for (const char* t : {"image/svg+xml", "image/bmp", "application/pdf", "", "image/png; x"}) {
        EXPECT_FALSE(IsThumbable(t)) << t;
    }
}

TEST(ThumbSpec, LaysThumbsOutAsPocketBase) {
    EXPECT_EQ(ThumbKey("col/rec", "a.png", "100x100"), "col/rec/thumbs_a.png/100x100_a.png");
}

}  // namespace
}  // namespace basalt::thumbs
