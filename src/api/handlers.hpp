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

/// GET /api/health.
http::Handler HealthHandler(const Deps& deps);
/// POST /api/collections/{collection}/auth-with-password.
http::Handler AuthWithPasswordHandler(const Deps& deps);
/// POST /api/collections/{collection}/auth-refresh.
http::Handler AuthRefreshHandler(const Deps& deps);

/// PocketBase's record JSON for an auth record (password and tokenKey never included).
std::string AuthRecordJson(const auth::AuthRecord& record, bool include_email);

}  // namespace basalt::api
