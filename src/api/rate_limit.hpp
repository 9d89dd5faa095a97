// SPDX-License-Identifier: MIT
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "api/deps.hpp"
#include "http/router.hpp"
#include "obs/metrics.hpp"
#include "settings/settings_store.hpp"

namespace basalt::api {

/// A label as up to three pieces compared as their concatenation ("users" ":" "create",
/// "GET" " " "/api/health"), so a request's labels cost no allocation.
struct RateLimitLabel {
    std::array<std::string_view, 3> parts{};

    /// Whether the pieces spell `text`.
    bool Equals(std::string_view text) const;
    /// Whether the pieces followed by "/" start with `prefix` (a path-prefix rule's label).
    bool SlashedStartsWith(std::string_view prefix) const;
};

/// PocketBase's rule lookup (RateLimitsConfig.FindRateLimitRule): the first label of `labels` that
/// a rule of an allowed audience names exactly wins; rules whose label ends in "/" are also tried
/// as path prefixes of each label in turn. nullptr when none.
const settings::RateLimitRule* FindRateLimitRule(
    const std::vector<settings::RateLimitRule>& rules, std::span<const RateLimitLabel> labels, bool signed_in
);

/// Generic cell rate limiters (GCRA): each key may make `max` requests at once, then one every
/// `duration / max` — the same long-run rate as PocketBase's fixed windows without their double
/// burst at a window's edge. Memory is bounded: at most `max_keys` keys, in shards; a full shard
/// first forgets keys whose limit has fully recovered, then any key (which then starts afresh).
/// Thread-safe.
class RateLimiter {
public:
    explicit RateLimiter(std::size_t max_keys = 100'000);

    struct Decision {
        bool allowed = false;
        std::int64_t remaining = 0;            // requests still allowed right now
        std::int64_t reset_seconds = 0;        // until the full quota is back
        std::int64_t retry_after_seconds = 0;  // when refused: until the next request is allowed
    };
    Decision Take(
        const std::string& key, const settings::RateLimitRule& rule, std::chrono::steady_clock::time_point now
    );
    /// Forgets every key (the rules changed).
    void Clear();
    std::size_t Size() const;

private:
    struct Shard {
        mutable std::mutex mu;
        std::unordered_map<std::string, std::int64_t> tat;  // key -> theoretical arrival time (ns)
    };
    static constexpr std::size_t kShards = 16;
    std::size_t max_per_shard_;
    std::array<Shard, kShards> shards_;
};

/// settings.rateLimits on every request, after the auth middleware: PocketBase's labels and
/// matching (`METHOD /path` and `/path` for every request; for the records, auth and file routes
/// also `<collection>:<tag>` and `*:<tag>` — list, view, create, update, delete, auth,
/// authWithPassword, …, file), keyed by the auth record (an API key by its id) or else the client
/// IP (after settings.trustedProxy). Superusers and settings.rateLimits.excludedIPs are never
/// limited. A refused request gets PocketBase's 429 with `Retry-After`; limited answers carry the
/// IETF draft's `RateLimit-Policy` and `RateLimit` headers.
class RateLimitMiddleware final : public http::Middleware {
public:
    explicit RateLimitMiddleware(const Deps& deps) : deps_(deps) {}
    std::optional<http::Response> Before(http::Request& req) override;
    void After(const http::Request& req, http::Response& res) override;
    /// basalt_rate_limit_rejections_total and basalt_rate_limit_keys (clients tracked).
    void Collect(obs::Exposition& out) const;

private:
    Deps deps_;
    RateLimiter limiter_;
    obs::Counter rejected_;
    std::mutex rules_mu_;
    std::shared_ptr<const settings::RateLimitSettings> rules_seen_;  // the limiter's keys are for these
    // rules_seen_'s address, read without the mutex on every request (rules_seen_ keeps it alive,
    // so an equal address is the same settings).
    std::atomic<const settings::RateLimitSettings*> rules_seen_raw_{nullptr};
};

}  // namespace basalt::api
