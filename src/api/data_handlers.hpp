// SPDX-License-Identifier: MIT
#pragma once

#include "api/deps.hpp"
#include "http/router.hpp"

namespace basalt::api {

/// The collections and settings APIs (superusers only) and the records API (API rules).
void RegisterDataRoutes(http::Router& router, const Deps& deps);

/// Who asks, for the records service: superuser or the request's method, headers (lower_snake,
/// without Authorization), query, `body` and auth record as @request.*.
/// Who is asking and the request as rules see it (@request.*). Headers and query parameters are
/// gathered only when some rule in the current schema reads them.
records::Access AccessFor(
    const http::Request& req, const collections::CollectionStore& store, boost::json::object body = {}
);

}  // namespace basalt::api
