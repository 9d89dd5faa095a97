// SPDX-License-Identifier: MIT
#pragma once

#include <memory>

#include "api/deps.hpp"
#include "http/router.hpp"

namespace basalt::api {

/// Installs the middleware chain and every route of the Web API on `router`.
/// `cors_origins` are the allowed CORS origins ("*" = any); `access_log` logs each request (null:
/// no access log).
void RegisterRoutes(
    http::Router& router,
    const Deps& deps,
    const std::vector<std::string>& cors_origins,
    std::shared_ptr<http::Middleware> access_log
);

/// The principal of a request, or nullptr for a guest.
const auth::Principal* RequestAuth(const http::Request& req);

}  // namespace basalt::api
