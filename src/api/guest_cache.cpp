// SPDX-License-Identifier: MIT
#include "api/guest_cache.hpp"

#include <algorithm>
#include <functional>
#include <mutex>
#include <unordered_map>
#include <utility>

namespace basalt::api {

namespace {

constexpr std::size_t kShards = 8;
constexpr std::size_t kMaxEntry = std::size_t{256} * 1024;

// Heterogeneous lookup: a lookup by string_view allocates nothing.
struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view key) const noexcept { return std::hash<std::string_view>()(key); }
};

struct Entry {
    std::uint64_t version = 0;
    std::shared_ptr<const std::string> body;
};

}  // namespace

struct GuestCache::Shard {
    mutable std::mutex mu;
    std::unordered_map<std::string, Entry, KeyHash, std::equal_to<>> entries;
    std::size_t bytes = 0;  // bodies and keys
};

GuestCache::GuestCache(std::size_t max_bytes)
    : max_bytes_(max_bytes),
      max_entry_(std::min(kMaxEntry, max_bytes / 64)),
      shards_(std::make_unique<Shard[]>(kShards)) {}

GuestCache::~GuestCache() = default;

GuestCache::Shard& GuestCache::ShardFor(std::string_view key) const {
    return shards_[std::hash<std::string_view>()(key) % kShards];
}

std::shared_ptr<const std::string> GuestCache::Find(std::string_view key, std::uint64_t version) const {
    Shard& s = ShardFor(key);
    std::shared_ptr<const std::string> body;
    {
        std::lock_guard lock(s.mu);
        const auto it = s.entries.find(key);
        if (it != s.entries.end() && it->second.version == version) {
            body = it->second.body;
        }
    }
    (body ? hits_ : misses_).Add();
    return body;
}

void GuestCache::Store(std::string_view key, std::uint64_t version, std::uint64_t current, std::string body) {
    const std::size_t size = key.size() + body.size();
    if (version != current || size > max_entry_) {
        return;
    }
    auto shared = std::make_shared<const std::string>(std::move(body));
    Shard& s = ShardFor(key);
    const std::size_t cap = max_bytes_ / kShards;
    std::lock_guard lock(s.mu);
    if (s.bytes + size > cap) {
        // Stale entries first (every write makes all of them stale), then everything.
        for (auto it = s.entries.begin(); it != s.entries.end();) {
            if (it->second.version != current) {
                s.bytes -= it->first.size() + it->second.body->size();
                it = s.entries.erase(it);
            } else {
                ++it;
            }
        }
        if (s.bytes + size > cap) {
            s.entries.clear();
            s.bytes = 0;
        }
    }
    auto [it, inserted] = s.entries.try_emplace(std::string(key));
    if (!inserted) {
        s.bytes -= it->first.size() + it->second.body->size();
    }
    it->second = Entry{version, std::move(shared)};
    s.bytes += size;
}

void GuestCache::CollectMetrics(obs::Exposition& out) const {
    std::size_t bytes = 0;
    std::size_t entries = 0;
    for (std::size_t i = 0; i < kShards; ++i) {
        std::lock_guard lock(shards_[i].mu);
        bytes += shards_[i].bytes;
        entries += shards_[i].entries.size();
    }
    out.CounterValue(
        "basalt_guest_cache_hits_total",
        "Guest record lists and views answered from the response cache.",
        static_cast<double>(hits_.Value())
    );
    out.CounterValue(
        "basalt_guest_cache_misses_total",
        "Cacheable guest record lists and views the response cache did not hold (or held stale).",
        static_cast<double>(misses_.Value())
    );
    out.GaugeValue(
        "basalt_guest_cache_bytes",
        "Bytes of answers (and their keys) the response cache holds, stale ones included.",
        static_cast<double>(bytes)
    );
    out.GaugeValue("basalt_guest_cache_entries", "Answers the response cache holds.", static_cast<double>(entries));
}

}  // namespace basalt::api
