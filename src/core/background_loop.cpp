// SPDX-License-Identifier: MIT
#include "core/background_loop.hpp"

#include <algorithm>

namespace basalt {

BackgroundLoop::~BackgroundLoop() {
    Stop();
}

void BackgroundLoop::Start(const Body& body, unsigned threads) {
    const unsigned n = std::max(1U, threads);
    threads_.reserve(n);
    for (unsigned i = 0; i < n; ++i) {
        // Each jthread hands its own stop token to the body; condition_variable_any's waits with
        // that token wake up when Stop() requests it, without a flag of our own.
        threads_.emplace_back([body](std::stop_token stop) { body(std::move(stop)); });
    }
}

void BackgroundLoop::Notify() {
    {
        std::lock_guard lock(mu_);
        ++wakeups_;
    }
    cv_.notify_all();
}

std::uint64_t BackgroundLoop::Wakeups() const {
    std::lock_guard lock(mu_);
    return wakeups_;
}

bool BackgroundLoop::WaitForWake(const std::stop_token& stop, std::uint64_t& seen, Duration timeout) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, stop, timeout, [&] { return wakeups_ != seen; });
    seen = wakeups_;
    return !stop.stop_requested();
}

bool BackgroundLoop::WaitForWake(const std::stop_token& stop, std::uint64_t& seen) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, stop, [&] { return wakeups_ != seen; });
    seen = wakeups_;
    return !stop.stop_requested();
}

bool BackgroundLoop::SleepUntil(const std::stop_token& stop, TimePoint deadline) {
    std::unique_lock lock(mu_);
    cv_.wait_until(lock, stop, deadline, [] { return false; });
    return !stop.stop_requested();
}

void BackgroundLoop::Stop() {
    for (auto& t : threads_) {
        t.request_stop();
    }
    for (auto& t : threads_) {
        if (t.joinable()) {
            t.join();
        }
    }
}

}  // namespace basalt
