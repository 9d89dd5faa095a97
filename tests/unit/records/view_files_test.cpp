// SPDX-License-Identifier: MIT
// Which record of a view's source collections holds a file the view exposes (PocketBase's
// FindRecordByViewFile), over a real SQLite database.
#include <gtest/gtest.h>

#include "records/files.hpp"
#include "support/system_database.hpp"

namespace basalt::records {
namespace {

class ViewFileFolderTest : public testing::SystemCollectionsTest {
protected:
    void SetUp() override {
        SystemCollectionsTest::SetUp();
        ASSERT_FALSE(HasFatalFailure());
        CreateCollection(R"({
            "name": "posts",
            "fields": [
                {"name": "doc", "type": "file", "maxSelect": 1},
                {"name": "gallery", "type": "file", "maxSelect": 5}
            ]
        })");
        CreateCollection(
            R"({"name": "post_files", "type": "view", "viewQuery": "SELECT id, doc AS attachment, gallery FROM posts"})"
        );
        CreateCollection(
            R"({"name": "post_files2", "type": "view", "viewQuery": "SELECT id, attachment FROM post_files"})"
        );
        ASSERT_FALSE(HasFatalFailure());
        posts_id_ = collections_->Current()->Find("posts")->id;
        Exec(
            "INSERT INTO posts (id, doc, gallery) VALUES (?, ?, ?)",
            {std::string("post11111111111"), std::string("a_1.txt"), std::string(R"(["g_1.png","g_2.png"])")}
        );
    }

    Result<std::string> FolderOf(const std::string& view, const std::string& filename) {
        const auto snap = collections_->Current();
        return ViewFileFolder(Db(), *snap, *snap->Find(view), filename);
    }

    std::string posts_id_;
};

TEST_F(ViewFileFolderTest, FindsTheSourceRecordThatHoldsTheName) {
    auto folder = FolderOf("post_files", "a_1.txt");
    ASSERT_TRUE(folder) << folder.error().message;
    EXPECT_EQ(*folder, posts_id_ + "/post11111111111");
}

TEST_F(ViewFileFolderTest, FindsANameInAFieldOfSeveralFiles) {
    auto folder = FolderOf("post_files", "g_2.png");
    ASSERT_TRUE(folder) << folder.error().message;
    EXPECT_EQ(*folder, posts_id_ + "/post11111111111");
}

TEST_F(ViewFileFolderTest, LooksThroughAViewOfAView) {
    auto folder = FolderOf("post_files2", "a_1.txt");
    ASSERT_TRUE(folder) << folder.error().message;
    EXPECT_EQ(*folder, posts_id_ + "/post11111111111");
}

TEST_F(ViewFileFolderTest, IsNotFoundWhenNoSourceRecordHoldsTheName) {
    auto folder = FolderOf("post_files", "other.txt");
    ASSERT_FALSE(folder);
    EXPECT_EQ(folder.error().code, ErrorCode::kNotFound);
}

}  // namespace
}  // namespace basalt::records
