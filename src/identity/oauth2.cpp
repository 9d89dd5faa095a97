// SPDX-License-Identifier: MIT
#include "identity/oauth2.hpp"

#include <cctype>

#include <boost/json/parse.hpp>
#include <sodium.h>

#include "client/http_client.hpp"
#include "collections/auth_collection.hpp"
#include "core/base64.hpp"
#include "core/clock.hpp"
#include "core/random.hpp"
#include "core/text.hpp"

namespace basalt::identity {

namespace {

namespace json = boost::json;

std::string Str(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (v == nullptr) {
        return {};
    }
    if (v->is_string()) {
        return std::string(v->as_string());
    }
    if (v->is_int64()) {
        return std::to_string(v->as_int64());
    }
    if (v->is_uint64()) {
        return std::to_string(v->as_uint64());
    }
    return {};
}

}  // namespace

std::vector<ProviderInfo> ProviderCatalog() {
    // PocketBase's providers (tools/auth/*.go) in its order: names and display names are facts.
    static constexpr std::pair<std::string_view, std::string_view> kPocketBase[] = {
        {"apple", "Apple"},
        {"google", "Google"},
        {"microsoft", "Microsoft"},
        {"yandex", "Yandex"},
        {"facebook", "Facebook"},
        {"instagram2", "Instagram"},
        {"github", "GitHub"},
        {"gitlab", "GitLab"},
        {"bitbucket", "Bitbucket"},
        {"gitee", "Gitee"},
        {"gitea", "Gitea/Forgejo"},
        {"discord", "Discord"},
        {"twitter", "X/Twitter"},
        {"kakao", "Kakao"},
        {"vk", "ВКонтакте"},
        {"linear", "Linear"},
        {"notion", "Notion"},
        {"monday", "monday.com"},
        {"lark", "Lark"},
        {"box", "Box"},
        {"spotify", "Spotify"},
        {"trakt", "Trakt"},
        {"twitch", "Twitch"},
        {"patreon", "Patreon"},
        {"strava", "Strava"},
        {"wakatime", "WakaTime"},
        {"livechat", "LiveChat"},
        {"mailcow", "mailcow"},
        {"planningcenter", "Planning Center"},
        {"oidc", "OIDC"},
        {"oidc2", "OIDC"},
        {"oidc3", "OIDC"},
    };
    std::vector<ProviderInfo> out;
    for (const bool supported : {true, false}) {
        for (const auto& [name, display] : kPocketBase) {
            if ((collections::FindOAuth2Provider(name) != nullptr) == supported) {
                out.push_back({name, display, supported});
            }
        }
    }
    return out;
}

std::string ProviderLogo(std::string_view display_name) {
    // The first character (a whole UTF-8 sequence), upper-cased when ASCII.
    std::string letter;
    if (!display_name.empty()) {
        std::size_t n = 1;
        while (n < display_name.size() && (static_cast<unsigned char>(display_name[n]) & 0xC0U) == 0x80U) {
            ++n;
        }
        letter = display_name.substr(0, n);
        if (n == 1) {
            letter[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(letter[0])));
        }
    }
    if (letter == "<" || letter == "&") {
        letter = "?";
    }
    return R"(<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32" width="32" height="32">)"
           R"(<circle cx="16" cy="16" r="15" fill="#e4e9ec" stroke="#a0a6ac" stroke-width="1"/>)"
           R"(<text x="16" y="21.5" text-anchor="middle" font-family="sans-serif" font-size="15" )"
           R"(font-weight="600" fill="#16161a">)" +
           letter + "</text></svg>";
}

std::vector<OAuth2Provider> ProvidersOf(const schema::Collection& c) {
    std::vector<OAuth2Provider> out;
    const auto* o = c.options.if_contains("oauth2");
    const auto* list = o != nullptr && o->is_object() ? o->as_object().if_contains("providers") : nullptr;
    if (list == nullptr || !list->is_array()) {
        return out;
    }
    for (const auto& v : list->as_array()) {
        if (!v.is_object()) {
            continue;
        }
        const auto& p = v.as_object();
        OAuth2Provider x;
        x.name = Str(p, "name");
        const collections::OAuth2Defaults* d = collections::FindOAuth2Provider(x.name);
        if (d == nullptr) {
            continue;
        }
        x.display_name = Str(p, "displayName");
        x.client_id = Str(p, "clientId");
        x.client_secret = Str(p, "clientSecret");
        x.auth_url = Str(p, "authURL");
        x.token_url = Str(p, "tokenURL");
        x.user_info_url = Str(p, "userInfoURL");
        x.display_name = x.display_name.empty() ? d->display : x.display_name;
        x.auth_url = x.auth_url.empty() ? d->auth : x.auth_url;
        x.token_url = x.token_url.empty() ? d->token : x.token_url;
        x.user_info_url = x.user_info_url.empty() ? d->user_info : x.user_info_url;
        x.scopes = d->scopes;
        if (const auto* pk = p.if_contains("pkce"); pk != nullptr && pk->is_bool()) {
            x.pkce = pk->as_bool();
        }
        if (!x.client_id.empty() && !x.auth_url.empty() && !x.token_url.empty() && !x.user_info_url.empty()) {
            out.push_back(std::move(x));
        }
    }
    return out;
}

std::optional<OAuth2Provider> ProviderOf(const schema::Collection& c, std::string_view name) {
    for (auto& p : ProvidersOf(c)) {
        if (p.name == name) {
            return p;
        }
    }
    return std::nullopt;
}

OAuth2Start StartFlow(const OAuth2Provider& p) {
    OAuth2Start s;
    s.state = SecureRandomString(30, kAlphanumeric);
    s.code_verifier = SecureRandomString(43, kAlphanumeric);
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(s.code_verifier.data()), s.code_verifier.size());
    s.code_challenge = Base64UrlEncode(std::string_view(reinterpret_cast<const char*>(digest), sizeof(digest)));
    s.auth_url = p.auth_url + (p.auth_url.find('?') == std::string::npos ? "?" : "&") +
                 "client_id=" + PercentEncode(p.client_id) + "&response_type=code&scope=" + PercentEncode(p.scopes) +
                 "&state=" + PercentEncode(s.state);
    if (p.pkce) {
        s.auth_url += "&code_challenge=" + s.code_challenge + "&code_challenge_method=S256";
    }
    s.auth_url += "&redirect_uri=";
    return s;
}

Result<OAuth2User> ExchangeCode(
    const OAuth2Provider& p, std::string_view code, std::string_view code_verifier, std::string_view redirect_url
) {
    client::HttpRequest token;
    token.method = "POST";
    token.url = p.token_url;
    token.headers = {{"Content-Type", "application/x-www-form-urlencoded"}, {"Accept", "application/json"}};
    std::vector<std::pair<std::string, std::string>> form{
        {"grant_type", "authorization_code"},
        {"code", std::string(code)},
        {"redirect_uri", std::string(redirect_url)},
        {"client_id", p.client_id},
        {"client_secret", p.client_secret},
    };
    if (p.pkce) {
        form.emplace_back("code_verifier", std::string(code_verifier));
    }
    token.body = client::FormEncode(form);
    BASALT_ASSIGN_OR_RETURN(auto tr, client::Fetch(token));
    boost::system::error_code ec;
    const auto tj = json::parse(tr.body, ec);
    if (tr.status < 200 || tr.status >= 300 || ec || !tj.is_object()) {
        return MakeError(
            ErrorCode::kInvalidArgument, "the provider refused the code (HTTP " + std::to_string(tr.status) + ")"
        );
    }
    OAuth2User u;
    const auto& t = tj.as_object();
    u.access_token = Str(t, "access_token");
    u.refresh_token = Str(t, "refresh_token");
    if (const auto* e = t.if_contains("expires_in"); e != nullptr && e->is_int64()) {
        u.expiry = FormatDateTime(std::chrono::system_clock::now() + std::chrono::seconds(e->as_int64()));
    }
    if (u.access_token.empty()) {
        return MakeError(ErrorCode::kInvalidArgument, "the provider gave no access token");
    }
    client::HttpRequest info;
    info.url = p.user_info_url;
    info.headers = {{"Authorization", "Bearer " + u.access_token}, {"Accept", "application/json"}};
    BASALT_ASSIGN_OR_RETURN(auto ir, client::Fetch(info));
    const auto ij = json::parse(ir.body, ec);
    if (ir.status < 200 || ir.status >= 300 || ec || !ij.is_object()) {
        return MakeError(
            ErrorCode::kUnavailable, "the provider's user info is unreadable (HTTP " + std::to_string(ir.status) + ")"
        );
    }
    u.raw = ij.as_object();
    const auto& r = u.raw;
    u.id = Str(r, "sub").empty() ? Str(r, "id") : Str(r, "sub");
    u.email = Str(r, "email");
    u.name = Str(r, "name").empty() ? Str(r, "global_name") : Str(r, "name");
    u.username = !Str(r, "preferred_username").empty() ? Str(r, "preferred_username")
                 : !Str(r, "login").empty()            ? Str(r, "login")
                                                       : Str(r, "username");
    u.avatar_url = Str(r, "picture").empty() ? Str(r, "avatar_url") : Str(r, "picture");
    for (const char* key : {"email_verified", "verified"}) {
        if (const auto* v = r.if_contains(key)) {
            u.email_verified = (v->is_bool() && v->as_bool()) || (v->is_string() && v->as_string() == "true");
        }
    }
    if (p.name == "github" && !u.email.empty()) {
        u.email_verified = true;  // GitHub returns only a verified primary address on /user
    }
    if (u.id.empty()) {
        return MakeError(ErrorCode::kUnavailable, "the provider's user info has no id");
    }
    return u;
}

}  // namespace basalt::identity
