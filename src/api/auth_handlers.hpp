// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <vector>

#include "api/deps.hpp"
#include "http/router.hpp"

namespace basalt::api {

/// The auth endpoints. Per auth collection, under /api/collections/{collection}/ (PocketBase's):
/// auth-methods, auth-with-password, auth-refresh (auth_password.cpp); request-otp, auth-with-otp
/// (auth_otp.cpp); auth-with-oauth2 (auth_oauth2.cpp); request-verification, confirm-verification,
/// request-password-reset, confirm-password-reset, request-email-change, confirm-email-change
/// (auth_email.cpp); impersonate/{id} and basalt's auth-logout (auth_sessions.cpp); basalt's TOTP:
/// totp-setup, totp-enable, totp-disable, auth-with-totp (auth_totp.cpp). basalt's
/// GET/DELETE /api/sessions, DELETE /api/sessions/{id} (auth_sessions.cpp) and POST/GET /api/keys,
/// DELETE /api/keys/{id} (api_keys_handlers.cpp). The flows themselves are identity's.
void RegisterAuthRoutes(http::Router& router, const Deps& deps);

/// Counts an attempt on every throttle key (identity::ThrottleKey) before it runs, or throws
/// ApiError 429 with Retry-After when one is closed. Call it on the I/O thread, before the password
/// check.
void ReserveAttempt(const Deps& d, const std::vector<std::string>& keys);
/// The attempt succeeded: identity-like keys start afresh, IP keys only get the attempt back.
void AttemptSucceeded(const Deps& d, const std::vector<std::string>& keys);

}  // namespace basalt::api
