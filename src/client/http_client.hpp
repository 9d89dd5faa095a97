// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace basalt::client {

/// An outgoing HTTP request (OAuth2 token and user info calls; webhooks later).
struct HttpRequest {
    std::string method = "GET";
    std::string url;
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::chrono::seconds timeout{15};
    std::size_t max_response_bytes = 1 << 20;
    /// Refuse to connect to loopback, private, link-local, multicast and reserved addresses (checked
    /// on the address actually connected to, so DNS answers cannot smuggle one in): webhooks.
    bool block_private = false;
};

struct HttpResponse {
    long status = 0;
    std::string body;
};

/// Performs `request` with libcurl (http and https only, redirects not followed, bounded response).
/// Blocking, up to `timeout`: never on an I/O thread. kUnavailable when the server cannot be reached,
/// times out or answers more than `max_response_bytes`; any HTTP status is a success here.
Result<HttpResponse> Fetch(const HttpRequest& request);

/// Whether `ip` (textual IPv4 or IPv6) is one that block_private refuses. Unparsable text is blocked.
bool IsPrivateAddress(std::string_view ip);

/// application/x-www-form-urlencoded of `fields`.
std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace basalt::client
