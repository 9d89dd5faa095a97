// SPDX-License-Identifier: MIT
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "core/result.hpp"
#include "schema/collection.hpp"

namespace basalt::identity {

/// One OAuth2 provider of an auth collection (oauth2.providers[]), with the defaults of a named
/// provider (google, github, gitlab, discord, microsoft) filled in; "oidc" (and oidc2, oidc3) take
/// every URL from the configuration.
struct OAuth2Provider {
    std::string name;
    std::string display_name;
    std::string client_id;
    std::string client_secret;
    std::string auth_url;
    std::string token_url;
    std::string user_info_url;
    std::string scopes;
    bool pkce = true;
};

std::vector<OAuth2Provider> ProvidersOf(const schema::Collection& collection);
std::optional<OAuth2Provider> ProviderOf(const schema::Collection& collection, std::string_view name);

/// One provider of PocketBase's list (GET /api/collections/meta/oauth2-providers).
struct ProviderInfo {
    std::string_view name;
    std::string_view display_name;  // PocketBase's
    bool supported = false;         // basalt has its endpoints (a named default, or oidc*)
};

/// Every OAuth2 provider PocketBase knows: the ones basalt can sign in with first, then the others,
/// each group in PocketBase's order (its `order`, then name).
std::vector<ProviderInfo> ProviderCatalog();

/// A neutral logo for a provider (PocketBase ships each provider's artwork; basalt does not): the
/// display name's first letter in a circle, as SVG markup.
std::string ProviderLogo(std::string_view display_name);

/// What a client needs to start the authorization-code flow: PocketBase's auth-methods entry.
struct OAuth2Start {
    std::string state;
    std::string code_verifier;
    std::string code_challenge;  // S256
    std::string auth_url;        // ends with "&redirect_uri=" for the client to complete
};
OAuth2Start StartFlow(const OAuth2Provider& provider);

/// The account the provider vouches for, and its tokens.
struct OAuth2User {
    std::string id;
    std::string name;
    std::string username;
    std::string email;
    bool email_verified = false;
    std::string avatar_url;
    std::string access_token;
    std::string refresh_token;
    std::string expiry;
    boost::json::object raw;
};

/// Exchanges an authorization code (with its PKCE verifier) for tokens at the provider's token URL,
/// then reads the user. Blocking (two HTTP calls): never on an I/O thread. kInvalidArgument when the
/// provider refuses the code; kUnavailable when it cannot be reached or answers nonsense.
Result<OAuth2User> ExchangeCode(
    const OAuth2Provider& provider, std::string_view code, std::string_view code_verifier, std::string_view redirect_url
);

}  // namespace basalt::identity
