// SPDX-License-Identifier: MIT
#include "jobs/cron.hpp"

#include <ctime>

#include <gtest/gtest.h>

namespace basalt::jobs {
namespace {

SystemTime At(int year, int mon, int day, int hour, int min) {
    std::tm tm{};
    tm.tm_year = year - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = day;
    tm.tm_hour = hour;
    tm.tm_min = min;
    return std::chrono::system_clock::from_time_t(timegm(&tm));
}

SystemTime NextOf(const char* expr, SystemTime from) {
    auto s = Schedule::Parse(expr);
    EXPECT_TRUE(s) << expr;
    auto n = s->Next(from);
    EXPECT_TRUE(n) << expr;
    return n.value_or(SystemTime{});
}

TEST(Cron, NextTimes) {
    const SystemTime t = At(2026, 11, 28, 6, 14);  // a Saturday
    EXPECT_EQ(NextOf("* * * * *", t), At(2026, 11, 28, 6, 15));
    EXPECT_EQ(NextOf("*/15 * * * *", t), At(2026, 11, 28, 6, 15));
    EXPECT_EQ(NextOf("0 * * * *", t), At(2026, 11, 28, 7, 0));
    EXPECT_EQ(NextOf("@hourly", t), At(2026, 11, 28, 7, 0));
    EXPECT_EQ(NextOf("@daily", t), At(2026, 11, 29, 0, 0));
    EXPECT_EQ(NextOf("@weekly", t), At(2026, 11, 29, 0, 0)) << "Sunday";
    EXPECT_EQ(NextOf("@monthly", t), At(2026, 12, 1, 0, 0));
    EXPECT_EQ(NextOf("@yearly", t), At(2027, 1, 1, 0, 0));
    EXPECT_EQ(NextOf("30 9 * * 1-5", t), At(2026, 11, 30, 9, 30)) << "the next weekday";
    EXPECT_EQ(NextOf("0 0 29 2 *", t), At(2028, 2, 29, 0, 0)) << "leap day";
    EXPECT_EQ(NextOf("5,10 6 28 11 *", t), At(2027, 11, 28, 6, 5));
    EXPECT_EQ(NextOf("0 12 * * 7", t), At(2026, 11, 29, 12, 0)) << "7 is Sunday too";
    EXPECT_EQ(NextOf("10-20/5 6 * * *", t), At(2026, 11, 28, 6, 15));
    EXPECT_EQ(NextOf("* * * * *", At(2026, 12, 31, 23, 59)), At(2027, 1, 1, 0, 0));
}

TEST(Cron, NeverMatchingSchedulesEnd) {
    auto s = Schedule::Parse("0 0 30 2 *");
    ASSERT_TRUE(s);
    EXPECT_FALSE(s->Next(At(2026, 1, 1, 0, 0)).has_value());
}

TEST(Cron, RejectsMalformedExpressions) {
    for (const char* bad :
         {"",
          "* * * *",
          "* * * * * *",
          "60 * * * *",
          "* 24 * * *",
          "* * 0 * *",
          "* * * 13 *",
          "* * * * 8",
          "*/0 * * * *",
          "5-1 * * * *",
          "a * * * *",
          "1,,2 * * * *",
          "@often",
          "-1 * * * *",
          "1- * * * *",
          "*/ * * * *",
          "9999 * * * *"}) {
        EXPECT_FALSE(Schedule::Parse(bad)) << "'" << bad << "'";
    }
}

TEST(Cron, Matches) {
    auto s = Schedule::Parse("*/10 6 * * 6");
    ASSERT_TRUE(s);
    EXPECT_TRUE(s->Matches(At(2026, 11, 28, 6, 20)));
    EXPECT_FALSE(s->Matches(At(2026, 11, 28, 6, 21)));
    EXPECT_FALSE(s->Matches(At(2026, 11, 29, 6, 20)));
}

}  // namespace
}  // namespace basalt::jobs
