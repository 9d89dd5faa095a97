// SPDX-License-Identifier: MIT
// The local disk store over a real temporary folder.
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "core/random.hpp"
#include "storage/storage.hpp"

namespace basalt::storage {
namespace {

namespace fs = std::filesystem;

class LocalStorageTest : public testing::Test {
protected:
    void SetUp() override {
        root_ = fs::temp_directory_path() / ("basalt-storage-" + SecureRandomString(10, "abcdefghij"));
        auto s = OpenLocal(root_ / "storage");
        ASSERT_TRUE(s) << s.error().message;
        store_ = std::move(*s);
    }
    void TearDown() override {
        store_.reset();
        fs::remove_all(root_);
    }

    void Put(const std::string& key, const std::string& bytes, const std::string& type = "text/plain") {
        auto up = store_->Create(key, type);
        ASSERT_TRUE(up) << up.error().message;
        ASSERT_TRUE((*up)->Write(bytes));
        ASSERT_TRUE((*up)->Commit());
    }

    std::string Get(const std::string& key) {
        auto r = store_->Open(key);
        EXPECT_TRUE(r) << r.error().message;
        if (!r) {
            return {};
        }
        std::string out((*r)->Info().size, '\0');
        auto n = (*r)->ReadAt(0, out);
        EXPECT_TRUE(n && *n == out.size());
        return out;
    }

    std::size_t FilesOnDisk() const {
        std::size_t n = 0;
        for (const auto& e : fs::recursive_directory_iterator(root_)) {
            n += e.is_regular_file() ? 1 : 0;
        }
        return n;
    }

    fs::path root_;
    std::unique_ptr<Storage> store_;
};

TEST(StorageKeys, RefuseEscapesAndOddNames) {
    EXPECT_TRUE(ValidKey("abc/rec1/photo_a1b2c3d4e5.png"));
    EXPECT_TRUE(ValidKey("abc/rec1/thumbs_photo.png/100x100_photo.png"));
    const std::vector<std::string> bads{
        "",
        "/abs",
        "a//b",
        "a/../b",
        "..",
        "a/./b",
        "a/b/",
        "a\\b",
        std::string("a\0b", 3),
        "a/b.attrs",
        std::string(256, 'x'),
        "a/\x01"};
    for (const std::string& bad : bads) {
        EXPECT_FALSE(ValidKey(bad)) << bad;
    }
}

TEST_F(LocalStorageTest, StoresReadsAndReportsAFile) {
    Put("col/rec/a.txt", "hello world", "text/plain; charset=utf-8");
    EXPECT_EQ(Get("col/rec/a.txt"), "hello world");
    auto info = store_->Stat("col/rec/a.txt");
    ASSERT_TRUE(info);
    EXPECT_EQ(info->size, 11U);
    EXPECT_EQ(info->content_type, "text/plain; charset=utf-8");
    // The side file is PocketBase's: a PocketBase storage folder reads the same.
    std::ifstream attrs(root_ / "storage/col/rec/a.txt.attrs");
    std::string text((std::istreambuf_iterator<char>(attrs)), {});
    EXPECT_NE(text.find(R"("user.content_type":"text/plain; charset=utf-8")"), std::string::npos);

    auto r = store_->Open("col/rec/a.txt");
    ASSERT_TRUE(r);
    std::string part(5, '\0');
    auto n = (*r)->ReadAt(6, part);
    ASSERT_TRUE(n);
    EXPECT_EQ(part.substr(0, *n), "world");
}

TEST_F(LocalStorageTest, NothingIsVisibleOrLeftBeforeCommit) {
    {
        auto up = store_->Create("col/rec/big.bin", "application/octet-stream");
        ASSERT_TRUE(up);
        ASSERT_TRUE((*up)->Write(std::string(100000, 'x')));
        EXPECT_EQ((*up)->Size(), 100000U);
        EXPECT_FALSE(store_->Stat("col/rec/big.bin"));
        auto listed = store_->List("col");
        ASSERT_TRUE(listed);
        EXPECT_TRUE(listed->empty());  // the temporary file is not a file of the store
    }                                  // dropped without a commit: discarded
    EXPECT_EQ(FilesOnDisk(), 0U);
    auto missing = store_->Open("col/rec/big.bin");
    ASSERT_FALSE(missing);
    EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
}

TEST_F(LocalStorageTest, ReplacesListsAndDeletes) {
    Put("col/r1/a.txt", "one");
    Put("col/r1/a.txt", "two");
    Put("col/r1/thumbs_a.txt/100x100_a.txt", "thumb");
    Put("col/r2/b.txt", "three");
    EXPECT_EQ(Get("col/r1/a.txt"), "two");
    auto listed = store_->List("col");
    ASSERT_TRUE(listed);
    EXPECT_EQ(*listed, (std::vector<std::string>{"col/r1/a.txt", "col/r1/thumbs_a.txt/100x100_a.txt", "col/r2/b.txt"}));

    ASSERT_TRUE(store_->Delete("col/r2/b.txt"));
    ASSERT_TRUE(store_->Delete("col/r2/b.txt"));         // gone already: fine
    EXPECT_FALSE(fs::exists(root_ / "storage/col/r2"));  // the emptied record folder goes too
    ASSERT_TRUE(store_->DeletePrefix("col/r1"));
    EXPECT_EQ(FilesOnDisk(), 0U);
    EXPECT_TRUE(fs::exists(root_ / "storage"));  // the root stays
}

TEST_F(LocalStorageTest, RefusesKeysOutsideTheRoot) {
    auto up = store_->Create("../escape.txt", "");
    ASSERT_FALSE(up);
    EXPECT_EQ(up.error().code, ErrorCode::kInvalidArgument);
    EXPECT_FALSE(store_->Open("../../etc/passwd"));
    EXPECT_FALSE(store_->Delete("col/../../x"));
    EXPECT_FALSE(fs::exists(root_ / "escape.txt"));
}

TEST_F(LocalStorageTest, DoesNotFollowSymlinks) {
    Put("col/rec/real.txt", "secret");
    fs::create_symlink("/etc/hostname", root_ / "storage/col/rec/link.txt");
    auto r = store_->Open("col/rec/link.txt");
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kNotFound);
    EXPECT_FALSE(store_->Stat("col/rec/link.txt"));
}

TEST_F(LocalStorageTest, OpensACachedFileWithoutWaitingAndNothingElse) {
    Put("col/rec/hot.txt", "in the page cache", "text/plain; charset=utf-8");
    ASSERT_EQ(Get("col/rec/hot.txt"), "in the page cache");  // its path and side file now cached
    auto r = store_->OpenIfCached("col/rec/hot.txt");
    ASSERT_NE(r, nullptr);
    EXPECT_EQ(r->Info().size, 17U);
    EXPECT_EQ(r->Info().content_type, "text/plain; charset=utf-8");
    std::string out(17, '\0');
    auto n = r->ReadAt(0, out);
    ASSERT_TRUE(n);
    EXPECT_EQ(out, "in the page cache");

    // A replaced file is a new file: its new type is served, not the one remembered.
    Put("col/rec/hot.txt", "<p>now html</p>", "text/html; charset=utf-8");
    ASSERT_EQ(Get("col/rec/hot.txt"), "<p>now html</p>");
    auto again = store_->OpenIfCached("col/rec/hot.txt");
    ASSERT_NE(again, nullptr);
    EXPECT_EQ(again->Info().content_type, "text/html; charset=utf-8");
    auto opened = store_->Open("col/rec/hot.txt");
    ASSERT_TRUE(opened);
    EXPECT_EQ((*opened)->Info().content_type, "text/html; charset=utf-8");

    EXPECT_EQ(store_->OpenIfCached("col/rec/missing.txt"), nullptr);
    EXPECT_EQ(store_->OpenIfCached("../../etc/passwd"), nullptr);
    EXPECT_EQ(store_->OpenIfCached("col/rec/hot.txt.attrs"), nullptr);
    fs::create_symlink("/etc/hostname", root_ / "storage/col/rec/link.txt");
    EXPECT_EQ(store_->OpenIfCached("col/rec/link.txt"), nullptr);
    fs::create_directory_symlink(root_ / "storage/col", root_ / "storage/alias");
    EXPECT_EQ(store_->OpenIfCached("alias/rec/hot.txt"), nullptr);
    fs::create_directories(root_ / "storage/col/rec/folder.txt");
    EXPECT_EQ(store_->OpenIfCached("col/rec/folder.txt"), nullptr);
}

TEST_F(LocalStorageTest, ListsTheFoldersDirectlyUnderAPrefix) {
    Put("c2/r1/a.txt", "a");
    Put("c1/r2/b.txt", "b");
    Put("c1/r1/c.txt", "c");
    Put("c1/r1/thumbs_c.txt/100x100_c.txt", "t");
    Put("c1/loose.txt", "not a folder");
    auto top = store_->ListFolders("");
    ASSERT_TRUE(top) << top.error().message;
    EXPECT_EQ(*top, (std::vector<std::string>{"c1", "c2"}));
    auto records = store_->ListFolders("c1");
    ASSERT_TRUE(records);
    EXPECT_EQ(*records, (std::vector<std::string>{"r1", "r2"}));  // files are not folders
    auto thumbs = store_->ListFolders("c1/r1");
    ASSERT_TRUE(thumbs);
    EXPECT_EQ(*thumbs, (std::vector<std::string>{"thumbs_c.txt"}));
    auto none = store_->ListFolders("missing");
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->empty());
    auto bad = store_->ListFolders("../x");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(LocalStorageTest, ListsTheFilesDirectlyUnderAPrefix) {
    Put("one.zip", "1");
    Put("two.zip", "2");
    Put("c1/r1/c.txt", "c");
    fs::create_symlink(root_ / "storage/one.zip", root_ / "storage/link.zip");
    std::ofstream(root_ / "storage/.basalt-upload-abc") << "being written";
    auto top = store_->ListFiles("");
    ASSERT_TRUE(top) << top.error().message;
    // Not the folder, the link, the temp file or the side files holding content types.
    EXPECT_EQ(*top, (std::vector<std::string>{"one.zip", "two.zip"}));
    auto inner = store_->ListFiles("c1/r1");
    ASSERT_TRUE(inner);
    EXPECT_EQ(*inner, (std::vector<std::string>{"c.txt"}));
    EXPECT_TRUE(store_->ListFiles("missing")->empty());
    EXPECT_EQ(store_->ListFiles("../x").error().code, ErrorCode::kInvalidArgument);
}

TEST_F(LocalStorageTest, ListingsSkipSymlinks) {
    Put("col/rec/real.txt", "mine");
    const fs::path outside = root_ / "outside";
    fs::create_directories(outside / "rec");
    std::ofstream(outside / "rec" / "theirs.txt") << "not ours";
    fs::create_directory_symlink(outside, root_ / "storage/linked");
    fs::create_directory_symlink(outside / "rec", root_ / "storage/col/linkrec");
    fs::create_symlink(outside / "rec" / "theirs.txt", root_ / "storage/col/rec/link.txt");
    auto top = store_->ListFolders("");
    ASSERT_TRUE(top);
    EXPECT_EQ(*top, std::vector<std::string>{"col"});
    auto records = store_->ListFolders("col");
    ASSERT_TRUE(records);
    EXPECT_EQ(*records, std::vector<std::string>{"rec"});
    auto through = store_->ListFolders("linked");
    ASSERT_TRUE(through);
    EXPECT_TRUE(through->empty());  // a linked folder is not walked into
    auto keys = store_->List("col");
    ASSERT_TRUE(keys);
    EXPECT_EQ(*keys, std::vector<std::string>{"col/rec/real.txt"});
    auto linked_keys = store_->List("linked");
    ASSERT_TRUE(linked_keys);
    EXPECT_TRUE(linked_keys->empty());
}

}  // namespace
}  // namespace basalt::storage
