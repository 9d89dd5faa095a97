// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

namespace basalt::identity {

/// Brute-force protection for sign-ins, per key (an identity, an IP): the first `free_failures`
/// failures within `window` cost nothing; each one after that closes the key for 2^(n - free) seconds
/// (capped at `max_wait`). A success clears the key. In memory, per node. Thread-safe.
class Throttle {
public:
    struct Options {
        int free_failures = 5;
        std::chrono::seconds window{15 * 60};
        std::chrono::seconds max_wait{15 * 60};
    };
    Throttle() : Throttle(Options{}) {}
    explicit Throttle(Options options) : options_(options) {}

    /// How long `key` stays closed, or nothing when it is open.
    std::optional<std::chrono::seconds> Closed(std::string_view key);
    /// Counts a failure; `free_failures` overrides the option for this key (an IP shared by many
    /// people behind one NAT gets more room than one identity).
    void Failed(std::string_view key, int free_failures = -1);
    void Succeeded(std::string_view key);

private:
    struct Entry {
        int failures = 0;
        std::chrono::steady_clock::time_point first;
        std::chrono::steady_clock::time_point until;
    };
    void Prune(std::chrono::steady_clock::time_point now);

    Options options_;
    std::mutex mu_;
    std::unordered_map<std::string, Entry> entries_;
};

}  // namespace basalt::identity
