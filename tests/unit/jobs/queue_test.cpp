// SPDX-License-Identifier: MIT
// The durable job queue against a real database with the system migrations and a fake clock:
// leases, retries with backoff, dead-lettering, idempotency, manual retry and discard.
#include "jobs/queue.hpp"

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "jobs/cron.hpp"
#include "obs/trace.hpp"
#include "support/system_database.hpp"

namespace basalt::jobs {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

class QueueTest : public testing::SystemDatabaseTest {
protected:
    void SetUp() override {
        SystemDatabaseTest::SetUp();
        ASSERT_FALSE(HasFatalFailure());
        queue_ = std::make_unique<Queue>(Db(), clock_);
    }

    std::string Add(const std::string& kind, std::int64_t attempts = 3, const std::string& key = {}) {
        NewJob j;
        j.kind = kind;
        j.max_attempts = attempts;
        j.idempotency_key = key;
        auto id = queue_->Enqueue(j);
        EXPECT_TRUE(id) << id.error().message;
        return id ? *id : std::string();
    }

    std::unique_ptr<Queue> queue_;
};

TEST_F(QueueTest, ClaimsEachDueJobOnceUntilItsLeaseEnds) {
    const std::string id = Add("k");
    auto first = queue_->Claim("w1", 10, seconds(30));
    ASSERT_TRUE(first);
    ASSERT_EQ(first->size(), 1U);
    EXPECT_EQ((*first)[0].id, id);
    EXPECT_EQ((*first)[0].attempts, 1);
    auto again = queue_->Claim("w2", 10, seconds(30));
    ASSERT_TRUE(again);
    EXPECT_TRUE(again->empty()) << "a leased job is not claimed twice";

    // The worker died: after the lease the job is claimed again, counting a second attempt.
    clock_.Advance(seconds(31));
    auto retaken = queue_->Claim("w2", 10, seconds(30));
    ASSERT_TRUE(retaken);
    ASSERT_EQ(retaken->size(), 1U);
    EXPECT_EQ((*retaken)[0].attempts, 2);
    // The first worker's late completion no longer counts: w2 holds it.
    ASSERT_TRUE(queue_->Complete((*first)[0], "w1"));
    EXPECT_EQ(queue_->Get(id)->value().status, "running");
    ASSERT_TRUE(queue_->Complete((*retaken)[0], "w2"));
    EXPECT_EQ(queue_->Get(id)->value().status, "done");
}

TEST_F(QueueTest, FailedAttemptsBackOffThenDeadLetter) {
    const std::string id = Add("k", 2);
    auto a = queue_->Claim("w", 1, seconds(30));
    ASSERT_TRUE(a && a->size() == 1);
    ASSERT_TRUE(queue_->Fail((*a)[0], "w", "boom 1"));
    auto job = queue_->Get(id)->value();
    EXPECT_EQ(job.status, "pending");
    EXPECT_EQ(job.last_error, "boom 1");
    EXPECT_TRUE(queue_->Claim("w", 1, seconds(30))->empty()) << "not due before its backoff";
    clock_.Advance(seconds(2));
    auto b = queue_->Claim("w", 1, seconds(30));
    ASSERT_TRUE(b && b->size() == 1);
    ASSERT_TRUE(queue_->Fail((*b)[0], "w", "boom 2"));
    job = queue_->Get(id)->value();
    EXPECT_EQ(job.status, "failed") << "dead-lettered after its last attempt";
    EXPECT_EQ(job.attempts, 2);
    EXPECT_EQ(job.last_error, "boom 2");
    clock_.Advance(std::chrono::hours(2));
    EXPECT_TRUE(queue_->Claim("w", 1, seconds(30))->empty());

    // A superuser's retry: due now, attempts reset; discard removes it.
    ASSERT_TRUE(queue_->Retry(id));
    auto c = queue_->Claim("w", 1, seconds(30));
    ASSERT_TRUE(c && c->size() == 1);
    EXPECT_EQ((*c)[0].attempts, 1);
    EXPECT_EQ(queue_->Discard(id).error().code, ErrorCode::kConflict) << "a running job stays";
    ASSERT_TRUE(queue_->Complete((*c)[0], "w"));
    ASSERT_TRUE(queue_->Discard(id));
    EXPECT_FALSE(queue_->Get(id)->has_value());
}

TEST_F(QueueTest, ALeaseThatExpiresOnTheLastAttemptDeadLetters) {
    const std::string id = Add("k", 1);
    ASSERT_EQ(queue_->Claim("w", 1, seconds(5))->size(), 1U);
    clock_.Advance(seconds(6));
    EXPECT_TRUE(queue_->Claim("w", 1, seconds(5))->empty());
    const Job job = queue_->Get(id)->value();
    EXPECT_EQ(job.status, "failed");
    EXPECT_NE(job.last_error.find("lease expired"), std::string::npos);
}

TEST_F(QueueTest, IdempotencyKeysEnqueueOnce) {
    const std::string a = Add("k", 3, "event-42");
    const std::string b = Add("k", 3, "event-42");
    const std::string c = Add("other", 3, "event-42");
    EXPECT_EQ(a, b);
    EXPECT_NE(a, c) << "keys are per kind";
    auto page = queue_->List("", "", 1, 10);
    ASSERT_TRUE(page);
    EXPECT_EQ(page->total, 2);
}

TEST_F(QueueTest, RejectsBadJobs) {
    NewJob j;
    EXPECT_EQ(queue_->Enqueue(j).error().code, ErrorCode::kInvalidArgument);
    j.kind = "k";
    j.max_attempts = 0;
    EXPECT_EQ(queue_->Enqueue(j).error().code, ErrorCode::kInvalidArgument);
    j.max_attempts = 101;
    EXPECT_EQ(queue_->Enqueue(j).error().code, ErrorCode::kInvalidArgument);
}

TEST(Backoff, GrowsExponentiallyWithJitterAndACap) {
    for (int i = 0; i < 200; ++i) {
        const auto first = Backoff(1);
        EXPECT_GE(first, milliseconds(500));
        EXPECT_LE(first, milliseconds(1000));
        const auto fifth = Backoff(5);
        EXPECT_GE(fifth, milliseconds(8000));
        EXPECT_LE(fifth, milliseconds(16000));
        EXPECT_LE(Backoff(40), std::chrono::hours(1));
        EXPECT_GE(Backoff(40), std::chrono::minutes(30));
    }
}

TEST_F(QueueTest, SchedulerFiresMissedCronsOnceAtStart) {
    int runs = 0;
    // One process's scheduler with the hourly cron; `start` runs its start-up (and stops it again).
    auto scheduler = [&](bool start) {
        auto s = std::make_unique<Scheduler>(*db_, *queue_, clock_);
        EXPECT_TRUE(s->Add("hourly", "@hourly", [&] {
            ++runs;
            return Ok();
        }));
        if (start) {
            EXPECT_TRUE(s->Start());
            s->Stop();
        }
        return s;
    };
    scheduler(true);
    EXPECT_EQ(queue_->List("", "cron.run", 1, 10)->total, 0) << "a new cron waits for its first time";
    clock_.Advance(std::chrono::hours(5));  // "down" for five hours: one run, not five
    scheduler(true);                        // two processes starting: still one job
    scheduler(true);
    auto page = queue_->List("", "cron.run", 1, 10);
    ASSERT_TRUE(page);
    ASSERT_EQ(page->total, 1);
    auto s = scheduler(false);
    ASSERT_TRUE(s->RunJob(page->items[0]));
    EXPECT_EQ(runs, 1);
    EXPECT_EQ(s->RunNow("missing").error().code, ErrorCode::kNotFound);
}

// A cron set from the settings after start (settings.backups.cron): it counts from the moment it is
// set, fires when its time comes, and stops firing once removed.
TEST_F(QueueTest, SchedulerSetsAndRemovesCronsWhileRunning) {
    Scheduler s(*db_, *queue_, clock_);
    ASSERT_TRUE(s.Start());
    const auto jobs = [&] {
        return queue_->List("", "cron.run", 1, 10)->total;
    };
    // Waits (real time: the clock thread looks once a second) until `n` fires are queued.
    const auto waitFor = [&](std::int64_t n) {
        for (int i = 0; i < 60 && jobs() < n; ++i) {
            std::this_thread::sleep_for(milliseconds(50));
        }
        return jobs();
    };
    EXPECT_EQ(s.Set("nightly", "every night", [] { return Ok(); }).error().code, ErrorCode::kInvalidArgument);
    ASSERT_TRUE(s.Set("nightly", "0 3 * * *", [] { return Ok(); }));
    std::this_thread::sleep_for(milliseconds(1200));
    EXPECT_EQ(jobs(), 0) << "a cron set now waits for its first time";
    clock_.Advance(std::chrono::hours(25));
    EXPECT_EQ(waitFor(1), 1);
    // Changed: the last run stays, the new expression decides the next.
    ASSERT_TRUE(s.Set("nightly", "@hourly", [] { return Ok(); }));
    clock_.Advance(std::chrono::hours(1));
    EXPECT_EQ(waitFor(2), 2);
    s.Remove("nightly");
    s.Remove("never-set");
    clock_.Advance(std::chrono::hours(48));
    std::this_thread::sleep_for(milliseconds(1200));
    EXPECT_EQ(jobs(), 2) << "a removed cron fires no more";
    EXPECT_EQ(s.RunNow("nightly").error().code, ErrorCode::kNotFound);
    s.Stop();
}

TEST_F(QueueTest, WorkersRunJobsWhenWokenAndRecordTheOutcome) {
    Worker::Options o;
    o.threads = 3;
    o.poll = std::chrono::hours(1);  // only Notify() can wake them in this test
    Worker worker(*queue_, o);
    std::mutex mu;
    std::condition_variable cv;
    int ran = 0;
    worker.Handle("ok", [&](const Job&) -> Result<void> {
        std::lock_guard lock(mu);
        ++ran;
        cv.notify_all();
        return Ok();
    });
    worker.Handle("bad", [&](const Job&) -> Result<void> {
        std::lock_guard lock(mu);
        ++ran;
        cv.notify_all();
        return MakeError(ErrorCode::kInvalidArgument, "malformed");  // final: dead-lettered at once
    });
    worker.Start();
    std::vector<std::string> ids;
    for (int i = 0; i < 5; ++i) {
        ids.push_back(Add("ok"));
    }
    const std::string bad = Add("bad");
    worker.Notify();
    {
        std::unique_lock lock(mu);
        ASSERT_TRUE(cv.wait_for(lock, seconds(10), [&] { return ran == 6; }));
    }
    worker.Stop();  // lets the outcomes be saved
    for (const auto& id : ids) {
        EXPECT_EQ((*queue_->Get(id))->status, "done");
    }
    auto failed = *queue_->Get(bad);
    EXPECT_EQ(failed->status, "failed");
    EXPECT_EQ(failed->last_error, "malformed");
    worker.Stop();  // idempotent
}

TEST_F(QueueTest, AJobKeepsTheEnqueuingSpanAndEachRunIsAChildOfIt) {
    // Enqueued under a span (a write runs under its submitter's): the job stores it.
    const obs::TraceContext request =
        obs::SpanFromHeaders("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "rojo=1");
    std::string traced;
    {
        const obs::ScopedSpan scope(request);
        traced = Add("traced");
    }
    const Job stored = **queue_->Get(traced);
    EXPECT_EQ(stored.traceparent, obs::FormatTraceparent(request));
    EXPECT_EQ(stored.tracestate, "rojo=1");
    // An explicit traceparent wins; none and no span: NULL (a run starts a new trace).
    NewJob given;
    given.kind = "given";
    given.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    const std::string explicit_id = *queue_->Enqueue(given);
    EXPECT_EQ((*queue_->Get(explicit_id))->traceparent, given.traceparent);
    const std::string plain = Add("plain");
    EXPECT_EQ((*queue_->Get(plain))->traceparent, "");

    Worker::Options o;
    o.threads = 1;
    o.poll = std::chrono::hours(1);
    Worker worker(*queue_, o);
    std::mutex mu;
    std::condition_variable cv;
    std::map<std::string, obs::TraceContext> spans;
    auto record = [&](const Job& job) -> Result<void> {
        std::lock_guard lock(mu);
        const obs::TraceContext* span = obs::CurrentSpan();
        spans[job.kind] = span != nullptr ? *span : obs::TraceContext{};
        cv.notify_all();
        return Ok();
    };
    worker.Handle("traced", record);
    worker.Handle("given", record);
    worker.Handle("plain", record);
    worker.Start();
    worker.Notify();
    {
        std::unique_lock lock(mu);
        ASSERT_TRUE(cv.wait_for(lock, seconds(10), [&] { return spans.size() == 3; }));
    }
    worker.Stop();
    const obs::TraceContext& run = spans["traced"];
    EXPECT_EQ(run.trace_id, request.trace_id);
    EXPECT_EQ(run.parent_id, request.span_id);
    EXPECT_NE(run.span_id, request.span_id);
    EXPECT_EQ(run.tracestate, "rojo=1");
    EXPECT_EQ(obs::TraceIdHex(spans["given"]), "0af7651916cd43dd8448eb211c80319c");
    std::string given_parent;
    obs::AppendHex(given_parent, spans["given"].parent_id.data(), spans["given"].parent_id.size());
    EXPECT_EQ(given_parent, "b7ad6b7169203331");
    const obs::TraceContext& fresh = spans["plain"];
    EXPECT_TRUE(fresh.Valid());
    EXPECT_FALSE(fresh.HasParent());
    EXPECT_NE(fresh.trace_id, request.trace_id);
}

}  // namespace
}  // namespace basalt::jobs
