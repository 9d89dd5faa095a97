// SPDX-License-Identifier: MIT
#include "backups/backup_store.hpp"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include "backups/archive.hpp"
#include "backups/names.hpp"

namespace basalt::backups {
namespace {

namespace fs = std::filesystem;

class BackupStoreTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("basalt-backups-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        fs::create_directories(dir_ / "storage" / "c" / "r");
        std::ofstream(dir_ / "storage" / "c" / "r" / "f.txt") << "file";
        sqlite3* db = nullptr;
        ASSERT_EQ(sqlite3_open((dir_ / "data.db").c_str(), &db), SQLITE_OK);
        ASSERT_EQ(
            sqlite3_exec(
                db, "PRAGMA journal_mode=WAL; CREATE TABLE t(x); INSERT INTO t VALUES (42);", nullptr, nullptr, nullptr
            ),
            SQLITE_OK
        );
        db_ = db;  // kept open: the WAL stays, as under a running server
    }
    void TearDown() override {
        sqlite3_close(db_);
        fs::remove_all(dir_);
    }

    fs::path dir_;
    sqlite3* db_ = nullptr;
};

TEST_F(BackupStoreTest, CreateZipsTheDatabaseAndStorage) {
    BackupStore store(dir_);
    auto op = store.Begin("one.zip");
    ASSERT_TRUE(op) << op.error().message;
    EXPECT_EQ(store.Active(), "one.zip");
    ASSERT_TRUE(store.Create(*op));
    auto names = ZipEntryNames(dir_ / "backups" / "one.zip");
    ASSERT_TRUE(names);
    EXPECT_NE(std::find(names->begin(), names->end(), "data.db"), names->end());
    EXPECT_NE(std::find(names->begin(), names->end(), "storage/c/r/f.txt"), names->end());
    EXPECT_EQ(std::find(names->begin(), names->end(), "auxiliary.db"), names->end());
    auto list = store.List();
    ASSERT_TRUE(list);
    ASSERT_EQ(list->size(), 1U);
    EXPECT_EQ(list->front().key, "one.zip");
    EXPECT_TRUE(store.Exists("one.zip"));
}

TEST_F(BackupStoreTest, OneOperationAtATime) {
    BackupStore store(dir_);
    auto first = store.Begin("a.zip");
    ASSERT_TRUE(first);
    auto second = store.Begin("b.zip");
    ASSERT_FALSE(second);
    EXPECT_EQ(second.error().code, ErrorCode::kConflict);
    // Another store on the same directory (another process) is held off by the lock file.
    BackupStore other(dir_);
    auto third = other.Begin("c.zip");
    ASSERT_FALSE(third);
    EXPECT_EQ(third.error().code, ErrorCode::kConflict);
    EXPECT_EQ(store.Delete("a.zip").error().code, ErrorCode::kConflict);
    { auto released = std::move(*first); }
    EXPECT_EQ(store.Active(), "");
    EXPECT_TRUE(other.Begin("c.zip"));
}

TEST_F(BackupStoreTest, UploadOpenAndDelete) {
    BackupStore store(dir_);
    EXPECT_EQ(store.Upload("x.zip", ByteSource::InMemory("not a zip")).error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(store.Upload("../x.zip", ByteSource::InMemory("PK\x05\x06")).error().code, ErrorCode::kInvalidArgument);
    const std::string empty_zip("PK\x05\x06" + std::string(18, '\0'));
    ASSERT_TRUE(store.Upload("x.zip", ByteSource::InMemory(empty_zip)));
    EXPECT_EQ(store.Upload("x.zip", ByteSource::InMemory(empty_zip)).error().code, ErrorCode::kConflict);
    auto file = store.Open("x.zip");
    ASSERT_TRUE(file);
    EXPECT_EQ((*file)->Size(), empty_zip.size());
    EXPECT_EQ(store.Open("../data.db").error().code, ErrorCode::kNotFound);
    EXPECT_EQ(store.Open("missing.zip").error().code, ErrorCode::kNotFound);
    EXPECT_TRUE(store.Delete("x.zip"));
    EXPECT_EQ(store.Delete("x.zip").error().code, ErrorCode::kNotFound);
    EXPECT_EQ(store.Delete("../data.db").error().code, ErrorCode::kNotFound);
    EXPECT_TRUE(fs::exists(dir_ / "data.db"));
}

TEST_F(BackupStoreTest, PruneKeepsTheNewestOfThePrefixOnly) {
    BackupStore store(dir_);
    const std::string empty_zip("PK\x05\x06" + std::string(18, '\0'));
    ASSERT_TRUE(store.Upload("by-hand.zip", ByteSource::InMemory(empty_zip)));
    // Scheduled backups (their '@' names come only from the schedule), with increasing times.
    const std::vector<std::string> autos = {
        "@auto_pb_backup_20240101000000.zip",
        "@auto_pb_backup_20240102000000.zip",
        "@auto_pb_backup_20240103000000.zip"};
    for (std::size_t i = 0; i < autos.size(); ++i) {
        auto op = store.Begin(autos[i]);
        ASSERT_TRUE(op);
        ASSERT_TRUE(store.Create(*op));
        const auto when = fs::file_time_type::clock::now() - std::chrono::hours(10 - i);
        fs::last_write_time(dir_ / "backups" / autos[i], when);
    }
    auto removed = store.Prune(kAutoPrefix, 2);
    ASSERT_TRUE(removed);
    EXPECT_EQ(*removed, std::vector<std::string>{autos[0]});
    EXPECT_FALSE(store.Exists(autos[0]));
    EXPECT_TRUE(store.Exists(autos[1]));
    EXPECT_TRUE(store.Exists(autos[2]));
    EXPECT_TRUE(store.Exists("by-hand.zip"));
    EXPECT_TRUE(store.Prune(kAutoPrefix, 5)->empty());
    EXPECT_EQ(store.Prune(kAutoPrefix, 0)->size(), 2U);
    EXPECT_TRUE(store.Exists("by-hand.zip"));
}

}  // namespace
}  // namespace basalt::backups
