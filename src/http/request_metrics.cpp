// SPDX-License-Identifier: MIT
// RequestMetricsMiddleware: request counts and latencies by route, method and status.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <unordered_map>

#include "http/middlewares.hpp"

namespace basalt::http {

namespace {

constexpr std::size_t kShards = 8;

// A route is its pattern's address in the router (stable while it serves), so a key is hashed
// without touching text.
struct Key {
    const char* route = nullptr;
    std::size_t route_size = 0;
    Method method = Method::kOther;
    int status = 0;
    bool operator==(const Key&) const = default;
};

struct KeyHash {
    std::size_t operator()(const Key& k) const noexcept {
        return std::hash<const void*>()(k.route) ^ (static_cast<std::size_t>(k.method) << 10U) ^
               (static_cast<std::size_t>(k.status) << 16U);
    }
};

std::size_t ThreadShard() {
    static std::atomic<std::size_t> next{0};
    thread_local const std::size_t shard = next.fetch_add(1, std::memory_order_relaxed) % kShards;
    return shard;
}

}  // namespace

struct RequestMetricsMiddleware::Shard {
    std::mutex mu;
    std::unordered_map<Key, std::unique_ptr<obs::Histogram>, KeyHash> series;
};

RequestMetricsMiddleware::RequestMetricsMiddleware() : shards_(std::make_unique<Shard[]>(kShards)) {}
RequestMetricsMiddleware::~RequestMetricsMiddleware() = default;

void RequestMetricsMiddleware::After(const Request& req, Response& res) {
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - req.started).count();
    const Key key{req.route.data(), req.route.size(), req.method, res.status};
    Shard& shard = shards_[ThreadShard()];
    std::lock_guard lock(shard.mu);
    auto& h = shard.series[key];
    if (!h) {
        h = std::make_unique<obs::Histogram>(obs::LatencyBuckets());
    }
    h->Observe(seconds);
}

void RequestMetricsMiddleware::Collect(obs::Exposition& out) const {
    // Merged across shards and sorted (route, method, status), so that a scrape reads stably.
    std::map<std::tuple<std::string, std::string, int>, obs::HistogramSnapshot> merged;
    for (std::size_t i = 0; i < kShards; ++i) {
        Shard& shard = shards_[i];
        std::lock_guard lock(shard.mu);
        for (const auto& [key, h] : shard.series) {
            std::string route = key.route_size == 0 ? std::string("unmatched") : std::string(key.route, key.route_size);
            std::string method(key.method == Method::kOther ? std::string_view("OTHER") : MethodName(key.method));
            merged[{std::move(route), std::move(method), key.status}].Merge(h->Snapshot());
        }
    }
    static constexpr std::string_view kName = "basalt_http_request_duration_seconds";
    out.Family(
        kName,
        obs::MetricType::kHistogram,
        "Time from a request's head read to its answer built, by route pattern, method and status "
        "(_count: requests answered)."
    );
    for (const auto& [key, h] : merged) {
        const std::string status = std::to_string(std::get<2>(key));
        const obs::Label labels[] = {{"route", std::get<0>(key)}, {"method", std::get<1>(key)}, {"status", status}};
        out.HistogramSamples(kName, labels, h);
    }
}

}  // namespace basalt::http
