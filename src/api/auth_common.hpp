// SPDX-License-Identifier: MIT
// What the auth endpoint families (auth_*.cpp) share: the collection a request names, who may ask,
// the body's required strings, the throttle, the answer of a sign-in. Internal to api.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "api/auth_handlers.hpp"
#include "api/data_handlers.hpp"
#include "api/deps.hpp"
#include "http/router.hpp"

namespace basalt::api::authapi {

namespace net = boost::asio;

/// The auth collection the request's {collection} names (404 in PocketBase's words for anything else).
std::pair<std::shared_ptr<const collections::Snapshot>, const schema::Collection*> AuthCollection(
    const Deps& d, const http::Request& req
);

/// A signed-in record with a session (API keys have none: they cannot manage sessions, MFA or email).
const auth::Principal& RequireAuth(const http::Request& req);
/// RequireAuth, and the record must belong to `c` (403 otherwise).
const auth::Principal& RequireOwn(const http::Request& req, const schema::Collection& c);
/// A superuser (with the "admin" scope when the request came with an API key).
const auth::Principal& RequireAdmin(const http::Request& req);

/// A non-empty string member of at most 4096 bytes (400 naming the field otherwise).
std::string RequiredString(const boost::json::object& body, std::string_view key);
/// A RequiredString that is an email address.
std::string RequiredEmail(const boost::json::object& body, std::string_view key);

/// The mfaId of a second sign-in method (?mfaId= or the body's), at most 64 characters.
std::string MfaIdOf(const http::Request& req, const boost::json::object& body);

/// {"record": ..., "token": ...} for the signed-in record: its email always, hidden fields only for
/// superusers, no rule (a user may always see their own record here).
boost::json::object AuthResponse(
    const Deps& d,
    const http::Request& req,
    const schema::Collection& c,
    const auth::AuthRecord& r,
    const std::string& token
);

/// The collection's authRule for `r` (403 when it refuses).
void CheckAuthRule(const Deps& d, const http::Request& req, const schema::Collection& c, const auth::AuthRecord& r);

/// The end of every successful sign-in method: the auth rule, then identity::SignInService::Finish —
/// 401 {mfaId} when a second method is needed, else the auth response (with `meta` when given).
net::awaitable<http::Response> FinishSignIn(
    const Deps& d,
    http::Request& req,
    const schema::Collection& c,
    const auth::AuthRecord& r,
    std::string method,
    std::string mfa_id,
    std::optional<boost::json::object> meta = std::nullopt
);

/// Runs `fn` on the blocking pool; a failure becomes the API error (Fail).
template <typename T>
net::awaitable<T> Blocking(const Deps& d, const http::Request& req, std::function<Result<T>()> fn) {
    std::optional<Result<T>> r;
    co_await d.blocking.Run([&] { r.emplace(fn()); });
    if (!*r) {
        ThrowApiError(req, r->error());
    }
    if constexpr (!std::is_void_v<T>) {
        co_return std::move(**r);
    }
}

/// An endpoint of a family: a function of the API's dependencies and the request.
using AsyncFn = net::awaitable<http::Response> (*)(const Deps&, http::Request&);
using SyncFn = http::Response (*)(const Deps&, http::Request&);
/// Handlers that keep `d` alive as long as the router holds them (every coroutine refers to it).
http::Handler Async(const std::shared_ptr<const Deps>& d, AsyncFn fn);
http::Handler Sync(const std::shared_ptr<const Deps>& d, SyncFn fn);

// The families, each in its own file (PocketBase's apis/record_auth_*.go split).
/// auth_password.cpp: auth-methods, auth-with-password, auth-refresh.
void RegisterPasswordRoutes(http::Router& router, const std::shared_ptr<const Deps>& d);
/// auth_otp.cpp: request-otp, auth-with-otp.
void RegisterOtpRoutes(http::Router& router, const std::shared_ptr<const Deps>& d);
/// auth_totp.cpp: totp-setup, totp-enable, totp-disable, auth-with-totp.
void RegisterTotpRoutes(http::Router& router, const std::shared_ptr<const Deps>& d);
/// auth_oauth2.cpp: auth-with-oauth2.
void RegisterOAuth2Routes(http::Router& router, const std::shared_ptr<const Deps>& d);
/// auth_email.cpp: request/confirm-verification, request/confirm-password-reset,
/// request/confirm-email-change.
void RegisterEmailRoutes(http::Router& router, const std::shared_ptr<const Deps>& d);
/// auth_sessions.cpp: impersonate, auth-logout, /api/sessions.
void RegisterSessionRoutes(http::Router& router, const std::shared_ptr<const Deps>& d);
/// api_keys_handlers.cpp: /api/keys.
void RegisterKeyRoutes(http::Router& router, const std::shared_ptr<const Deps>& d);

}  // namespace basalt::api::authapi
