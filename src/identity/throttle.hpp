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
/// attempts within `window` cost nothing; each one after that closes the key for 2^(n - free) seconds
/// (capped at `max_wait`). An attempt is counted when it starts (Reserve), before the password is
/// checked, so concurrent guesses cannot all slip past the check: at most one attempt runs per
/// opening. A success clears an identity's key (Succeeded) but only gives back its own attempt on an
/// IP's key (Refund): an attacker's own valid sign-ins do not buy guesses. In memory, per node.
/// Thread-safe.
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
    /// Counts an attempt on `key` unless it is closed; returns how long it stays closed (the attempt
    /// must not run) or nothing (it may). `free_failures` overrides the option for this key (an IP
    /// shared by many people behind one NAT gets more room than one identity).
    std::optional<std::chrono::seconds> Reserve(std::string_view key, int free_failures = -1);
    /// The attempt succeeded: the key starts afresh.
    void Succeeded(std::string_view key);
    /// The attempt succeeded but the key keeps its history (an IP): only that attempt is given back.
    void Refund(std::string_view key);

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
