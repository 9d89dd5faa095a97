// SPDX-License-Identifier: MIT
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace basalt::identity {

/// What a sign-in attempt is counted against.
enum class ThrottleKind {
    kIdentity,  // an identity (email, username) of password sign-ins
    kIp,        // the client's IP for password sign-ins
    kOtp,       // an address OTPs are requested for (mail bombing is throttled like guessing)
    kOtpIp,     // the client's IP for OTP requests
    kTotp,      // a record's TOTP codes
    kPassword,  // password checks of a signed-in record (oldPassword, totp-setup, totp-disable)
};

/// The key of `kind` for `value` (case-insensitive) in auth collection `collection_id`.
std::string ThrottleKey(ThrottleKind kind, std::string_view collection_id, std::string_view value);

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

    /// One attempt counted on every key of ThrottleKey: when none is closed, counts it on each (the
    /// keys of an IP get kIpFreeFailures free attempts, so that one person's typos do not lock out
    /// everyone behind the same NAT) and returns nothing; otherwise how long to wait.
    std::optional<std::chrono::seconds> ReserveAll(const std::vector<std::string>& keys);
    /// The attempt of ReserveAll succeeded: an identity (or a TOTP record) starts afresh; an IP only
    /// gets its attempt back, so that an attacker's own sign-ins do not reset the count of guesses.
    void SucceededAll(const std::vector<std::string>& keys);
    /// Attempts ReserveAll refused (since start).
    std::uint64_t Refused() const { return refused_.load(std::memory_order_relaxed); }

    static constexpr int kIpFreeFailures = 30;

private:
    struct Entry {
        int failures = 0;
        std::chrono::steady_clock::time_point first;
        std::chrono::steady_clock::time_point until;
    };
    void Prune(std::chrono::steady_clock::time_point now);

    Options options_;
    std::atomic<std::uint64_t> refused_{0};
    std::mutex mu_;
    std::unordered_map<std::string, Entry> entries_;
};

}  // namespace basalt::identity
