// SPDX-License-Identifier: MIT
#include "logs/log_store.hpp"

#include <gtest/gtest.h>

#include "core/json_text.hpp"
#include "support/fake_clock.hpp"
#include "support/temp_dir.hpp"

namespace basalt::logs {
namespace {

using std::chrono::hours;

// 2023-11-14 22:13:20 UTC.
constexpr std::int64_t kStart = 1700000000;

class LogStoreTest : public ::testing::Test {
protected:
    std::unique_ptr<LogStore> Open(LogStoreOptions options = {}) {
        auto store = LogStore::Open(dir.Path() / "auxiliary.db", clock, options);
        EXPECT_TRUE(store.has_value()) << (store ? "" : store.error().message);
        return std::move(*store);
    }
    static std::string Request(int status) { return R"({"type":"request","status":)" + std::to_string(status) + "}"; }
    testing::TempDir dir;
    testing::FakeClock clock{SystemTime{std::chrono::seconds(kStart)}};
};

TEST_F(LogStoreTest, WritesInBatchesAndListsWithFiltersOverData) {
    auto store = Open();
    store->Add(kInfo, "GET /a", Request(200));
    clock.Advance(std::chrono::seconds(1));
    store->Add(kError, "GET /b", Request(404));
    store->Flush();
    auto all = store->List({});
    ASSERT_TRUE(all) << all.error().message;
    ASSERT_EQ(all->items.size(), 2U);
    EXPECT_EQ(all->total_items, 2);
    EXPECT_EQ(all->items[0].message, "GET /a");
    EXPECT_EQ(all->items[0].created, "2023-11-14 22:13:20.000Z");
    EXPECT_EQ(all->items[0].id.size(), 15U);

    LogQuery q;
    q.filter = "data.status > 200 && level >= 8";
    auto failed = store->List(q);
    ASSERT_TRUE(failed);
    ASSERT_EQ(failed->items.size(), 1U);
    EXPECT_EQ(failed->items[0].message, "GET /b");

    q = {};
    q.sort = "-@rowid";
    q.per_page = 1;
    q.skip_total = true;
    auto newest = store->List(q);
    ASSERT_TRUE(newest);
    ASSERT_EQ(newest->items.size(), 1U);
    EXPECT_EQ(newest->items[0].message, "GET /b");
    EXPECT_EQ(newest->total_items, -1);

    auto one = store->Find(newest->items[0].id);
    ASSERT_TRUE(one && one->has_value());
    EXPECT_EQ((*one)->data, Request(404));
    auto none = store->Find("nothing");
    ASSERT_TRUE(none);
    EXPECT_FALSE(none->has_value());
}

TEST_F(LogStoreTest, BadFiltersAndSortsAreInvalidArguments) {
    auto store = Open();
    for (const char* filter : {"nope = 1", "data.status >", "data.a b = 1", "@request.auth.id = ''"}) {
        LogQuery q;
        q.filter = filter;
        auto r = store->List(q);
        ASSERT_FALSE(r) << filter;
        EXPECT_TRUE(r.error().code == ErrorCode::kInvalidArgument || r.error().code == ErrorCode::kForbidden) << filter;
        EXPECT_FALSE(store->Stats(filter)) << filter;
    }
    LogQuery q;
    q.sort = "secret";
    EXPECT_FALSE(store->List(q));
}

TEST_F(LogStoreTest, StatsCountPerHour) {
    auto store = Open();
    store->Add(kInfo, "a", Request(200));
    store->Add(kInfo, "b", Request(500));
    clock.Advance(hours(2));
    store->Add(kInfo, "c", Request(500));
    store->Flush();
    auto all = store->Stats("");
    ASSERT_TRUE(all) << all.error().message;
    ASSERT_EQ(all->size(), 2U);
    EXPECT_EQ((*all)[0].date, "2023-11-14 22:00:00.000Z");
    EXPECT_EQ((*all)[0].total, 2);
    EXPECT_EQ((*all)[1].date, "2023-11-15 00:00:00.000Z");
    EXPECT_EQ((*all)[1].total, 1);
    auto failed = store->Stats("data.status >= 500");
    ASSERT_TRUE(failed);
    ASSERT_EQ(failed->size(), 2U);
    EXPECT_EQ((*failed)[0].total, 1);
}

TEST_F(LogStoreTest, SettingsDecideWhatIsKeptAndWhatExpires) {
    auto store = Open();
    LogSettings s;
    s.max_days = 2;
    s.min_level = kWarn;
    store->Apply(s);
    EXPECT_FALSE(store->Accepts(kInfo));
    EXPECT_TRUE(store->Accepts(kWarn));
    store->Add(kInfo, "dropped by level", "{}");
    store->Add(kError, "old", "{}");
    store->Flush();
    clock.Advance(hours(24 * 3));
    store->Add(kWarn, "new", "{}");
    store->Flush();
    auto gone = store->DeleteExpired(false);
    ASSERT_TRUE(gone) << gone.error().message;
    EXPECT_EQ(*gone, 1);
    auto left = store->List({});
    ASSERT_TRUE(left);
    ASSERT_EQ(left->items.size(), 1U);
    EXPECT_EQ(left->items[0].message, "new");

    // A higher minimum level drops what is now below it; maxDays 0 keeps nothing and takes nothing.
    s.min_level = kError;
    store->Apply(s);
    ASSERT_TRUE(store->DeleteExpired(true));
    EXPECT_EQ(store->List({})->items.size(), 0U);
    store->Add(kError, "kept", "{}");
    store->Flush();
    s.max_days = 0;
    store->Apply(s);
    EXPECT_FALSE(store->Accepts(kError));
    store->Add(kError, "not kept", "{}");
    ASSERT_TRUE(store->DeleteExpired(false));
    store->Flush();
    EXPECT_EQ(store->List({})->items.size(), 0U);
}

TEST_F(LogStoreTest, AFullQueueDropsAndCountsInsteadOfBlocking) {
    LogStoreOptions o;
    o.max_pending = 10;
    o.batch = 1000;  // never woken by size
    o.interval = std::chrono::hours(1);
    auto store = Open(o);
    for (int i = 0; i < 25; ++i) {
        store->Add(kInfo, "m", "{}");
    }
    EXPECT_EQ(store->Dropped(), 15U);
    store->Flush();
    EXPECT_EQ(store->List({})->total_items, 10);
}

TEST_F(LogStoreTest, QueuedEntriesAreWrittenAtCloseAndSurviveAReopen) {
    {
        LogStoreOptions o;
        o.interval = std::chrono::hours(1);
        auto store = Open(o);
        store->Add(kInfo, "queued", "{}");
    }
    auto store = Open();
    auto r = store->List({});
    ASSERT_TRUE(r);
    ASSERT_EQ(r->items.size(), 1U);
    EXPECT_EQ(r->items[0].message, "queued");
}

}  // namespace
}  // namespace basalt::logs
