// SPDX-License-Identifier: MIT
#pragma once

#include "api/deps.hpp"
#include "http/router.hpp"

namespace basalt::api {

/// The collections and settings APIs (superusers only) and the records API (API rules).
void RegisterDataRoutes(http::Router& router, const Deps& deps);

/// Who asks, for the records service: superuser or the request's method, headers (lower_snake,
/// without Authorization), query, `body` and auth record as @request.*.
records::Access AccessFor(const http::Request& req, boost::json::object body = {});

}  // namespace basalt::api
