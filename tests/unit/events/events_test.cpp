// SPDX-License-Identifier: MIT
#include "events/events.hpp"

#include <atomic>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "support/system_database.hpp"

namespace basalt::events {
namespace {

// Over the real outbox (`_events` as the system migrations create it).
class EventsTest : public testing::SystemDatabaseTest {
protected:
    static db::WriteFn Change(std::string record, bool fail) {
        return [record = std::move(record), fail](db::Executor& ex) -> Result<void> {
            auto r = ex.Exec(
                "INSERT INTO _events (created, collectionId, collectionName, recordId, action, record) VALUES ('', "
                "'c', 'c', ?, 'create', '{}')",
                {record}
            );
            if (!r) {
                return r.error();
            }
            if (fail) {
                return MakeError(ErrorCode::kInvalidArgument, "rolled back");  // the event goes with it
            }
            return Ok();
        };
    }
};

TEST_F(EventsTest, ConsumersSeeEveryCommittedChangeOnceInCommitOrder) {
    ASSERT_TRUE(db_->Write(Change("before-start", false)));
    Dispatcher d(*db_, std::chrono::milliseconds(20));
    std::mutex mu;
    std::vector<Event> seen;
    d.Subscribe([&](const Event& e) {
        std::lock_guard lock(mu);
        seen.push_back(e);
    });
    ASSERT_TRUE(d.Start());
    // Four threads write concurrently (group commit); every third write is rolled back.
    std::vector<std::thread> writers;
    std::atomic<int> committed{0};
    for (int t = 0; t < 4; ++t) {
        writers.emplace_back([&, t] {
            for (int i = 0; i < 50; ++i) {
                const bool fail = i % 3 == 0;
                if (db_->Write(Change("t" + std::to_string(t) + "-" + std::to_string(i), fail))) {
                    ++committed;
                }
                d.Notify();
            }
        });
    }
    for (auto& w : writers) {
        w.join();
    }
    for (int i = 0; i < 200; ++i) {
        {
            std::lock_guard lock(mu);
            if (static_cast<int>(seen.size()) >= committed.load()) {
                break;
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    d.Stop();
    ASSERT_EQ(static_cast<int>(seen.size()), committed.load());
    std::set<std::string> ids;
    for (std::size_t i = 0; i < seen.size(); ++i) {
        if (i > 0) {
            EXPECT_LT(seen[i - 1].id, seen[i].id);
        }
        EXPECT_NE(seen[i].record_id, "before-start");
        ids.insert(seen[i].record_id);
        const int n = std::stoi(seen[i].record_id.substr(seen[i].record_id.find('-') + 1));
        EXPECT_NE(n % 3, 0) << "a rolled-back change has no event";
    }
    EXPECT_EQ(ids.size(), seen.size());
}

// Retention: what the consumers passed goes when it is old or beyond the row bound; nothing a
// consumer has not read goes, however old.
TEST_F(EventsTest, PruneKeepsWhatConsumersHaveNotPassedAndBoundsRows) {
    ASSERT_TRUE(db_->Write([](db::Executor& ex) -> Result<void> {
        for (int i = 1; i <= 30; ++i) {
            auto r = ex.Exec(
                "INSERT INTO _events (created, collectionId, collectionName, recordId, action, record) VALUES (?, "
                "'c', 'c', 'r', 'create', '{}')",
                {std::string(i <= 10 ? "2020-01-01 00:00:00.000Z" : "2030-01-01 00:00:00.000Z")}
            );
            if (!r) {
                return r.error();
            }
        }
        return Ok();
    }));
    auto ids = [&] {
        auto rs = db_->Read("SELECT MIN(id), COUNT(*) FROM _events");
        return std::pair{db::AsInt(rs->rows[0][0]), db::AsInt(rs->rows[0][1])};
    };
    // Old events (1..10) behind a consumer at 5: only 1..5 go.
    auto n = Prune(*db_, "2025-01-01 00:00:00.000Z", 5, 1000);
    ASSERT_TRUE(n);
    EXPECT_EQ(*n, 5);
    EXPECT_EQ(ids(), (std::pair<std::int64_t, std::int64_t>{6, 25}));
    // A row bound of 12 with the consumer at 25: 6..18 go (everything old, and beyond the newest 12).
    n = Prune(*db_, "2025-01-01 00:00:00.000Z", 25, 12);
    ASSERT_TRUE(n);
    EXPECT_EQ(ids(), (std::pair<std::int64_t, std::int64_t>{19, 12}));
}

}  // namespace
}  // namespace basalt::events
