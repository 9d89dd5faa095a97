// SPDX-License-Identifier: MIT
#pragma once

#include "api/deps.hpp"
#include "http/router.hpp"

namespace basalt::api {

/// Reads `Authorization: <token>` (a "Bearer " prefix is accepted) and makes the request that
/// principal's. An invalid, expired, forged or alg=none token leaves it a guest; only endpoints that
/// need auth answer 401.
class AuthMiddleware final : public http::Middleware {
public:
    explicit AuthMiddleware(const Deps& deps) : deps_(deps) {}
    std::optional<http::Response> Before(http::Request& req) override;

private:
    Deps deps_;
};

/// The token of `Authorization: [Bearer ]<token>`, or empty.
std::string_view BearerToken(const http::Request& req);

/// GET /api/health.
http::Handler HealthHandler(const Deps& deps);
}  // namespace basalt::api
