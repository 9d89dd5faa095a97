// SPDX-License-Identifier: MIT
#include "api/handlers.hpp"

#include <algorithm>

#include "api/routes.hpp"
#include "core/ip.hpp"
#include "core/json_text.hpp"
#include "obs/log.hpp"

namespace basalt::api {

std::string_view BearerToken(const http::Request& req) {
    std::string_view value = req.Header("Authorization");
    if (value.size() > 7 && http::EqualsIgnoreCase(value.substr(0, 7), "Bearer ")) {
        value.remove_prefix(7);
    }
    while (!value.empty() && value.front() == ' ') {
        value.remove_prefix(1);
    }
    return value;
}

std::optional<http::Response> AuthMiddleware::Before(http::Request& req) {
    const std::string_view token = BearerToken(req);
    if (token.empty()) {
        return std::nullopt;
    }
    auto principal =
        identity::ApiKeyStore::IsKey(token) ? deps_.api_keys.Authenticate(token) : deps_.tokens.Authenticate(token);
    if (principal) {
        // settings.superuserIPs (PocketBase's whitelist): a superuser from any other client IP is
        // refused, whatever the request.
        if ((*principal)->superuser) {
            const auto net = deps_.settings.TrustedProxy();
            if (!net->superuser_ips.empty()) {
                const auto ip = ParseIp(req.remote_ip);
                const bool listed =
                    ip && std::any_of(net->superuser_ips.begin(), net->superuser_ips.end(), [&](const auto& t) {
                        const auto n = ParseIpNetwork(t);
                        return n && Contains(*n, *ip);
                    });
                if (!listed) {
                    return http::Response::FromApiError(
                        ApiError::Forbidden("You are not allowed to perform this request.")
                    );
                }
            }
        }
        req.auth = std::move(*principal);
    } else if (principal.error().code != ErrorCode::kUnauthorized) {
        obs::Warn("token check failed", {{"request_id", req.request_id}, {"error", principal.error().message}});
    }
    return std::nullopt;
}

http::Handler HealthHandler(const Deps& /*deps*/) {
    return http::SyncHandler([](http::Request& req) {
        const auth::Principal* p = RequestAuth(req);
        if (p == nullptr || !p->superuser) {
            return http::Response::Json(200, R"({"code":200,"data":{},"message":"API is healthy."})");
        }
        std::string body = R"({"code":200,"data":{"canBackup":true,"possibleProxyHeader":"","realIP":)";
        AppendJsonString(body, req.remote_ip);
        body += R"(},"message":"API is healthy."})";
        return http::Response::Json(200, std::move(body));
    });
}

}  // namespace basalt::api
