// SPDX-License-Identifier: MIT
// auth-with-oauth2: the authorization-code flow with PKCE (PocketBase's record_auth_with_oauth2.go).
#include "api/auth_common.hpp"
#include "api/json_body.hpp"
#include "identity/auth_options.hpp"
#include "identity/oauth2.hpp"
#include "identity/oauth2_accounts.hpp"
#include "obs/log.hpp"

namespace basalt::api::authapi {

namespace {

namespace json = boost::json;
using http::Request;
using http::Response;

// The provider's view of the account, as PocketBase answers it under `meta`.
json::object MetaOf(const identity::OAuth2User& user, bool is_new) {
    return json::object{
        {"id", user.id},
        {"name", user.name},
        {"username", user.username},
        {"email", user.email},
        {"avatarURL", user.avatar_url},
        {"accessToken", user.access_token},
        {"refreshToken", user.refresh_token},
        {"expiry", user.expiry},
        {"isNew", is_new},
        {"rawUser", user.raw},
    };
}

net::awaitable<Response> WithOAuth2(const Deps& d, Request& req) {
    const auto [snap, c] = AuthCollection(d, req);
    if (!identity::AuthOptionsOf(*c).oauth2) {
        throw ApiError::Forbidden("The collection is not configured to allow OAuth2 authentication.");
    }
    const json::object body = DecodeJsonObject(req);
    const std::string provider_name = RequiredString(body, "provider");
    const std::string code = RequiredString(body, "code");
    std::string redirect = StringField(body, "redirectURL");
    if (redirect.empty()) {
        redirect = StringField(body, "redirectUrl");
    }
    const std::string verifier = StringField(body, "codeVerifier");
    const auto provider = identity::ProviderOf(*c, provider_name);
    if (!provider) {
        throw ApiError::BadRequest(
            "An error occurred while validating the submitted data.",
            {{"provider",
              "validation_invalid_provider",
              "Provider with name " + provider_name + " is missing or is not enabled."}}
        );
    }
    json::object create_data;
    if (const auto* v = body.if_contains("createData"); v != nullptr && v->is_object()) {
        create_data = v->as_object();
    }
    const schema::Collection collection = *c;
    // A new account is a sign-up like any other: the createRule with createData as @request.body,
    // hidden fields refused, the client's own rights.
    const records::Access signup = AccessFor(req, d.collections, create_data);
    std::optional<Result<identity::OAuth2User>> user;
    co_await d.io.Run([&] { user.emplace(identity::ExchangeCode(*provider, code, verifier, redirect)); });
    if (!*user) {
        obs::Warn(
            "OAuth2 exchange failed",
            {{"request_id", req.request_id}, {"provider", provider_name}, {"error", user->error().message}}
        );
        throw ApiError::BadRequest("Failed to fetch OAuth2 token.");
    }
    // The account: linked before, or the record with the provider's (verified) email, or new.
    const auto account = co_await Blocking<identity::OAuth2Account>(d, req, [&] {
        return d.oauth2_accounts.AccountFor(collection, *provider, **user, signup);
    });
    co_return co_await FinishSignIn(
        d, req, collection, account.record, "oauth2", MfaIdOf(req, body), MetaOf(**user, account.is_new)
    );
}

}  // namespace

void RegisterOAuth2Routes(http::Router& router, const std::shared_ptr<const Deps>& d) {
    router.Add(http::Method::kPost, "/api/collections/{collection}/auth-with-oauth2", Async(d, &WithOAuth2));
}

}  // namespace basalt::api::authapi
