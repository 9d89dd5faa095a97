// SPDX-License-Identifier: MIT
#include "backups/names.hpp"

#include <chrono>
#include <string>

#include <gtest/gtest.h>

namespace basalt::backups {
namespace {

TEST(BackupNames, ValidNamesArePocketBases) {
    EXPECT_TRUE(ValidName("a.zip"));
    EXPECT_TRUE(ValidName("pb_backup_20240101000000.zip"));
    EXPECT_TRUE(ValidName("night-1_2.zip"));
    EXPECT_TRUE(ValidName(std::string(146, 'a') + ".zip"));  // 150 characters
}

TEST(BackupNames, InvalidNamesAreRefused) {
    EXPECT_FALSE(ValidName(""));
    EXPECT_FALSE(ValidName(".zip"));
    EXPECT_FALSE(ValidName("a.ZIP"));
    EXPECT_FALSE(ValidName("A.zip"));
    EXPECT_FALSE(ValidName("a.zip.tmp"));
    EXPECT_FALSE(ValidName("a b.zip"));
    EXPECT_FALSE(ValidName("../a.zip"));
    EXPECT_FALSE(ValidName("a/b.zip"));
    EXPECT_FALSE(ValidName(".a.zip"));
    EXPECT_FALSE(ValidName("a.b.zip"));
    EXPECT_FALSE(ValidName(std::string("a\0.zip", 6)));
    EXPECT_FALSE(ValidName("!test.zip"));
    EXPECT_FALSE(ValidName(std::string(147, 'a') + ".zip"));  // 151 characters
}

TEST(BackupNames, SnakeCaseAsPocketBasesInflector) {
    EXPECT_EQ(SnakeCase("Acme"), "acme");
    EXPECT_EQ(SnakeCase("My App"), "my_app");
    EXPECT_EQ(SnakeCase("myApp"), "my_app");
    EXPECT_EQ(SnakeCase("HTTPServer"), "httpserver");
    EXPECT_EQ(SnakeCase("  a--b__c  "), "a_b_c");
    EXPECT_EQ(SnakeCase("!!!"), "");
}

TEST(BackupNames, DefaultNameHasTheAppAndTheUtcTime) {
    const auto t = std::chrono::system_clock::time_point(std::chrono::seconds(1704164645));  // 2024-01-02 03:04:05 UTC
    EXPECT_EQ(DefaultName("Acme", t), "pb_backup_acme_20240102030405.zip");
    EXPECT_EQ(DefaultName("", t), "pb_backup_20240102030405.zip");
    const std::string long_name = DefaultName(std::string(80, 'x'), t);
    EXPECT_EQ(long_name, "pb_backup_" + std::string(50, 'x') + "_20240102030405.zip");
    EXPECT_TRUE(ValidName(long_name));
    EXPECT_TRUE(ValidName(DefaultName("Ünïcode App!", t)));
}

TEST(BackupNames, TheSchedulesNamesAreKeysNoClientCanChoose) {
    const auto t = std::chrono::system_clock::time_point(std::chrono::seconds(1704164645));
    EXPECT_EQ(AutoName("My App", t), "@auto_pb_backup_my_app_20240102030405.zip");
    EXPECT_EQ(AutoName("", t), "@auto_pb_backup_20240102030405.zip");
    EXPECT_TRUE(ValidKey(AutoName("My App", t)));
    EXPECT_FALSE(ValidName(AutoName("My App", t)));
    EXPECT_TRUE(ValidKey("a.zip"));
    EXPECT_FALSE(ValidKey("@"));
    EXPECT_FALSE(ValidKey("@@a.zip"));
    EXPECT_FALSE(ValidKey("@../a.zip"));
    EXPECT_FALSE(ValidKey("a@b.zip"));
}

}  // namespace
}  // namespace basalt::backups
