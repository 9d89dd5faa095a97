// SPDX-License-Identifier: MIT
#pragma once

#include <boost/json/object.hpp>

#include "api/deps.hpp"
#include "http/router.hpp"
#include "records/service.hpp"

namespace basalt::api {

/// The auth endpoints of every auth collection (PocketBase's, under /api/collections/{collection}/):
/// auth-methods, auth-with-password (throttled per identity and per IP), auth-refresh, impersonate;
/// and basalt's sessions: auth-logout, GET/DELETE /api/sessions[/{id}].
void RegisterAuthRoutes(http::Router& router, const Deps& deps);

/// For a create/update of a record of an auth collection (`current_id` empty for a create): checks
/// password, passwordConfirm and oldPassword as PocketBase does, that email and verified change only
/// with manage access, and hashes the new password. Blocking (argon2id): call it on the blocking pool.
/// kInvalidArgument with field errors.
Result<records::AuthInput> PrepareAuthInput(
    const Deps& deps,
    const schema::Collection& collection,
    std::string_view current_id,
    const boost::json::object& body,
    const records::Access& access
);

/// A brute-force throttle key: `kind` (identity, ip, otp, otp-ip, totp, password) of collection `c`.
std::string ThrottleKey(std::string_view kind, const schema::Collection& c, std::string_view value);
/// Counts an attempt on every key before it runs, or throws ApiError 429 with Retry-After when one
/// is closed. Call it on the I/O thread, before the password check.
void ReserveAttempt(const Deps& d, const std::vector<std::string>& keys);
/// The attempt succeeded: identity-like keys start afresh, IP keys only get the attempt back.
void AttemptSucceeded(const Deps& d, const std::vector<std::string>& keys);

}  // namespace basalt::api
