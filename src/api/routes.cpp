// SPDX-License-Identifier: MIT
#include "api/routes.hpp"

#include "api/auth_handlers.hpp"
#include "api/backup_handlers.hpp"
#include "api/batch_handler.hpp"
#include "api/client_ip.hpp"
#include "api/data_handlers.hpp"
#include "api/fields_picker.hpp"
#include "api/file_handlers.hpp"
#include "api/handlers.hpp"
#include "api/logs_handlers.hpp"
#include "api/metrics_handlers.hpp"
#include "api/ops_handlers.hpp"
#include "api/rate_limit.hpp"
#include "api/realtime_handlers.hpp"
#include "api/sql_handler.hpp"
#include "http/middlewares.hpp"

namespace basalt::api {

const auth::Principal* RequestAuth(const http::Request& req) {
    const auto* p = std::any_cast<std::shared_ptr<const auth::Principal>>(&req.auth);
    return p != nullptr ? p->get() : nullptr;
}

void RegisterRoutes(
    http::Router& router,
    const Deps& deps,
    const std::vector<std::string>& cors_origins,
    std::shared_ptr<http::Middleware> access_log
) {
    using http::Method;
    // Order matters: the request metrics first (their After runs last: the final status), the
    // client IP and the request id next (every later step logs with them), the access log next so
    // that it sees the final response of everything after it.
    auto request_metrics = std::make_shared<http::RequestMetricsMiddleware>();
    auto rate_limits = std::make_shared<RateLimitMiddleware>(deps);
    router.Use(request_metrics);
    router.Use(std::make_shared<ClientIpMiddleware>(deps.settings));  // every later step sees the client's IP
    router.Use(std::make_shared<http::RequestIdMiddleware>());
    router.Use(std::make_shared<http::TraceMiddleware>());  // the request's span: every later step's log lines
    if (access_log) {
        router.Use(std::move(access_log));
    }
    router.Use(std::make_shared<RequestLogMiddleware>(deps.logs));  // after auth's After: sees who asked
    router.Use(std::make_shared<http::SecurityHeadersMiddleware>());
    router.Use(std::make_shared<http::CorsMiddleware>(cors_origins));
    router.Use(std::make_shared<http::ETagMiddleware>());  // After: on the final body, fields picked
    router.Use(std::make_shared<AuthMiddleware>(deps));
    router.Use(rate_limits);                           // knows who asks: keys by auth record
    router.Use(std::make_shared<FieldsMiddleware>());  // After runs first: picks before CORS/logging

    router.Add(Method::kGet, "/api/health", HealthHandler(deps));
    RegisterAuthRoutes(router, deps);
    RegisterDataRoutes(router, deps);
    router.Add(Method::kPost, "/api/batch", BatchHandler(deps));
    RegisterRealtimeRoutes(router, deps);
    RegisterOpsRoutes(router, deps);
    RegisterSqlRoutes(router, deps);
    RegisterFileRoutes(router, deps);
    RegisterLogsRoutes(router, deps);
    RegisterMetricsRoutes(router, deps);
    RegisterBackupRoutes(router, deps);
    deps.metrics.Add([deps, request_metrics, rate_limits](obs::Exposition& out) {
        request_metrics->Collect(out);
        rate_limits->Collect(out);
        CollectApiMetrics(deps, out);
    });
}

}  // namespace basalt::api
