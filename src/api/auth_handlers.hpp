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

}  // namespace basalt::api
