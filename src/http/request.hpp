// SPDX-License-Identifier: MIT
#pragma once

#include <any>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/spool_file.hpp"
#include "core/text.hpp"
#include "obs/trace.hpp"

namespace basalt::http {

enum class Method { kGet, kHead, kPost, kPut, kPatch, kDelete, kOptions, kOther };

std::string_view MethodName(Method m);
Method ParseMethod(std::string_view name);

using HeaderList = std::vector<std::pair<std::string, std::string>>;

using basalt::EqualsIgnoreCase;  // header names compare case-insensitively

/// One HTTP request as handlers see it: no Beast types, so handlers and services never pull in
/// Asio/Beast headers. Owned by the connection while the handler runs.
struct Request {
    Method method = Method::kGet;
    std::string method_name;  // as sent (for the access log and 405s)
    std::string target;       // raw request-target
    std::string path;         // target without the query, still percent-encoded
    std::string query;        // after '?', without it
    HeaderList headers;
    std::string body;
    /// Set instead of `body` for a multipart body too large to keep in memory: it was streamed to
    /// this unnamed file as it arrived (see HttpConfig::spool_dir); gone when the last holder drops it.
    std::shared_ptr<const SpoolFile> body_file;
    std::string remote_ip;  // the client's IP: the peer's, or one a trusted proxy reported (api layer)
    std::string peer_ip;    // the connection's peer (the proxy, behind one)
    std::chrono::steady_clock::time_point started;
    std::string request_id;
    /// The request's span (TraceMiddleware): a child of the caller's `traceparent`, or a new trace.
    /// Not Valid() before that middleware ran.
    obs::TraceContext trace;

    /// The pattern of the route that matched the path (`/api/collections/{collection}/records`),
    /// set by the router; empty when none did. Points into the router, which outlives requests.
    std::string_view route;
    /// Path parameters filled in by the router, percent-decoded: {"collection", "_superusers"}.
    std::vector<std::pair<std::string, std::string>> params;

    /// Set by the auth middleware of the api layer (an auth::Principal); empty for guests.
    std::any auth;
    /// Headers a middleware's Before wants on the response whatever answers it (the rate limit's
    /// state); that middleware's After adds them.
    HeaderList response_headers;

    /// The first header named `name` (case-insensitive), or an empty view.
    std::string_view Header(std::string_view name) const;
    bool HasHeader(std::string_view name) const;
    /// A path parameter by name, or an empty view.
    std::string_view Param(std::string_view name) const;
    /// The first query parameter named `name`, percent-decoded ('+' is a space), or nullopt.
    std::optional<std::string> QueryParam(std::string_view name) const;
};

/// Decodes %XX escapes (and '+' as space when `plus_as_space`). Invalid escapes are kept as they are.
std::string PercentDecode(std::string_view in, bool plus_as_space = false);

/// Calls fn(key, value) with each non-empty `key[=value]` pair of an
/// application/x-www-form-urlencoded text (a query string or a form body), in order, both still
/// encoded; `value` is nullopt for a bare key. Stops when fn returns false.
template <typename Fn>
void ForEachFormPair(std::string_view text, Fn&& fn) {
    while (!text.empty()) {
        const auto amp = text.find('&');
        const std::string_view pair = text.substr(0, amp);
        text = amp == std::string_view::npos ? std::string_view{} : text.substr(amp + 1);
        if (pair.empty()) {
            continue;
        }
        const auto eq = pair.find('=');
        const auto value = eq == std::string_view::npos ? std::nullopt : std::optional(pair.substr(eq + 1));
        if (!fn(pair.substr(0, eq), value)) {
            return;
        }
    }
}

/// The first value of `name` in a form-encoded text, decoded ('+' is a space); "" for a bare name,
/// nullopt when absent.
std::optional<std::string> FormValue(std::string_view text, std::string_view name);

}  // namespace basalt::http
