// SPDX-License-Identifier: MIT
#include "core/background_loop.hpp"

#include <atomic>
#include <chrono>
#include <future>
#include <mutex>
#include <vector>

#include <gtest/gtest.h>

namespace basalt {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;

TEST(BackgroundLoop, AWakeUpBeforeTheWaitIsNotLost) {
    BackgroundLoop loop;
    std::stop_source source;
    std::uint64_t seen = loop.Wakeups();
    loop.Notify();  // while "working": the next wait returns at once
    EXPECT_TRUE(loop.WaitForWake(source.get_token(), seen, hours(1)));
    EXPECT_EQ(seen, 1U);
    loop.Notify();
    loop.Notify();
    EXPECT_TRUE(loop.WaitForWake(source.get_token(), seen));
    EXPECT_EQ(seen, 3U);  // two wake-ups, one pass
}

TEST(BackgroundLoop, TheTickEndsAWaitWithoutAWakeUp) {
    BackgroundLoop loop;
    std::stop_source source;
    std::uint64_t seen = 0;
    const auto started = std::chrono::steady_clock::now();
    EXPECT_TRUE(loop.WaitForWake(source.get_token(), seen, milliseconds(5)));
    EXPECT_GE(std::chrono::steady_clock::now() - started, milliseconds(5));
    EXPECT_EQ(seen, 0U);
}

TEST(BackgroundLoop, WaitsReturnFalseOnceStopped) {
    BackgroundLoop loop;
    std::stop_source source;
    source.request_stop();
    std::uint64_t seen = 0;
    EXPECT_FALSE(loop.WaitForWake(source.get_token(), seen, hours(1)));
    EXPECT_FALSE(loop.WaitForWake(source.get_token(), seen));
    EXPECT_FALSE(loop.SleepFor(source.get_token(), hours(1)));
}

TEST(BackgroundLoop, NotifyWakesTheLoopThread) {
    BackgroundLoop loop;
    std::promise<void> woke;
    std::atomic<int> passes{0};
    loop.Start([&](const std::stop_token& stop) {
        std::uint64_t seen = 0;
        while (loop.WaitForWake(stop, seen, hours(1))) {
            if (passes.fetch_add(1) == 0) {
                woke.set_value();
            }
        }
    });
    loop.Notify();
    woke.get_future().wait();  // an hour's tick: only the wake-up can end the wait
    loop.Stop();
    EXPECT_GE(passes.load(), 1);
}

TEST(BackgroundLoop, EveryThreadSeesAWakeUp) {
    BackgroundLoop loop;
    std::mutex mu;
    int woken = 0;
    std::promise<void> all;
    std::atomic<int> waiting{0};
    std::promise<void> ready;
    loop.Start(
        [&](const std::stop_token& stop) {
            std::uint64_t seen = 0;
            if (waiting.fetch_add(1) == 2) {
                ready.set_value();
            }
            if (!loop.WaitForWake(stop, seen)) {
                return;
            }
            std::lock_guard lock(mu);
            if (++woken == 3) {
                all.set_value();
            }
        },
        3
    );
    ready.get_future().wait();
    loop.Notify();  // counted: a thread that reaches its wait later still sees it
    all.get_future().wait();
    loop.Stop();
    EXPECT_EQ(woken, 3);
}

TEST(BackgroundLoop, StopEndsWaitsAndSleepsAndJoins) {
    BackgroundLoop loop;
    std::atomic<int> ended{0};
    std::atomic<int> started{0};
    std::promise<void> ready;
    loop.Start(
        [&](const std::stop_token& stop) {
            if (started.fetch_add(1) == 1) {
                ready.set_value();
            }
            std::uint64_t seen = 0;
            while (loop.WaitForWake(stop, seen) && loop.SleepFor(stop, hours(1))) {
            }
            ended.fetch_add(1);
        },
        2
    );
    ready.get_future().wait();
    loop.Notify();  // one of them may now sleep for an hour: Stop must end that too
    loop.Stop();
    EXPECT_EQ(ended.load(), 2);
    loop.Stop();  // idempotent
}

TEST(BackgroundLoop, SleepIgnoresWakeUps) {
    BackgroundLoop loop;
    std::stop_source source;
    loop.Notify();
    const auto started = std::chrono::steady_clock::now();
    EXPECT_TRUE(loop.SleepFor(source.get_token(), milliseconds(10)));
    EXPECT_GE(std::chrono::steady_clock::now() - started, milliseconds(10));
}

TEST(BackgroundLoop, StopWithoutStartIsANoOp) {
    BackgroundLoop loop;
    loop.Stop();
    loop.Stop();
}

}  // namespace
}  // namespace basalt
