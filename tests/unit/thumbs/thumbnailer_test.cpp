// SPDX-License-Identifier: MIT
// The thumbnailer over the real local store: thumbs land beside the file, concurrent requests for
// one thumb share one generation, and failures are values.
#include "thumbs/thumbnailer.hpp"

#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>
#include <vips/vips.h>

#include "support/temp_dir.hpp"

namespace basalt::thumbs {
namespace {

class ThumbnailerTest : public ::testing::Test {
protected:
    void SetUp() override {
        auto s = storage::OpenLocal(dir_.Path() / "storage");
        ASSERT_TRUE(s) << s.error().message;
        store_ = std::move(*s);
    }

    void Put(const std::string& key, const std::string& bytes, const std::string& type) {
        auto up = store_->Create(key, type);
        ASSERT_TRUE(up);
        ASSERT_TRUE((*up)->Write(bytes));
        ASSERT_TRUE((*up)->Commit());
    }

    static std::string Png(int width, int height) {
        InitVips();
        VipsImage* black = nullptr;
        EXPECT_EQ(vips_black(&black, width, height, "bands", 3, nullptr), 0);
        void* buf = nullptr;
        std::size_t len = 0;
        EXPECT_EQ(vips_image_write_to_buffer(black, ".png", &buf, &len, nullptr), 0);
        g_object_unref(black);
        std::string out(static_cast<const char*>(buf), len);
        g_free(buf);
        return out;
    }

    // Runs `n` concurrent Ensure calls for one thumb to completion and answers their outcomes.
    std::vector<Result<void>> EnsureConcurrently(
        Thumbnailer& t, const std::string& from, const std::string& to, int n
    ) {
        net::io_context io;
        std::vector<Result<void>> out(static_cast<std::size_t>(n), MakeError(ErrorCode::kInternal, "not run"));
        for (int i = 0; i < n; ++i) {
            net::co_spawn(
                io,
                [](Thumbnailer& th, std::string a, std::string b, Result<void>& slot) -> net::awaitable<void> {
                    slot = co_await th.Ensure(std::move(a), std::move(b), *ParseThumbSpec("10x10"));
                }(t, from, to, out[static_cast<std::size_t>(i)]),
                net::detached
            );
        }
        io.run();
        return out;
    }

    testing::TempDir dir_;
    std::unique_ptr<storage::Storage> store_;
};

TEST_F(ThumbnailerTest, StoresTheThumbBesideTheFile) {
    Put("c/r/a.png", Png(40, 20), "image/png");
    Thumbnailer t(*store_, {});
    ASSERT_TRUE(t.Generate("c/r/a.png", "c/r/thumbs_a.png/10x10_a.png", *ParseThumbSpec("10x10")));
    const auto info = store_->Stat("c/r/thumbs_a.png/10x10_a.png");
    ASSERT_TRUE(info);
    EXPECT_EQ(info->content_type, "image/png");
}

TEST_F(ThumbnailerTest, ConcurrentRequestsShareOneGeneration) {
    Put("c/r/a.png", Png(400, 300), "image/png");
    Thumbnailer t(*store_, {});
    for (const auto& r : EnsureConcurrently(t, "c/r/a.png", "c/r/thumbs_a.png/10x10_a.png", 16)) {
        EXPECT_TRUE(r) << r.error().message;
    }
    const auto keys = store_->List("c/r/thumbs_a.png");
    ASSERT_TRUE(keys);
    EXPECT_EQ(*keys, std::vector<std::string>{"c/r/thumbs_a.png/10x10_a.png"});
    EXPECT_EQ(t.MadeForTest(), 1U);
    // Made once: a second round finds it and leaves it as it was.
    const auto before = store_->Stat("c/r/thumbs_a.png/10x10_a.png")->modified;
    EXPECT_TRUE(EnsureConcurrently(t, "c/r/a.png", "c/r/thumbs_a.png/10x10_a.png", 4)[0]);
    EXPECT_EQ(store_->Stat("c/r/thumbs_a.png/10x10_a.png")->modified, before);
    EXPECT_EQ(t.MadeForTest(), 1U);
}

TEST_F(ThumbnailerTest, FailuresAreValuesForEveryWaiter) {
    Put("c/r/a.png", "not a png", "image/png");
    Thumbnailer t(*store_, {});
    for (const auto& r : EnsureConcurrently(t, "c/r/a.png", "c/r/thumbs_a.png/10x10_a.png", 4)) {
        ASSERT_FALSE(r);
        EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    }
    EXPECT_FALSE(store_->Stat("c/r/thumbs_a.png/10x10_a.png"));
    const auto missing = EnsureConcurrently(t, "c/r/none.png", "c/r/thumbs_none.png/10x10_none.png", 1);
    EXPECT_EQ(missing[0].error().code, ErrorCode::kNotFound);
}

TEST_F(ThumbnailerTest, RefusesWorkOnceStopped) {
    Put("c/r/a.png", Png(40, 20), "image/png");
    Thumbnailer t(*store_, {});
    t.Stop();
    const auto r = EnsureConcurrently(t, "c/r/a.png", "c/r/thumbs_a.png/10x10_a.png", 2);
    EXPECT_EQ(r[0].error().code, ErrorCode::kUnavailable);
    EXPECT_EQ(r[1].error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace basalt::thumbs
