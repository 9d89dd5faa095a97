// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "core/result.hpp"
#include "schema/collection.hpp"

namespace basalt::collections {

/// The system fields every auth collection has after `id`, in PocketBase's order: password,
/// tokenKey, email, emailVisibility, verified.
std::vector<schema::Field> AuthSystemFields();

/// Gives an auth collection its system fields: those missing are added after `id`; a field of the
/// same name keeps its place but takes the system definition.
void EnsureAuthFields(schema::Collection& c);
/// Adds the unique indexes on tokenKey and on email (where set) unless present.
void EnsureAuthIndexes(schema::Collection& c);

/// The auth options of `c` (PocketBase's keys: authRule, manageRule, passwordAuth, oauth2, mfa, otp,
/// authAlert, the token configs and the email templates): `body` overlays the current options
/// (`existing`, or the defaults for a new collection). Token secrets are write-only: kept, or
/// generated for a new collection. Problems become field errors under the option's key.
void ApplyAuthOptions(
    const boost::json::object& body,
    const schema::Collection* existing,
    schema::Collection& c,
    std::vector<FieldError>& errors
);

/// Field names an auth collection accepts as identities (passwordAuth.identityFields).
std::vector<std::string> IdentityFields(const schema::Collection& c);

/// The defaults of an OAuth2 provider basalt knows by name (google, github, gitlab, discord,
/// microsoft; oidc, oidc2, oidc3 take their URLs from the configuration).
struct OAuth2Defaults {
    const char* name;
    const char* display;
    const char* auth;
    const char* token;
    const char* user_info;
    const char* scopes;
};
const OAuth2Defaults* FindOAuth2Provider(std::string_view name);

/// A token setting of an auth collection ("authToken", "passwordResetToken", ...): its secret and
/// lifetime in seconds.
struct TokenConfig {
    std::string secret;
    std::int64_t duration = 0;
};
TokenConfig TokenConfigOf(const schema::Collection& c, std::string_view key);

}  // namespace basalt::collections
