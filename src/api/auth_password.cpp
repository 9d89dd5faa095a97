// SPDX-License-Identifier: MIT
// auth-methods, auth-with-password, auth-refresh (PocketBase's record_auth_methods.go,
// record_auth_password.go, record_auth_refresh.go).
#include <algorithm>

#include "api/auth_common.hpp"
#include "api/handlers.hpp"
#include "api/json_body.hpp"
#include "collections/auth_collection.hpp"
#include "identity/auth_options.hpp"
#include "identity/oauth2.hpp"
#include "identity/sign_in.hpp"
#include "identity/throttle.hpp"

namespace basalt::api::authapi {

namespace {

namespace json = boost::json;
using http::Request;
using http::Response;

Response Methods(const Deps& d, Request& req) {
    const auto [snap, c] = AuthCollection(d, req);
    const identity::AuthOptions options = identity::AuthOptionsOf(*c);
    json::array identity_fields;
    bool email_identity = false;
    bool username_identity = false;
    for (const auto& f : collections::IdentityFields(*c)) {
        email_identity = email_identity || f == "email";
        username_identity = username_identity || f == "username";
        identity_fields.emplace_back(f);
    }
    json::array providers;
    if (options.oauth2) {
        // A fresh state and PKCE pair per call; the client keeps the verifier for the exchange.
        for (const auto& p : identity::ProvidersOf(*c)) {
            const auto start = identity::StartFlow(p);
            providers.push_back(json::object{
                {"name", p.name},
                {"displayName", p.display_name},
                {"state", start.state},
                {"authURL", start.auth_url},
                {"authUrl", start.auth_url},
                {"codeVerifier", start.code_verifier},
                {"codeChallenge", start.code_challenge},
                {"codeChallengeMethod", "S256"},
                {"logo", ""},
            });
        }
    }
    const bool password = options.password_auth;
    return JsonResponse(json::object{
        {"password", {{"enabled", password}, {"identityFields", identity_fields}}},
        {"oauth2", {{"enabled", options.oauth2 && !providers.empty()}, {"providers", providers}}},
        {"mfa", {{"enabled", options.mfa}, {"duration", options.mfa ? options.mfa_duration : 0}}},
        {"otp", {{"enabled", options.otp}, {"duration", options.otp ? options.otp_duration : 0}}},
        // PocketBase's legacy keys, still read by older SDKs.
        {"authProviders", providers},
        {"usernamePassword", password && username_identity},
        {"emailPassword", password && email_identity},
    });
}

// The identity and password as PocketBase validates them (400 with field errors).
void CheckPasswordBody(
    const schema::Collection& c,
    const std::string& identity,
    const std::string& password,
    const std::string& identity_field
) {
    const auto fields = collections::IdentityFields(c);
    std::vector<FieldError> errors;
    auto check = [&errors](const std::string& name, const std::string& value) {
        if (value.empty()) {
            errors.push_back({name, "validation_required", "Cannot be blank."});
        } else if (value.size() > 255) {
            errors.push_back({name, "validation_length_out_of_range", "The length must be between 1 and 255."});
        }
    };
    check("identity", identity);
    check("password", password);
    if (!identity_field.empty() && std::find(fields.begin(), fields.end(), identity_field) == fields.end()) {
        errors.push_back({"identityField", "validation_in_invalid", "Must be a valid value."});
    }
    if (!errors.empty()) {
        throw ApiError::BadRequest("An error occurred while validating the submitted data.", std::move(errors));
    }
}

net::awaitable<Response> WithPassword(const Deps& d, Request& req) {
    const auto [snap, c] = AuthCollection(d, req);
    if (!identity::AuthOptionsOf(*c).password_auth) {
        throw ApiError::Forbidden("The collection is not configured to allow password authentication.");
    }
    const json::object body = DecodeJsonObject(req);
    const std::string identity = StringField(body, "identity");
    const std::string password = StringField(body, "password");
    const std::string identity_field = StringField(body, "identityField");
    CheckPasswordBody(*c, identity, password, identity_field);
    const std::vector<std::string> throttle_keys{
        identity::ThrottleKey(identity::ThrottleKind::kIdentity, c->id, identity),
        identity::ThrottleKey(identity::ThrottleKind::kIp, c->id, req.remote_ip)};
    ReserveAttempt(d, throttle_keys);
    // The lookup and the argon2id check run on the blocking pool.
    const schema::Collection collection = *c;
    const auto found = co_await Blocking<std::optional<auth::AuthRecord>>(d, req, [&] {
        return d.sign_in.FindByPassword(collection, identity, identity_field, password);
    });
    if (!found) {
        throw ApiError::BadRequest("Failed to authenticate.");  // the attempt stays counted
    }
    AttemptSucceeded(d, throttle_keys);
    co_return co_await FinishSignIn(d, req, collection, *found, "password", MfaIdOf(req, body));
}

net::awaitable<Response> Refresh(const Deps& d, Request& req) {
    const auto [snap, c] = AuthCollection(d, req);
    const std::string token(BearerToken(req));
    if (token.empty()) {
        throw ApiError::Unauthorized("The request requires valid record authorization token.");
    }
    // Credential-sensitive: the record and the session are read again, not taken from a cache.
    std::optional<Result<std::shared_ptr<const auth::Principal>>> checked;
    co_await d.blocking.Run([&] { checked.emplace(d.tokens.Authenticate(token, /*fresh=*/true)); });
    if (!*checked) {
        if (checked->error().code == ErrorCode::kUnauthorized) {
            throw ApiError::Unauthorized("The request requires valid record authorization token.");
        }
        ThrowApiError(req, checked->error());
    }
    const auto& p = **checked;
    if (p->record.collection_id != c->id) {
        throw ApiError::Forbidden("The request requires auth record from the " + c->name + " collection.");
    }
    CheckAuthRule(d, req, *c, p->record);
    std::string fresh_token = token;
    if (p->refreshable) {
        auto t = d.tokens.Issue(p->record, p->session_id, true);
        if (!t) {
            ThrowApiError(req, t.error());
        }
        fresh_token = std::move(*t);
    }
    co_return JsonResponse(AuthResponse(d, req, *c, p->record, fresh_token));
}

}  // namespace

void RegisterPasswordRoutes(http::Router& router, const std::shared_ptr<const Deps>& d) {
    using http::Method;
    router.Add(Method::kGet, "/api/collections/{collection}/auth-methods", Sync(d, &Methods));
    router.Add(Method::kPost, "/api/collections/{collection}/auth-with-password", Async(d, &WithPassword));
    router.Add(Method::kPost, "/api/collections/{collection}/auth-refresh", Async(d, &Refresh));
}

}  // namespace basalt::api::authapi
