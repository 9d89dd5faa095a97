// SPDX-License-Identifier: MIT
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "api/sql_handler.hpp"

namespace basalt::api {
namespace {

TEST(SqlConsole, CellsAreStringsOrNull) {
    auto text = [](const db::Value& v) {
        return boost::json::serialize(ConsoleCell(v));
    };
    EXPECT_EQ(text(nullptr), "null");
    EXPECT_EQ(text(std::int64_t{-42}), "\"-42\"");
    EXPECT_EQ(text(1.5), "\"1.5\"");
    EXPECT_EQ(text(1e6), "\"1e+06\"");
    EXPECT_EQ(text(std::string("x")), "\"x\"");
}

}  // namespace
}  // namespace basalt::api
