// SPDX-License-Identifier: MIT
// The restore swap and its journal: a completed swap finishes or rolls back, and a crash at any
// step (simulated by the state a crash would leave) gives the old data back at the next open.
#include "backups/restore.hpp"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace basalt::backups {
namespace {

namespace fs = std::filesystem;

std::string Read(const fs::path& p) {
    std::ifstream in(p);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void Write(const fs::path& p, const std::string& text) {
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
}

class RestoreSwapTest : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::temp_directory_path() /
               ("basalt-restore-" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "-" +
                ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(dir_);
        Write(dir_ / "data.db", "old db");
        Write(dir_ / "storage" / "c" / "r" / "f.txt", "old file");
        Write(dir_ / "backups" / "keep.zip", "a backup");
        staged_.dir = dir_ / ".tmp" / "restore-staged1";
        staged_.source = "snap.zip";
        Write(staged_.dir / "data.db", "new db");
        Write(staged_.dir / "auxiliary.db", "new logs");
        Write(staged_.dir / "storage" / "c" / "r" / "g.txt", "new file");
    }
    void TearDown() override { fs::remove_all(dir_); }

    // The journal as a crash in `state` would leave it.
    void Journal(const std::string& state) {
        std::ofstream(dir_ / ".tmp" / "restore.journal") << state << "\nrestore-staged1\nrestore-old-crash\n";
    }
    void ExpectOldData() {
        EXPECT_EQ(Read(dir_ / "data.db"), "old db");
        EXPECT_EQ(Read(dir_ / "storage" / "c" / "r" / "f.txt"), "old file");
        EXPECT_FALSE(fs::exists(dir_ / "storage" / "c" / "r" / "g.txt"));
        EXPECT_FALSE(fs::exists(dir_ / "auxiliary.db"));
        EXPECT_FALSE(fs::exists(dir_ / ".tmp" / "restore.journal"));
        EXPECT_EQ(Read(dir_ / "backups" / "keep.zip"), "a backup");
    }

    fs::path dir_;
    StagedRestore staged_;
};

TEST_F(RestoreSwapTest, ASwapPutsTheRestoredDataInPlaceAndFinishingRemovesTheOld) {
    ASSERT_TRUE(SwapIn(dir_, staged_));
    EXPECT_EQ(Read(dir_ / "data.db"), "new db");
    EXPECT_EQ(Read(dir_ / "auxiliary.db"), "new logs");
    EXPECT_EQ(Read(dir_ / "storage" / "c" / "r" / "g.txt"), "new file");
    EXPECT_FALSE(fs::exists(dir_ / "storage" / "c" / "r" / "f.txt"));
    EXPECT_EQ(Read(dir_ / "backups" / "keep.zip"), "a backup");  // backups are never part of it
    EXPECT_EQ(RecoverRestore(dir_), RestoreState::kSwapped);     // awaits its first open
    FinishRestore(dir_);
    EXPECT_EQ(RecoverRestore(dir_), RestoreState::kNone);
    for (const auto& entry : fs::directory_iterator(dir_ / ".tmp")) {
        EXPECT_EQ(entry.path().filename(), "restore.lock") << entry.path();
    }
}

TEST_F(RestoreSwapTest, ARestoreThatDoesNotOpenIsRolledBack) {
    ASSERT_TRUE(SwapIn(dir_, staged_));
    ASSERT_TRUE(RollBackRestore(dir_));
    ExpectOldData();
    EXPECT_EQ(RecoverRestore(dir_), RestoreState::kNone);
}

TEST_F(RestoreSwapTest, ACrashWhileTheOldDataMovesOutGivesItBack) {
    // data.db had moved to the old folder, storage not yet.
    fs::create_directories(dir_ / ".tmp" / "restore-old-crash");
    fs::rename(dir_ / "data.db", dir_ / ".tmp" / "restore-old-crash" / "data.db");
    Journal("moving-out");
    EXPECT_EQ(RecoverRestore(dir_), RestoreState::kNone);
    ExpectOldData();
}

TEST_F(RestoreSwapTest, ACrashWhileTheRestoredDataMovesInGivesTheOldBack) {
    // All of the old data had moved out; data.db and auxiliary.db of the restore had moved in.
    fs::create_directories(dir_ / ".tmp" / "restore-old-crash");
    fs::rename(dir_ / "data.db", dir_ / ".tmp" / "restore-old-crash" / "data.db");
    fs::rename(dir_ / "storage", dir_ / ".tmp" / "restore-old-crash" / "storage");
    fs::rename(staged_.dir / "data.db", dir_ / "data.db");
    fs::rename(staged_.dir / "auxiliary.db", dir_ / "auxiliary.db");
    Journal("moving-in");
    EXPECT_EQ(RecoverRestore(dir_), RestoreState::kNone);
    ExpectOldData();
}

TEST_F(RestoreSwapTest, AJournalNamingFoldersOutsideTmpIsIgnored) {
    std::ofstream(dir_ / ".tmp" / "restore.journal") << "moving-in\nrestore-../../x\nrestore-old-../../../etc\n";
    EXPECT_EQ(RecoverRestore(dir_), RestoreState::kNone);
    EXPECT_EQ(Read(dir_ / "data.db"), "old db");
    EXPECT_FALSE(fs::exists(dir_ / ".tmp" / "restore.journal"));
}

TEST_F(RestoreSwapTest, LeftoverStagingFoldersAreRemovedWhenNoSwapWaits) {
    RemoveRestoreLeftovers(dir_);
    EXPECT_FALSE(fs::exists(staged_.dir));
    EXPECT_EQ(Read(dir_ / "data.db"), "old db");
}

// ExtractZip's bounds, on archives libzip itself wrote (the API tests try forged ones).
class ExtractLimitsTest : public RestoreSwapTest {
protected:
    fs::path Zip(int files) {
        std::vector<ArchiveEntry> entries;
        for (int i = 0; i < files; ++i) {
            const fs::path src = dir_ / "src" / ("f" + std::to_string(i));
            Write(src, std::string(1000, 'x'));
            entries.push_back({src, "storage/c/r/f" + std::to_string(i)});
        }
        const fs::path zip = dir_ / "a.zip";
        EXPECT_TRUE(WriteZip(zip, entries));
        return zip;
    }
};

TEST_F(ExtractLimitsTest, ArchivesBeyondTheByteOrEntryLimitAreRefusedBeforeAnythingIsWritten) {
    const fs::path zip = Zip(3);
    const fs::path out = dir_ / "out";
    fs::create_directories(out);
    ExtractLimits bytes;
    bytes.max_bytes = 2500;  // three files of 1,000 bytes
    auto r = ExtractZip(zip, out, bytes);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("inflates to more than 2500 bytes"), std::string::npos) << r.error().message;
    EXPECT_TRUE(fs::is_empty(out));
    ExtractLimits entries;
    entries.max_entries = 2;
    r = ExtractZip(zip, out, entries);
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("more than 2 entries"), std::string::npos) << r.error().message;
    EXPECT_TRUE(fs::is_empty(out));
}

TEST_F(ExtractLimitsTest, WithinTheLimitsEveryFileIsWrittenAndProgressReachesTheTotal) {
    const fs::path zip = Zip(3);
    const fs::path out = dir_ / "out";
    fs::create_directories(out);
    ExtractLimits limits;
    limits.max_bytes = 3000;
    std::uint64_t last_done = 0;
    std::uint64_t last_total = 0;
    auto r = ExtractZip(zip, out, limits, [&](std::uint64_t done, std::uint64_t total) {
        last_done = done;
        last_total = total;
    });
    ASSERT_TRUE(r) << r.error().message;
    EXPECT_EQ(r->files, 3U);
    EXPECT_EQ(r->bytes, 3000U);
    EXPECT_EQ(last_done, 3000U);
    EXPECT_EQ(last_total, 3000U);
    EXPECT_EQ(Read(out / "storage" / "c" / "r" / "f2"), std::string(1000, 'x'));
}

}  // namespace
}  // namespace basalt::backups
