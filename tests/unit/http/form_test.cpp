// SPDX-License-Identifier: MIT
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "http/request.hpp"

namespace basalt::http {
namespace {

TEST(FormValue, FindsTheFirstDecodedValue) {
    EXPECT_EQ(FormValue("a=1&b=x+y%21&b=2", "b"), "x y!");
    EXPECT_EQ(FormValue("filter%5B%5D=v", "filter[]"), "v");  // keys are decoded before comparing
    EXPECT_EQ(FormValue("flag&x=1", "flag"), "");             // a bare name
    EXPECT_EQ(FormValue("a=1", "b"), std::nullopt);
    EXPECT_EQ(FormValue("", "a"), std::nullopt);
    EXPECT_EQ(FormValue("a=%zz%4", "a"), "%zz%4");  // invalid escapes kept
}

TEST(ForEachFormPair, SkipsEmptyPairsAndStopsWhenAsked) {
    std::vector<std::pair<std::string, std::string>> seen;
    ForEachFormPair("&&a=1&&b&c=3", [&](std::string_view k, std::optional<std::string_view> v) {
        seen.emplace_back(std::string(k), v ? std::string(*v) : std::string("<none>"));
        return k != "b";
    });
    const std::vector<std::pair<std::string, std::string>> want{{"a", "1"}, {"b", "<none>"}};
    EXPECT_EQ(seen, want);
}

}  // namespace
}  // namespace basalt::http
