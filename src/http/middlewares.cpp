// SPDX-License-Identifier: MIT
#include "http/middlewares.hpp"

#include <algorithm>
#include <chrono>
#include <functional>

#include "core/json_text.hpp"
#include "core/random.hpp"
#include "obs/log.hpp"
#include "obs/trace.hpp"

namespace basalt::http {

namespace {

bool IsValidRequestId(std::string_view id) {
    if (id.empty() || id.size() > 128) {
        return false;
    }
    return std::all_of(id.begin(), id.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
               c == '.';
    });
}

std::string NewRequestId() {
    static constexpr char kHex[] = "0123456789abcdef";
    std::uint64_t a = FastRandom64();
    std::uint64_t b = FastRandom64();
    std::string id(32, '0');
    for (std::size_t i = 0; i < 16; ++i) {
        id[i] = kHex[(a >> (i * 4)) & 0xFU];
        id[16 + i] = kHex[(b >> (i * 4)) & 0xFU];
    }
    return id;
}

// Whether an If-None-Match list names `etag` (weak comparison, RFC 9110 §13.1.2) or is "*".
bool NoneMatchNames(std::string_view header, std::string_view etag) {
    const auto opaque = [](std::string_view tag) {
        return tag.starts_with("W/") ? tag.substr(2) : tag;
    };
    while (!header.empty()) {
        const auto comma = header.find(',');
        std::string_view item = header.substr(0, comma);
        header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
        while (!item.empty() && (item.front() == ' ' || item.front() == '\t')) {
            item.remove_prefix(1);
        }
        while (!item.empty() && (item.back() == ' ' || item.back() == '\t')) {
            item.remove_suffix(1);
        }
        if (item == "*" || (!item.empty() && opaque(item) == opaque(etag))) {
            return true;
        }
    }
    return false;
}

}  // namespace

void ETagMiddleware::After(const Request& req, Response& res) {
    if ((req.method != Method::kGet && req.method != Method::kHead) || res.status != 200 || res.stream ||
        res.body_reader || res.body.empty() || !res.Header("Content-Type").starts_with("application/json")) {
        return;
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::uint64_t h = std::hash<std::string_view>{}(res.body);
    std::string etag = "W/\"";
    for (int i = 0; i < 16; ++i, h >>= 4U) {
        etag.push_back(kHex[h & 0xFU]);
    }
    etag.push_back('"');
    res.SetHeader("Cache-Control", req.HasHeader("Authorization") ? "private, no-cache" : "no-cache");
    res.SetHeader("Vary", "Authorization");
    const std::string_view wanted = req.Header("If-None-Match");
    if (!wanted.empty() && NoneMatchNames(wanted, etag)) {
        res.status = 304;
        res.body.clear();
    }
    res.SetHeader("ETag", std::move(etag));
}

std::optional<Response> RequestIdMiddleware::Before(Request& req) {
    std::string_view incoming = req.Header("X-Request-Id");
    req.request_id = IsValidRequestId(incoming) ? std::string(incoming) : NewRequestId();
    return std::nullopt;
}

void RequestIdMiddleware::After(const Request& req, Response& res) {
    res.SetHeader("X-Request-Id", req.request_id);
}

std::optional<Response> TraceMiddleware::Before(Request& req) {
    std::string_view traceparent;
    std::string_view tracestate;
    std::string joined;  // several tracestate headers are one list
    for (const auto& [name, value] : req.headers) {
        if (EqualsIgnoreCase(name, "traceparent")) {
            if (!traceparent.empty()) {
                traceparent = {};  // two traceparents: neither is trusted (the spec's advice)
                break;
            }
            traceparent = value;
        } else if (EqualsIgnoreCase(name, "tracestate")) {
            if (tracestate.empty()) {
                tracestate = value;
            } else {
                if (joined.empty()) {
                    joined = tracestate;
                }
                joined.push_back(',');
                joined += value;
                tracestate = joined;
            }
        }
    }
    req.trace = obs::SpanFromHeaders(traceparent, tracestate);
    obs::SetCurrentSpan(&req.trace);
    return std::nullopt;
}

void TraceMiddleware::After(const Request& /*req*/, Response& /*res*/) {
    obs::SetCurrentSpan(nullptr);
}

void AccessLogMiddleware::After(const Request& req, Response& res) {
    if (!file_ && !obs::Enabled(obs::Level::kInfo)) {
        return;
    }
    const auto us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - req.started).count();
    std::string line;
    line.reserve(256 + req.path.size());
    obs::AppendLinePrefix(line, obs::Level::kInfo, "request");
    line += R"(,"method":)";
    AppendJsonString(line, req.method_name);
    line += R"(,"path":)";
    AppendJsonString(line, req.path);
    line += R"(,"status":)";
    line += std::to_string(res.status);
    line += R"(,"bytes":)";
    line += std::to_string(res.body.size());
    line += R"(,"duration_ms":)";
    // Milliseconds with three decimals, from integer microseconds (no printf on the hot path).
    const auto micros = static_cast<std::uint64_t>(us < 0 ? 0 : us);
    line += std::to_string(micros / 1000);
    const auto frac = static_cast<unsigned>(micros % 1000);
    line.push_back('.');
    line.push_back(static_cast<char>('0' + frac / 100));
    line.push_back(static_cast<char>('0' + frac / 10 % 10));
    line.push_back(static_cast<char>('0' + frac % 10));
    line += R"(,"request_id":)";
    AppendJsonString(line, req.request_id);
    line += R"(,"remote_ip":)";
    AppendJsonString(line, req.remote_ip);
    if (req.trace.Valid()) {
        line += R"(,"traceId":")";
        obs::AppendHex(line, req.trace.trace_id.data(), req.trace.trace_id.size());
        line += R"(","spanId":")";
        obs::AppendHex(line, req.trace.span_id.data(), req.trace.span_id.size());
        line.push_back('"');
    }
    line.push_back('}');
    if (file_) {
        file_->Append(line);
    } else {
        obs::WriteRawLine(line);
    }
}

CorsMiddleware::CorsMiddleware(std::vector<std::string> origins) : origins_(std::move(origins)) {
    any_ = origins_.empty() || std::find(origins_.begin(), origins_.end(), "*") != origins_.end();
}

bool CorsMiddleware::Allowed(std::string_view origin) const {
    return any_ || std::find(origins_.begin(), origins_.end(), origin) != origins_.end();
}

std::optional<Response> CorsMiddleware::Before(Request& req) {
    if (req.method != Method::kOptions) {
        return std::nullopt;
    }
    const std::string_view origin = req.Header("Origin");
    const std::string_view wanted = req.Header("Access-Control-Request-Method");
    if (origin.empty() || wanted.empty()) {
        return std::nullopt;
    }
    Response res = Response::NoContent();
    if (!Allowed(origin)) {
        return res;  // no CORS headers: the browser refuses the actual request
    }
    res.SetHeader("Access-Control-Allow-Methods", "GET, HEAD, PUT, PATCH, POST, DELETE");
    const std::string_view wanted_headers = req.Header("Access-Control-Request-Headers");
    if (!wanted_headers.empty()) {
        res.SetHeader("Access-Control-Allow-Headers", std::string(wanted_headers));
    }
    res.SetHeader("Access-Control-Max-Age", "86400");
    res.SetHeader("Vary", "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
    return res;
}

void CorsMiddleware::After(const Request& req, Response& res) {
    const std::string_view origin = req.Header("Origin");
    if (origin.empty() || !Allowed(origin)) {
        return;
    }
    if (any_) {
        res.SetHeader("Access-Control-Allow-Origin", "*");
    } else {
        res.SetHeader("Access-Control-Allow-Origin", std::string(origin));
        const std::string_view vary = res.Header("Vary");
        if (vary.empty()) {
            res.SetHeader("Vary", "Origin");
        } else if (vary.find("Origin") == std::string_view::npos) {
            res.SetHeader("Vary", std::string(vary) + ", Origin");
        }
    }
}

void SecurityHeadersMiddleware::After(const Request& req, Response& res) {
    res.headers.emplace_back("X-Xss-Protection", "1; mode=block");
    res.headers.emplace_back("X-Content-Type-Options", "nosniff");
    // Uploaded files may be embedded anywhere (PocketBase drops the header for them too); they are
    // sandboxed by their own Content-Security-Policy instead.
    if (!req.path.starts_with("/api/files/")) {
        res.headers.emplace_back("X-Frame-Options", "SAMEORIGIN");
    }
}

}  // namespace basalt::http
