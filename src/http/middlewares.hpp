// SPDX-License-Identifier: MIT
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "http/router.hpp"
#include "obs/log.hpp"
#include "obs/metrics.hpp"

namespace basalt::http {

/// Keeps a well-formed incoming X-Request-Id (at most 128 of [A-Za-z0-9._-]) or makes a new one;
/// echoes it on the response.
class RequestIdMiddleware final : public Middleware {
public:
    std::optional<Response> Before(Request& req) override;
    void After(const Request& req, Response& res) override;
};

/// W3C Trace Context: the request's span (`Request::trace`) is a child of the span its
/// `traceparent` names (with its `tracestate`, when valid) or, without one or with a malformed one,
/// the root of a new trace. Before sets it as the thread's span (obs::CurrentSpan: log lines carry
/// its ids) for the chain and the handler's synchronous part; After clears it. Nothing is added to
/// the response (a traceparent response header is not standard). Costs two random numbers and no
/// allocation when the request has no tracestate.
class TraceMiddleware final : public Middleware {
public:
    std::optional<Response> Before(Request& req) override;
    void After(const Request& req, Response& res) override;
};

/// One JSON line per request: time, method, path, status, bytes, duration, request id, ip, trace and
/// span ids; to
/// `file` (the access log file, shared) or, when null, the process log on stdout.
class AccessLogMiddleware final : public Middleware {
public:
    explicit AccessLogMiddleware(std::shared_ptr<obs::LineWriter> file = nullptr) : file_(std::move(file)) {}
    void After(const Request& req, Response& res) override;

private:
    std::shared_ptr<obs::LineWriter> file_;
};

/// CORS. `origins` holds the allowed origins; "*" allows any (PocketBase's default).
/// Preflight requests (OPTIONS + Origin + Access-Control-Request-Method) are answered with 204.
class CorsMiddleware final : public Middleware {
public:
    explicit CorsMiddleware(std::vector<std::string> origins);
    std::optional<Response> Before(Request& req) override;
    void After(const Request& req, Response& res) override;

private:
    bool Allowed(std::string_view origin) const;
    std::vector<std::string> origins_;
    bool any_ = false;
};

/// HTTP revalidation of JSON answers (records, lists, collections, settings): a 200 JSON answer to
/// GET or HEAD gets a weak ETag (a 64-bit hash of its body) and `Cache-Control: no-cache` — `private`
/// as well when the request carried Authorization — and `Vary: Authorization`, so that no shared
/// cache ever serves one user's answer to another and every cached answer is revalidated. A request
/// whose If-None-Match names that ETag (or "*") gets 304 with no body. Streams and file bodies are
/// left alone (files have their own validators).
class ETagMiddleware final : public Middleware {
public:
    void After(const Request& req, Response& res) override;
};

/// Counts every answer by route pattern, method and status, with its latency (from the request's
/// head read to the answer built), for the metrics endpoint. Put it first in the chain, so that its
/// After sees the final status. A request costs one clock read and one uncontended lock (the counts
/// are kept per thread and summed at a scrape). Thread-safe.
class RequestMetricsMiddleware final : public Middleware {
public:
    RequestMetricsMiddleware();
    ~RequestMetricsMiddleware() override;
    RequestMetricsMiddleware(const RequestMetricsMiddleware&) = delete;
    RequestMetricsMiddleware& operator=(const RequestMetricsMiddleware&) = delete;
    void After(const Request& req, Response& res) override;
    /// basalt_http_request_duration_seconds{route,method,status}: unmatched paths have the route
    /// "unmatched", unknown methods the method "OTHER".
    void Collect(obs::Exposition& out) const;

private:
    struct Shard;
    std::unique_ptr<Shard[]> shards_;
};

/// The security headers PocketBase sends on every response.
class SecurityHeadersMiddleware final : public Middleware {
public:
    void After(const Request& req, Response& res) override;
};

}  // namespace basalt::http
