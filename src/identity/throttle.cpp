// SPDX-License-Identifier: MIT
#include "identity/throttle.hpp"

#include <algorithm>

#include "core/text.hpp"

namespace basalt::identity {

namespace {

std::string_view KindName(ThrottleKind kind) {
    switch (kind) {
        case ThrottleKind::kIdentity:
            return "identity";
        case ThrottleKind::kIp:
            return "ip";
        case ThrottleKind::kOtp:
            return "otp";
        case ThrottleKind::kOtpIp:
            return "otp-ip";
        case ThrottleKind::kTotp:
            return "totp";
        case ThrottleKind::kPassword:
            return "password";
    }
    return "?";
}

bool IsIpKey(std::string_view k) {
    return k.starts_with("ip\x1f") || k.starts_with("otp-ip\x1f");
}

}  // namespace

std::string ThrottleKey(ThrottleKind kind, std::string_view collection_id, std::string_view value) {
    std::string key(KindName(kind));
    key += '\x1f';
    key += collection_id;
    key += '\x1f';
    key += ToLower(value);
    return key;
}

std::optional<std::chrono::seconds> Throttle::ReserveAll(const std::vector<std::string>& keys) {
    for (const auto& k : keys) {
        if (auto wait = Closed(k)) {
            refused_.fetch_add(1, std::memory_order_relaxed);
            return wait;
        }
    }
    for (const auto& k : keys) {
        if (auto wait = Reserve(k, IsIpKey(k) ? kIpFreeFailures : -1)) {
            refused_.fetch_add(1, std::memory_order_relaxed);
            return wait;
        }
    }
    return std::nullopt;
}

void Throttle::SucceededAll(const std::vector<std::string>& keys) {
    for (const auto& k : keys) {
        if (IsIpKey(k)) {
            Refund(k);
        } else {
            Succeeded(k);
        }
    }
}

namespace {
constexpr std::size_t kPruneAbove = 50000;
}

std::optional<std::chrono::seconds> Throttle::Closed(std::string_view key) {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mu_);
    auto it = entries_.find(std::string(key));
    if (it == entries_.end() || it->second.until <= now) {
        return std::nullopt;
    }
    return std::chrono::duration_cast<std::chrono::seconds>(it->second.until - now) + std::chrono::seconds(1);
}

std::optional<std::chrono::seconds> Throttle::Reserve(std::string_view key, int free_failures) {
    const auto now = std::chrono::steady_clock::now();
    std::lock_guard lock(mu_);
    if (entries_.size() > kPruneAbove) {
        Prune(now);
    }
    Entry& e = entries_[std::string(key)];
    if (e.until > now) {
        return std::chrono::duration_cast<std::chrono::seconds>(e.until - now) + std::chrono::seconds(1);
    }
    if (e.failures == 0 || now - e.first > options_.window) {
        e = Entry{0, now, now};
    }
    ++e.failures;
    const int over = e.failures - (free_failures >= 0 ? free_failures : options_.free_failures);
    if (over > 0) {
        // This attempt runs; the key stays closed behind it.
        const auto wait = std::chrono::seconds(std::int64_t{1} << std::min(over - 1, 20));
        e.until = now + std::min<std::chrono::seconds>(wait, options_.max_wait);
        e.first = now;  // the window follows an ongoing attack
    }
    return std::nullopt;
}

void Throttle::Refund(std::string_view key) {
    std::lock_guard lock(mu_);
    if (auto it = entries_.find(std::string(key)); it != entries_.end() && it->second.failures > 0) {
        --it->second.failures;
    }
}

void Throttle::Succeeded(std::string_view key) {
    std::lock_guard lock(mu_);
    entries_.erase(std::string(key));
}

void Throttle::Prune(std::chrono::steady_clock::time_point now) {
    std::erase_if(entries_, [&](const auto& kv) {
        return kv.second.until <= now && now - kv.second.first > options_.window;
    });
}

}  // namespace basalt::identity
