// SPDX-License-Identifier: MIT
// basalt's TOTP (an authenticator app as a second sign-in method): totp-setup, totp-enable,
// totp-disable, auth-with-totp.
#include <string>
#include <type_traits>

#include "api/auth_common.hpp"
#include "api/json_body.hpp"
#include "auth/totp.hpp"
#include "identity/sign_in.hpp"
#include "identity/throttle.hpp"
#include "identity/totps.hpp"

namespace basalt::api::authapi {

namespace {

namespace json = boost::json;
using http::Request;
using http::Response;

// A password check for a signed-in record is throttled like a sign-in (a stolen token must not turn
// into a password oracle).
std::vector<std::string> PasswordKeys(const schema::Collection& c, const auth::Principal& p) {
    return {identity::ThrottleKey(identity::ThrottleKind::kPassword, c.id, p.record.id)};
}

// Checks the signed-in record's password from the body (throttled like a sign-in), then runs
// `then(record)` in the same blocking call; the throttle counts the attempt a success after both.
template <typename T, typename Fn>
net::awaitable<T> WithOwnPassword(
    const Deps& d, Request& req, const schema::Collection& c, const auth::Principal& p, Fn then
) {
    const std::string password = RequiredString(DecodeJsonObject(req), "password");
    const auto throttle_keys = PasswordKeys(c, p);
    ReserveAttempt(d, throttle_keys);
    auto run = [&]() -> Result<T> {
        BASALT_ASSIGN_OR_RETURN(auto rec, d.sign_in.CheckPassword(c, p.record.id, password));
        return then(rec);
    };
    if constexpr (std::is_void_v<T>) {
        co_await Blocking<void>(d, req, run);
        AttemptSucceeded(d, throttle_keys);
    } else {
        T out = co_await Blocking<T>(d, req, run);
        AttemptSucceeded(d, throttle_keys);
        co_return out;
    }
}

net::awaitable<Response> Setup(const Deps& d, Request& req) {
    const auto [snap, c] = AuthCollection(d, req);
    const auth::Principal& p = RequireOwn(req, *c);
    const schema::Collection collection = *c;
    std::string email;
    const std::string secret =
        co_await WithOwnPassword<std::string>(d, req, collection, p, [&](const auto& rec) -> Result<std::string> {
            email = rec.email;
            return d.totps.Begin(collection, rec.id);
        });
    const std::string issuer = d.settings.Mail().app_name;
    co_return JsonResponse(json::object{
        {"secret", auth::Base32Encode(secret)},
        {"uri", auth::TotpUri(issuer.empty() ? "basalt" : issuer, email, secret)}});
}

net::awaitable<Response> Enable(const Deps& d, Request& req) {
    const auto [snap, c] = AuthCollection(d, req);
    const auth::Principal& p = RequireOwn(req, *c);
    const std::string code = RequiredString(DecodeJsonObject(req), "code");
    const schema::Collection collection = *c;
    const std::string record_id = p.record.id;
    const auto codes = co_await Blocking<std::vector<std::string>>(d, req, [&] {
        return d.totps.Enable(collection, record_id, code);
    });
    json::array out;
    for (const auto& rc : codes) {
        out.emplace_back(rc);
    }
    co_return JsonResponse(json::object{{"recoveryCodes", std::move(out)}});
}

net::awaitable<Response> Disable(const Deps& d, Request& req) {
    const auto [snap, c] = AuthCollection(d, req);
    const auth::Principal& p = RequireOwn(req, *c);
    const schema::Collection collection = *c;
    co_await WithOwnPassword<void>(d, req, collection, p, [&](const auto& rec) {
        return d.totps.Remove(collection, rec.id);
    });
    co_return Response::NoContent();
}

// The second method of an MFA sign-in: a TOTP code (each time step once) or a recovery code (each
// once). The record is the one the mfaId was issued for.
net::awaitable<Response> WithTotp(const Deps& d, Request& req) {
    const auto [snap, c] = AuthCollection(d, req);
    const json::object body = DecodeJsonObject(req);
    const std::string mfa_id = RequiredString(body, "mfaId");
    const std::string code = RequiredString(body, "code");
    const schema::Collection collection = *c;
    const auto record_id =
        co_await Blocking<std::optional<std::string>>(d, req, [&] { return d.sign_in.MfaRecord(collection, mfa_id); });
    if (!record_id || record_id->empty()) {
        throw ApiError::BadRequest("Invalid or expired MFA session.");
    }
    const std::vector<std::string> throttle_keys{
        identity::ThrottleKey(identity::ThrottleKind::kTotp, collection.id, *record_id)};
    ReserveAttempt(d, throttle_keys);
    const auto found = co_await Blocking<std::optional<auth::AuthRecord>>(d, req, [&] {
        return d.sign_in.RedeemTotp(collection, *record_id, code);
    });
    if (!found) {
        throw ApiError::BadRequest("Failed to authenticate.");  // the attempt stays counted
    }
    AttemptSucceeded(d, throttle_keys);
    co_return co_await FinishSignIn(d, req, collection, *found, "totp", mfa_id);
}

}  // namespace

void RegisterTotpRoutes(http::Router& router, const std::shared_ptr<const Deps>& d) {
    using http::Method;
    router.Add(Method::kPost, "/api/collections/{collection}/totp-setup", Async(d, &Setup));
    router.Add(Method::kPost, "/api/collections/{collection}/totp-enable", Async(d, &Enable));
    router.Add(Method::kPost, "/api/collections/{collection}/totp-disable", Async(d, &Disable));
    router.Add(Method::kPost, "/api/collections/{collection}/auth-with-totp", Async(d, &WithTotp));
}

}  // namespace basalt::api::authapi
