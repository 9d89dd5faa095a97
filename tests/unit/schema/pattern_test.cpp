// SPDX-License-Identifier: MIT
#include "schema/pattern.hpp"

#include <string>

#include <gtest/gtest.h>

namespace basalt::schema {
namespace {

TEST(Pattern, SearchesAnywhereInTheValueAsGoRegexp) {
    EXPECT_TRUE(PatternMatches("[0-9]{3}", "call 555 now"));
    EXPECT_FALSE(PatternMatches("[0-9]{3}", "call 55 now"));
    EXPECT_TRUE(PatternMatches("^[a-z0-9]+$", "abc123"));
    EXPECT_FALSE(PatternMatches("^[a-z0-9]+$", "abc-123"));
    EXPECT_TRUE(PatternMatches("(?i)^hello$", "HeLLo"));  // Go's flag syntax
    EXPECT_TRUE(PatternMatches("^\\p{L}+$", "żółw"));     // UTF-8 classes
}

TEST(Pattern, LongValuesAreMatchedWithoutRecursion) {
    // std::regex overflowed the stack on 100,000 characters of this.
    const std::string ok(2'000'000, 'a');
    EXPECT_TRUE(PatternMatches("^(a|b)*$", ok));
    EXPECT_FALSE(PatternMatches("^(a|b)*$", ok + "c"));
    // nested quantifiers that backtrack exponentially elsewhere are linear here
    EXPECT_FALSE(PatternMatches("^(a+)+$", std::string(100'000, 'a') + "!"));
}

TEST(Pattern, InvalidPatternsAreReportedAndMatchNothing) {
    EXPECT_EQ(PatternError("^[a-z]+$"), std::nullopt);
    EXPECT_NE(PatternError("(unclosed"), std::nullopt);
    EXPECT_NE(PatternError("[z-a]"), std::nullopt);
    EXPECT_NE(PatternError("(a)\\1"), std::nullopt);  // no backreferences, as Go
    EXPECT_FALSE(PatternMatches("(unclosed", "(unclosed"));
}

TEST(Pattern, ManyDistinctPatternsStayCorrectPastTheCacheBound) {
    for (int i = 0; i < 600; ++i) {
        const std::string n = std::to_string(i);
        ASSERT_TRUE(PatternMatches("^" + n + "$", n)) << i;
        ASSERT_FALSE(PatternMatches("^" + n + "$", n + "0")) << i;
    }
}

}  // namespace
}  // namespace basalt::schema
