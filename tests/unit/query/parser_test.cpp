// SPDX-License-Identifier: MIT
#include "query/parser.hpp"

#include <gtest/gtest.h>

namespace basalt::query {
namespace {

TEST(FilterParser, BuildsGroupsAndComparisons) {
    auto e = Parse("a = 1 && (b ?~ 'x' || c.d:lower != \"y\")");
    ASSERT_TRUE(e) << e.error().message;
    ASSERT_EQ(e->items.size(), 2U);
    const auto& first = std::get<Comparison>(e->items[0].node);
    EXPECT_EQ(first.left.value, "a");
    EXPECT_EQ(first.op, Op::kEq);
    EXPECT_EQ(first.right.kind, Operand::Kind::kNumber);
    EXPECT_EQ(e->items[1].join, JoinOp::kAnd);
    const auto& group = *std::get<std::unique_ptr<Expr>>(e->items[1].node);
    ASSERT_EQ(group.items.size(), 2U);
    EXPECT_EQ(std::get<Comparison>(group.items[0].node).op, Op::kAnyLike);
    EXPECT_EQ(group.items[1].join, JoinOp::kOr);
    EXPECT_EQ(std::get<Comparison>(group.items[1].node).left.value, "c.d:lower");
}

TEST(FilterParser, ReadsFunctionsWithArguments) {
    auto e = Parse("geoDistance(a.lon, a.lat, 1.5, -2) < 10");
    ASSERT_TRUE(e);
    const auto& c = std::get<Comparison>(e->items[0].node);
    EXPECT_EQ(c.left.kind, Operand::Kind::kFunction);
    ASSERT_EQ(c.left.args.size(), 4U);
    EXPECT_EQ(c.left.args[3].value, "-2");
}

TEST(FilterParser, OnlyTheSameQuoteIsAnEscape) {
    auto e = Parse(R"(a = 'it\'s \n "x"')");
    ASSERT_TRUE(e);
    EXPECT_EQ(std::get<Comparison>(e->items[0].node).right.value, R"(it's \n "x")");
}

TEST(FilterParser, KeywordsAreCaseInsensitive) {
    auto e = Parse("a = NULL && b = True && c = false");
    ASSERT_TRUE(e);
    EXPECT_EQ(std::get<Comparison>(e->items[0].node).right.kind, Operand::Kind::kNull);
    EXPECT_EQ(std::get<Comparison>(e->items[1].node).right.kind, Operand::Kind::kTrue);
    EXPECT_EQ(std::get<Comparison>(e->items[2].node).right.kind, Operand::Kind::kFalse);
}

TEST(FilterParser, ErrorsNameThePosition) {
    auto e = Parse("a = 1 && b");
    ASSERT_FALSE(e);
    EXPECT_EQ(e.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(e.error().message.find("position 11"), std::string::npos) << e.error().message;
}

TEST(FilterParser, EnforcesLimits) {
    ParseLimits small;
    small.max_length = 10;
    EXPECT_FALSE(Parse("a = 'very long text'", small));
    small = ParseLimits{};
    small.max_expressions = 2;
    EXPECT_TRUE(Parse("a = 1 && b = 2", small));
    EXPECT_FALSE(Parse("a = 1 && b = 2 && c = 3", small));
    small = ParseLimits{};
    small.max_depth = 3;
    EXPECT_TRUE(Parse("(((a = 1)))", small));
    EXPECT_FALSE(Parse("((((a = 1))))", small));
}

TEST(FilterParser, EmptyAndCommentOnlyFiltersAreEmpty) {
    for (const char* text : {"", "   ", "// just a comment", "\n\t"}) {
        auto e = Parse(text);
        ASSERT_TRUE(e) << text;
        EXPECT_TRUE(e->items.empty());
    }
}

}  // namespace
}  // namespace basalt::query
