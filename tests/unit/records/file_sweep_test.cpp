// SPDX-License-Identifier: MIT
// The orphaned-file sweep over a real SQLite database and a real storage folder: files with real
// modification times (set back to make them older than the grace period).
#include "records/file_sweep.hpp"

#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "support/system_database.hpp"

namespace basalt::records {
namespace {

namespace fs = std::filesystem;
using std::chrono::hours;
using std::chrono::minutes;

class FileSweepTest : public testing::SystemCollectionsTest {
protected:
    void SetUp() override {
        SystemCollectionsTest::SetUp();
        ASSERT_FALSE(HasFatalFailure());
        CreateCollection(R"({
            "name": "docs",
            "fields": [
                {"name": "title", "type": "text"},
                {"name": "file", "type": "file", "maxSelect": 1},
                {"name": "files", "type": "file", "maxSelect": 5}
            ]
        })");
        ASSERT_FALSE(HasFatalFailure());
        cid_ = collections_->Current()->Find("docs")->id;
        root_ = dir_.Path() / "storage";
        auto s = storage::OpenLocal(root_);
        ASSERT_TRUE(s) << s.error().message;
        store_ = std::move(*s);
    }

    // A stored file (with its .attrs side file) last modified `age` ago.
    void Put(const std::string& key, const std::string& bytes, std::chrono::seconds age = hours(2)) {
        auto up = store_->Create(key, "text/plain");
        ASSERT_TRUE(up) << key << ": " << up.error().message;
        ASSERT_TRUE((*up)->Write(bytes));
        ASSERT_TRUE((*up)->Commit());
        const auto when = fs::file_time_type::clock::now() - age;
        fs::last_write_time(root_ / key, when);
        fs::last_write_time(root_ / (key + ".attrs"), when);
    }

    void Row(const std::string& id, const std::string& file, const std::string& files) {
        Exec("INSERT INTO docs (id, title, file, files) VALUES (?, 't', ?, ?)", {id, file, files});
    }

    bool Has(const std::string& key) const { return fs::exists(fs::symlink_status(root_ / key)); }

    SweepCounts Run(SweepOptions options = {}) {
        options.on_removed = [this](std::string_view key, std::uint64_t) {
            removed_.emplace_back(key);
        };
        auto r = SweepOrphanedFiles(Db(), *collections_->Current(), *store_, std::chrono::system_clock::now(), options);
        EXPECT_TRUE(r) << r.error().message;
        return r ? *r : SweepCounts{};
    }

    std::string cid_;
    fs::path root_;
    std::unique_ptr<storage::Storage> store_;
    std::vector<std::string> removed_;
};

TEST_F(FileSweepTest, RemovesTheFolderOfARecordThatIsGone) {
    Put(cid_ + "/gone1234567890a/a_x.txt", "12345");
    Put(cid_ + "/gone1234567890a/thumbs_a_x.txt/100x100_a_x.txt", "123");
    const SweepCounts n = Run();
    EXPECT_EQ(n.folders, 1U);
    EXPECT_EQ(n.files, 2U);
    EXPECT_EQ(n.bytes, 8U);
    EXPECT_EQ(n.skipped, 0U);
    EXPECT_FALSE(Has(cid_ + "/gone1234567890a"));
    EXPECT_EQ(
        removed_,
        (std::vector<std::string>{
            cid_ + "/gone1234567890a/a_x.txt", cid_ + "/gone1234567890a/thumbs_a_x.txt/100x100_a_x.txt"})
    );
    // Nothing left to do the second time.
    removed_.clear();
    const SweepCounts again = Run();
    EXPECT_EQ(again.files, 0U);
    EXPECT_TRUE(removed_.empty());
}

TEST_F(FileSweepTest, RemovesWhatALiveRecordNoLongerNamesWithItsSideFileAndThumbs) {
    Row("live12345678901", "keep.txt", R"(["m1.txt","m2.txt"])");
    const std::string r = cid_ + "/live12345678901/";
    Put(r + "keep.txt", "k");
    Put(r + "thumbs_keep.txt/100x100_keep.txt", "kt");
    Put(r + "m1.txt", "m1");
    Put(r + "m2.txt", "m2");
    Put(r + "dropped.txt", "dropped");
    Put(r + "thumbs_dropped.txt/100x100_dropped.txt", "dt");
    Put(r + "thumbs_dropped.txt/0x50_dropped.txt", "dt2");
    const SweepCounts n = Run();
    EXPECT_EQ(n.folders, 0U);
    EXPECT_EQ(n.files, 3U);
    EXPECT_EQ(n.bytes, 12U);
    EXPECT_FALSE(Has(r + "dropped.txt"));
    EXPECT_FALSE(Has(r + "dropped.txt.attrs"));
    EXPECT_FALSE(Has(r + "thumbs_dropped.txt"));
    // Every name of the single and the multiple field stays, and the thumbs of a kept file.
    for (const char* kept : {"keep.txt", "keep.txt.attrs", "thumbs_keep.txt/100x100_keep.txt", "m1.txt", "m2.txt"}) {
        EXPECT_TRUE(Has(r + kept)) << kept;
    }
}

TEST_F(FileSweepTest, KeepsFilesYoungerThanTheGrace) {
    Row("live12345678901", "", "[]");
    Put(cid_ + "/live12345678901/staged.txt", "s", minutes(5));  // an update still in flight
    Put(cid_ + "/new123456789012/staged.txt", "s", minutes(5));  // a create still in flight
    Put(cid_ + "/half12345678901/old.txt", "old");
    Put(cid_ + "/half12345678901/young.txt", "y", minutes(59));
    const SweepCounts n = Run();
    EXPECT_EQ(n.folders, 0U);  // a folder holding a young file is not removed whole
    EXPECT_EQ(n.files, 1U);
    EXPECT_EQ(removed_, std::vector<std::string>{cid_ + "/half12345678901/old.txt"});
    EXPECT_TRUE(Has(cid_ + "/live12345678901/staged.txt"));
    EXPECT_TRUE(Has(cid_ + "/new123456789012/staged.txt"));
    EXPECT_TRUE(Has(cid_ + "/half12345678901/young.txt"));

    // With a shorter grace they are old enough.
    SweepOptions options;
    options.grace = minutes(1);
    const SweepCounts later = Run(options);
    EXPECT_EQ(later.files, 3U);
    EXPECT_EQ(later.folders, 2U);
    EXPECT_FALSE(Has(cid_ + "/live12345678901"));  // its last file went, and the folder with it
    EXPECT_FALSE(Has(cid_ + "/new123456789012"));
    EXPECT_FALSE(Has(cid_ + "/half12345678901"));
}

TEST_F(FileSweepTest, RemovesTheFoldersOfADeletedCollection) {
    Put("pbc_1234567890/rec123456789012/a.txt", "aaa");
    Put("pbc_1234567890/rec123456789013/b.txt", "bb");
    // Folders are matched by collection id only: one named like a collection is not its folder.
    Put("docs/rec123456789012/c.txt", "c");
    Row("live12345678901", "kept.txt", "[]");
    Put(cid_ + "/live12345678901/kept.txt", "k");
    const SweepCounts n = Run();
    EXPECT_EQ(n.folders, 3U);
    EXPECT_EQ(n.files, 3U);
    EXPECT_EQ(n.bytes, 6U);
    EXPECT_FALSE(Has("pbc_1234567890"));
    EXPECT_FALSE(Has("docs"));
    EXPECT_TRUE(Has(cid_ + "/live12345678901/kept.txt"));
}

TEST_F(FileSweepTest, LooksRecordsUpInBatches) {
    // Seven record folders, every other one live, read two ids per query.
    std::vector<std::string> live;
    for (int i = 0; i < 7; ++i) {
        const std::string id = "rec12345678900" + std::to_string(i);
        Put(cid_ + "/" + id + "/f.txt", "x");
        if (i % 2 == 0) {
            Row(id, "f.txt", "[]");
            live.push_back(id);
        }
    }
    SweepOptions options;
    options.batch = 2;
    const SweepCounts n = Run(options);
    EXPECT_EQ(n.folders, 3U);
    EXPECT_EQ(n.files, 3U);
    for (int i = 0; i < 7; ++i) {
        const std::string id = "rec12345678900" + std::to_string(i);
        EXPECT_EQ(Has(cid_ + "/" + id + "/f.txt"), i % 2 == 0) << id;
    }
}

TEST_F(FileSweepTest, NeverFollowsSymlinks) {
    const fs::path outside = dir_.Path() / "outside";
    fs::create_directories(outside / "sub");
    std::ofstream(outside / "theirs.txt") << "not ours";
    std::ofstream(outside / "sub" / "deep.txt") << "not ours either";
    const auto old = fs::file_time_type::clock::now() - hours(3);
    fs::last_write_time(outside / "theirs.txt", old);
    fs::last_write_time(outside / "sub" / "deep.txt", old);
    // A linked collection folder, a linked record folder, a linked file in a dead record's folder
    // and in a live record's folder.
    fs::create_directory_symlink(outside, root_ / "pbc_linked");
    fs::create_directories(root_ / cid_);
    fs::create_directory_symlink(outside / "sub", root_ / cid_ / "linkedrecord123");
    Put(cid_ + "/gone1234567890a/real.txt", "r");
    fs::create_symlink(outside / "theirs.txt", root_ / cid_ / "gone1234567890a" / "link.txt");
    Row("live12345678901", "", "[]");
    Put(cid_ + "/live12345678901/real.txt", "r");
    fs::create_symlink(outside / "theirs.txt", root_ / cid_ / "live12345678901" / "link.txt");

    const SweepCounts n = Run();
    EXPECT_EQ(n.files, 2U);  // the two real files
    EXPECT_TRUE(fs::exists(outside / "theirs.txt"));
    EXPECT_TRUE(fs::exists(outside / "sub" / "deep.txt"));
    EXPECT_TRUE(Has("pbc_linked"));
    EXPECT_TRUE(Has(cid_ + "/linkedrecord123"));
    EXPECT_FALSE(Has(cid_ + "/gone1234567890a"));  // removed whole: the link itself, not its target
    EXPECT_TRUE(Has(cid_ + "/live12345678901/link.txt"));
}

TEST_F(FileSweepTest, TheSweeperRunsInTheBackground) {
    Put(cid_ + "/gone1234567890a/a.txt", "a");
    SweepOptions options;
    options.grace = std::chrono::seconds(0);
    const SystemClock real;  // file times are real ones
    FileSweeper sweeper(Db(), *collections_, *store_, real, std::chrono::milliseconds(10), options);
    sweeper.Start();
    for (int i = 0; i < 500 && sweeper.Sweeps() == 0; ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    sweeper.Stop();
    EXPECT_GE(sweeper.Sweeps(), 1U);
    EXPECT_FALSE(Has(cid_ + "/gone1234567890a"));
}

}  // namespace
}  // namespace basalt::records
