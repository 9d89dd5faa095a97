// SPDX-License-Identifier: MIT
// The realtime hub over a real database: clients, their subscriptions, and the fan-out of real
// outbox events (written by the records service) on the hub's own thread, with each client's
// rules; Stop ends every stream. Streams are read through their waker, without sleeping.
#include "realtime/hub.hpp"

#include <condition_variable>
#include <mutex>

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include "collections/store.hpp"
#include "events/events.hpp"
#include "records/service.hpp"
#include "support/system_database.hpp"

namespace basalt::realtime {
namespace {

namespace json = boost::json;

// What a client's stream received so far, gathered as the hub pushes it.
class Reader {
public:
    explicit Reader(std::shared_ptr<http::EventStream> stream) : stream_(std::move(stream)) {
        stream_->SetWaker([this] {
            std::lock_guard lock(mu_);
            ++wakes_;
            cv_.notify_all();
        });
    }
    ~Reader() { stream_->SetWaker(nullptr); }
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;

    /// Everything received once `text` is among it (or what there is after 10 s: the test fails).
    std::string WaitFor(std::string_view text) {
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
        for (;;) {
            std::uint64_t seen = 0;
            {
                std::lock_guard lock(mu_);
                seen = wakes_;
            }
            std::vector<http::EventStream::Segment> segments;
            stream_->Take(segments);
            for (const auto& s : segments) {
                received_ += *s;
            }
            if (received_.find(text) != std::string::npos) {
                return received_;
            }
            std::unique_lock lock(mu_);
            if (!cv_.wait_until(lock, deadline, [&] { return wakes_ != seen; })) {
                ADD_FAILURE() << "never received " << text << "; got: " << received_;
                return received_;
            }
        }
    }

private:
    std::shared_ptr<http::EventStream> stream_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::uint64_t wakes_ = 0;
    std::string received_;
};

class HubTest : public testing::SystemCollectionsTest {
protected:
    void SetUp() override {
        SystemCollectionsTest::SetUp();
        ASSERT_FALSE(HasFatalFailure());
        CreateCollection(R"({
            "name": "posts",
            "fields": [{"name": "title", "type": "text"}],
            "listRule": "title != 'secret'",
            "viewRule": "title != 'secret'",
            "createRule": "",
            "updateRule": "",
            "deleteRule": ""
        })");
        ASSERT_FALSE(HasFatalFailure());
        records_ = std::make_unique<records::RecordService>(Db(), *collections_, clock_);
        hub_ = std::make_unique<Hub>(*collections_, *records_, Hub::Limits{});
    }

    void TearDown() override {
        hub_.reset();
        SystemCollectionsTest::TearDown();
    }

    std::string Create(const std::string& title) {
        auto w = records_->PrepareCreate("posts", json::parse(R"({"title":")" + title + R"("})").as_object(), {});
        EXPECT_TRUE(w) << w.error().message;
        EXPECT_TRUE(w && Db().Write(w->fn));
        return w ? std::string(w->record->at("id").as_string()) : std::string();
    }

    // Hands every outbox event after `after_` to the hub, as the dispatcher does.
    void PublishNew() {
        auto batch = events::ReadAfter(Db(), after_, 100);
        ASSERT_TRUE(batch) << batch.error().message;
        for (const auto& e : *batch) {
            hub_->Publish(e);
            after_ = e.id;
        }
    }

    std::unique_ptr<records::RecordService> records_;
    std::unique_ptr<Hub> hub_;
    std::int64_t after_ = 0;
};

TEST_F(HubTest, AClientGetsTheEventsItsListRuleLetsItSeeInCommitOrder) {
    std::string client;
    Reader reader(hub_->Connect("10.0.0.1", &client));
    EXPECT_NE(reader.WaitFor("PB_CONNECT").find(client), std::string::npos);
    ASSERT_TRUE(hub_->SetSubscriptions(client, "10.0.0.1", {"posts"}, {}));
    EXPECT_TRUE(hub_->HasSubscriptions());

    Create("first");
    Create("secret");
    Create("last");
    PublishNew();
    const std::string got = reader.WaitFor(R"("title":"last")");
    const auto first = got.find(R"("title":"first")");
    ASSERT_NE(first, std::string::npos);
    EXPECT_LT(first, got.find(R"("title":"last")"));
    EXPECT_EQ(got.find(R"("title":"secret")"), std::string::npos);  // refused by the rule, not late
    EXPECT_NE(got.find("event:posts"), std::string::npos);
    EXPECT_NE(got.find(R"("action":"create")"), std::string::npos);
}

TEST_F(HubTest, ARecordTopicHearsOfThatRecordOnly) {
    const std::string mine = Create("mine");
    PublishNew();
    std::string client;
    Reader reader(hub_->Connect("10.0.0.1", &client));
    ASSERT_TRUE(hub_->SetSubscriptions(client, "10.0.0.1", {"posts/" + mine}, {}));

    Create("other");
    auto w = records_->PrepareUpdate("posts", mine, json::parse(R"({"title":"changed"})").as_object(), {});
    ASSERT_TRUE(w && Db().Write(w->fn));
    PublishNew();
    const std::string got = reader.WaitFor(R"("title":"changed")");
    EXPECT_NE(got.find("event:posts/" + mine), std::string::npos);
    EXPECT_EQ(got.find(R"("title":"other")"), std::string::npos);
}

TEST_F(HubTest, SubscriptionsBelongToTheirClientAndItsAddress) {
    std::string client;
    Reader reader(hub_->Connect("10.0.0.1", &client));
    auto unknown = hub_->SetSubscriptions("nosuchclient", "10.0.0.1", {"posts"}, {});
    ASSERT_FALSE(unknown);
    EXPECT_EQ(unknown.error().code, ErrorCode::kNotFound);
    auto elsewhere = hub_->SetSubscriptions(client, "10.0.0.2", {"posts"}, {});
    ASSERT_FALSE(elsewhere);
    EXPECT_EQ(elsewhere.error().code, ErrorCode::kConflict);
    auto malformed = hub_->SetSubscriptions(client, "10.0.0.1", {"posts?options=notjson"}, {});
    ASSERT_FALSE(malformed);
    EXPECT_EQ(malformed.error().code, ErrorCode::kInvalidArgument);
    EXPECT_FALSE(hub_->HasSubscriptions());
}

TEST_F(HubTest, ShardedFanOutGivesEveryClientEveryEventInCommitOrder) {
    hub_.reset();
    Hub::Limits limits;
    limits.fanout_threads = 3;
    hub_ = std::make_unique<Hub>(*collections_, *records_, limits);
    constexpr int kClients = 7;  // more than the shards: each shard serves several
    std::vector<std::unique_ptr<Reader>> readers;
    for (int i = 0; i < kClients; ++i) {
        std::string id;
        readers.push_back(std::make_unique<Reader>(hub_->Connect("10.0.0.1", &id)));
        ASSERT_TRUE(hub_->SetSubscriptions(id, "10.0.0.1", {"posts"}, {}));
    }
    constexpr int kEvents = 40;
    for (int i = 0; i < kEvents; ++i) {
        Create("n" + std::to_string(i) + "x");
        if (i % 7 == 0) {
            PublishNew();  // several batches, so the shards interleave with the publisher
        }
    }
    PublishNew();
    for (auto& reader : readers) {
        const std::string got = reader->WaitFor(R"("title":"n)" + std::to_string(kEvents - 1) + "x");
        std::size_t at = 0;
        for (int i = 0; i < kEvents; ++i) {
            const auto next = got.find(R"("title":"n)" + std::to_string(i) + "x", at);
            ASSERT_NE(next, std::string::npos) << "event " << i << " missing or out of order";
            at = next;
        }
    }
}

TEST_F(HubTest, StopEndsEveryStreamAndRefusesNewClients) {
    std::string a;
    std::string b;
    auto first = hub_->Connect("10.0.0.1", &a);
    auto second = hub_->Connect("10.0.0.2", &b);
    ASSERT_TRUE(hub_->SetSubscriptions(a, "10.0.0.1", {"posts"}, {}));
    EXPECT_EQ(hub_->ClientCount(), 2U);
    hub_->Stop();
    EXPECT_TRUE(first->Closed());
    EXPECT_TRUE(second->Closed());
    EXPECT_EQ(hub_->ClientCount(), 0U);
    std::string late;
    EXPECT_TRUE(hub_->Connect("10.0.0.3", &late)->Closed());
    hub_->Publish(events::Event{1, "", "x", "posts", "r", "create", "{}", "", ""});  // after Stop: ignored
    hub_->Stop();                                                                    // idempotent
}

}  // namespace
}  // namespace basalt::realtime
