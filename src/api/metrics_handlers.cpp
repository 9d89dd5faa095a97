// SPDX-License-Identifier: MIT
#include "api/metrics_handlers.hpp"

#include <array>
#include <string>
#include <utility>

#include "api/data_handlers.hpp"
#include "api/handlers.hpp"
#include "auth/password.hpp"

namespace basalt::api {

namespace {

// A scraper's bearer token: equal to settings.metrics.token (compared through digests in constant
// time, so that neither the length nor a prefix leaks).
bool IsScraper(const Deps& deps, const http::Request& req) {
    const std::string token = deps.settings.MetricsToken();
    const std::string_view given = BearerToken(req);
    if (token.empty() || given.empty()) {
        return false;
    }
    return auth::ConstantTimeEquals(auth::Sha256Hex(given), auth::Sha256Hex(token));
}

}  // namespace

http::Response MetricsResponse(const obs::Registry& registry) {
    http::Response res;
    res.body = registry.Render();
    res.SetHeader("Content-Type", std::string(obs::kExpositionContentType));
    res.SetHeader("Cache-Control", "no-store");
    return res;
}

void RegisterMetricsRoutes(http::Router& router, const Deps& deps) {
    router.Add(
        http::Method::kGet,
        "/api/metrics",
        http::AsyncHandler([deps](http::Request& req) -> net::awaitable<http::Response> {
            if (!IsScraper(deps, req)) {
                RequireSuperuser(req);
            }
            co_return co_await deps.queries.Call([&] { return MetricsResponse(deps.metrics); });
        })
    );
}

void CollectApiMetrics(const Deps& deps, obs::Exposition& out) {
    out.CounterValue(
        "basalt_auth_throttled_total",
        "Sign-in, OTP and password-reset attempts refused by the guessing throttle.",
        static_cast<double>(deps.throttle.Refused())
    );
    const std::array<std::pair<std::string_view, const BlockingPool*>, 3> pools{{
        {"hashing", &deps.blocking},
        {"queries", &deps.queries},
        {"outbound", &deps.io},
    }};
    out.Family("basalt_pool_queued", obs::MetricType::kGauge, "Tasks queued or running in a request pool.");
    for (const auto& [name, pool] : pools) {
        out.Sample("basalt_pool_queued", {{"pool", name}}, static_cast<double>(pool->Queued()));
    }
    out.Family(
        "basalt_pool_rejected_total",
        obs::MetricType::kCounter,
        "Requests answered 503 because a request pool's queue was full."
    );
    for (const auto& [name, pool] : pools) {
        out.Sample("basalt_pool_rejected_total", {{"pool", name}}, static_cast<double>(pool->Rejected()));
    }
}

}  // namespace basalt::api
