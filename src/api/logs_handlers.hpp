// SPDX-License-Identifier: MIT
#pragma once

#include "api/deps.hpp"
#include "http/router.hpp"
#include "logs/log_store.hpp"

namespace basalt::api {

/// PocketBase's logs API, superusers only: GET /api/logs (filter, sort, paging over id, created,
/// level, message, data and data.*), GET /api/logs/stats (entries per hour, filterable) and
/// GET /api/logs/{id}.
void RegisterLogsRoutes(http::Router& router, const Deps& deps);

/// One log entry per request in PocketBase's shape (message "METHOD /decoded/url", data.type
/// "request" with url, method, status, execTime, referer, userAgent, auth, authId, userIP,
/// remoteIP, traceId, spanId and parentId (the request's span, see http::TraceMiddleware), and
/// error/details for failures), at level error for answers ≥ 400 and info otherwise;
/// settings.logs decides what is kept. Client text is cut (url 3,000, referer and user agent 2,000
/// bytes) and made valid UTF-8. Successful calls of the logs API itself are not logged (as
/// PocketBase). Costs the request a few allocations: the store writes on its own thread.
class RequestLogMiddleware final : public http::Middleware {
public:
    explicit RequestLogMiddleware(logs::LogStore& store) : store_(store) {}
    void After(const http::Request& req, http::Response& res) override;

private:
    logs::LogStore& store_;
};

}  // namespace basalt::api
