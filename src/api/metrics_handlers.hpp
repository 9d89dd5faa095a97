// SPDX-License-Identifier: MIT
#pragma once

#include "api/deps.hpp"
#include "http/router.hpp"
#include "obs/metrics.hpp"

namespace basalt::api {

/// GET /api/metrics: every family of `deps.metrics` in Prometheus' text format, for superusers or
/// a bearer token equal to settings.metrics.token (a scraper's). Rendered off the I/O threads.
void RegisterMetricsRoutes(http::Router& router, const Deps& deps);

/// The API layer's own families: basalt_auth_throttled_total (sign-in attempts the throttle
/// refused) and basalt_pool_{queued, rejected_total}{pool} (the request pools).
void CollectApiMetrics(const Deps& deps, obs::Exposition& out);

/// The answer to a scrape: the registry's text with its content type.
http::Response MetricsResponse(const obs::Registry& registry);

}  // namespace basalt::api
