// SPDX-License-Identifier: MIT
// Switchable over two local stores: calls follow Set, transfers in flight keep their store.
#include <filesystem>

#include <gtest/gtest.h>

#include "core/random.hpp"
#include "storage/storage.hpp"

namespace basalt::storage {
namespace {

namespace fs = std::filesystem;

class SwitchableTest : public testing::Test {
protected:
    void SetUp() override {
        root_ = fs::temp_directory_path() / ("basalt-switch-" + SecureRandomString(10, "abcdefghij"));
        auto a = OpenLocal(root_ / "a");
        auto b = OpenLocal(root_ / "b");
        ASSERT_TRUE(a && b);
        a_ = std::shared_ptr<Storage>(std::move(*a));
        b_ = std::shared_ptr<Storage>(std::move(*b));
    }
    void TearDown() override { fs::remove_all(root_); }

    static void Put(Storage& s, const std::string& key, const std::string& bytes) {
        auto up = s.Create(key, "text/plain");
        ASSERT_TRUE(up) << up.error().message;
        ASSERT_TRUE((*up)->Write(bytes));
        ASSERT_TRUE((*up)->Commit());
    }

    fs::path root_;
    std::shared_ptr<Storage> a_;
    std::shared_ptr<Storage> b_;
};

TEST_F(SwitchableTest, CallsGoToTheStoreOfTheMoment) {
    Switchable s(a_);
    Put(s, "c/r/one.txt", "1");
    s.Set(b_);
    EXPECT_EQ(s.Current(), b_);
    Put(s, "c/r/two.txt", "2");
    EXPECT_TRUE(a_->Stat("c/r/one.txt"));
    EXPECT_FALSE(a_->Stat("c/r/two.txt"));
    EXPECT_TRUE(b_->Stat("c/r/two.txt"));
    EXPECT_FALSE(s.Stat("c/r/one.txt"));  // files stored before a switch stay where they are
    EXPECT_EQ(*s.List("c"), std::vector<std::string>{"c/r/two.txt"});
    EXPECT_EQ(*s.ListFolders("c"), std::vector<std::string>{"r"});
    ASSERT_TRUE(s.Delete("c/r/two.txt"));
    EXPECT_FALSE(b_->Stat("c/r/two.txt"));
}

TEST_F(SwitchableTest, TransfersInFlightKeepTheirStore) {
    Switchable s(a_);
    Put(s, "c/r/old.txt", "old bytes");
    auto reader = s.Open("c/r/old.txt");
    ASSERT_TRUE(reader);
    auto upload = s.Create("c/r/new.txt", "text/plain");
    ASSERT_TRUE(upload);
    ASSERT_TRUE((*upload)->Write("new"));
    std::weak_ptr<Storage> old = a_;
    s.Set(b_);
    a_.reset();  // the switchable and the transfers hold the only references now
    EXPECT_FALSE(old.expired());
    ASSERT_TRUE((*upload)->Commit());
    std::string buf(9, '\0');
    auto n = (*reader)->ReadAt(0, std::span<char>(buf));
    ASSERT_TRUE(n);
    EXPECT_EQ(buf.substr(0, *n), "old bytes");
    upload->reset();
    reader->reset();
    EXPECT_TRUE(old.expired());                                    // released with the last transfer
    EXPECT_TRUE(fs::exists(root_ / "a" / "c" / "r" / "new.txt"));  // the upload finished where it began
}

}  // namespace
}  // namespace basalt::storage
