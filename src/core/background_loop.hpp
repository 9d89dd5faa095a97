// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <stop_token>
#include <thread>
#include <vector>

namespace basalt {

/// The threads of one background loop (the event dispatcher, the webhook relay, job workers, the
/// cron clock, the realtime fan-out, the log writer): `std::jthread`s running a body until Stop(),
/// with the two ways such a loop waits — for a wake-up (Notify) with a periodic tick, or for a
/// fixed time — both ending at once when the loop is stopped.
///
/// Wake-ups are counted, not flagged: a thread remembers the count it has seen (`seen`), and a
/// wait returns at once when Notify() was called since. So a wake-up that arrives while the body
/// works is never lost, and with several threads each one notices it. A producer changes its state
/// first and calls Notify() after; a consumer reads the count (Wakeups(), or the `seen` a wait left
/// behind) before it looks at that state.
///
/// Thread-safe. The body must return soon after its stop token is set (every wait here returns
/// false then); Stop() waits for it.
class BackgroundLoop {
public:
    using Body = std::function<void(std::stop_token)>;
    using Duration = std::chrono::steady_clock::duration;
    using TimePoint = std::chrono::steady_clock::time_point;

    BackgroundLoop() = default;
    /// Stops and joins (Stop()).
    ~BackgroundLoop();
    BackgroundLoop(const BackgroundLoop&) = delete;
    BackgroundLoop& operator=(const BackgroundLoop&) = delete;

    /// Starts `threads` threads (at least one), each running `body` with its stop token. Once only.
    void Start(const Body& body, unsigned threads = 1);
    /// Wakes every thread waiting in WaitForWake (and the next wait of one that is working).
    void Notify();
    /// How many times Notify() was called so far.
    std::uint64_t Wakeups() const;

    /// Waits until Notify() was called after the count `seen`, the loop is stopped, or `timeout`
    /// passed (the periodic tick). Sets `seen` to the count when it returns. False when stopping.
    bool WaitForWake(const std::stop_token& stop, std::uint64_t& seen, Duration timeout);
    /// The same without a tick: waits for a wake-up or the stop only.
    bool WaitForWake(const std::stop_token& stop, std::uint64_t& seen);
    /// Waits until `deadline` or the stop, whatever Notify() does. False when stopping.
    bool SleepUntil(const std::stop_token& stop, TimePoint deadline);
    bool SleepFor(const std::stop_token& stop, Duration duration) {
        return SleepUntil(stop, std::chrono::steady_clock::now() + duration);
    }

    /// Asks every thread to stop, wakes them and joins them. Idempotent; a no-op before Start().
    /// Never call it from the loop's own threads.
    void Stop();

private:
    mutable std::mutex mu_;
    std::condition_variable_any cv_;
    std::uint64_t wakeups_ = 0;
    std::vector<std::jthread> threads_;
};

}  // namespace basalt
