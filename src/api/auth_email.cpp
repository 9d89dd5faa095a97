// SPDX-License-Identifier: MIT
// The account mails: request/confirm-verification, request/confirm-password-reset,
// request/confirm-email-change (PocketBase's record_auth_verification_*.go,
// record_auth_password_reset_*.go, record_auth_email_change_*.go). Request-* endpoints answer the
// same 204 whether the address is known or not.
#include "api/auth_common.hpp"
#include "api/json_body.hpp"
#include "identity/account_mail.hpp"

namespace basalt::api::authapi {

namespace {

namespace json = boost::json;
using http::Request;
using http::Response;

net::awaitable<Response> RequestVerification(const Deps& d, Request& req) {
    const auto [snap, c] = AuthCollection(d, req);
    const std::string email = RequiredEmail(DecodeJsonObject(req), "email");
    const schema::Collection collection = *c;
    co_await d.blocking.Run([&] { d.account_mail.RequestVerification(collection, email); });
    co_return Response::NoContent();
}

net::awaitable<Response> ConfirmVerification(const Deps& d, Request& req) {
    const auto [snap, c] = AuthCollection(d, req);
    const std::string token = RequiredString(DecodeJsonObject(req), "token");
    const schema::Collection collection = *c;
    co_await Blocking<void>(d, req, [&] { return d.account_mail.ConfirmVerification(collection, token); });
    co_return Response::NoContent();
}

net::awaitable<Response> RequestPasswordReset(const Deps& d, Request& req) {
    const auto [snap, c] = AuthCollection(d, req);
    const std::string email = RequiredEmail(DecodeJsonObject(req), "email");
    const schema::Collection collection = *c;
    co_await d.blocking.Run([&] { d.account_mail.RequestPasswordReset(collection, email); });
    co_return Response::NoContent();
}

net::awaitable<Response> ConfirmPasswordReset(const Deps& d, Request& req) {
    const auto [snap, c] = AuthCollection(d, req);
    const json::object body = DecodeJsonObject(req);
    const std::string token = RequiredString(body, "token");
    const schema::Collection collection = *c;
    co_await Blocking<void>(d, req, [&] { return d.account_mail.ConfirmPasswordReset(collection, token, body); });
    co_return Response::NoContent();
}

net::awaitable<Response> RequestEmailChange(const Deps& d, Request& req) {
    const auto [snap, c] = AuthCollection(d, req);
    const auth::Principal& p = RequireOwn(req, *c);
    const std::string new_email = RequiredEmail(DecodeJsonObject(req), "newEmail");
    const schema::Collection collection = *c;
    co_await Blocking<void>(d, req, [&] { return d.account_mail.RequestEmailChange(collection, p.record, new_email); });
    co_return Response::NoContent();
}

net::awaitable<Response> ConfirmEmailChange(const Deps& d, Request& req) {
    const auto [snap, c] = AuthCollection(d, req);
    const json::object body = DecodeJsonObject(req);
    const std::string token = RequiredString(body, "token");
    const std::string password = RequiredString(body, "password");
    const schema::Collection collection = *c;
    co_await Blocking<void>(d, req, [&] { return d.account_mail.ConfirmEmailChange(collection, token, password); });
    co_return Response::NoContent();
}

}  // namespace

void RegisterEmailRoutes(http::Router& router, const std::shared_ptr<const Deps>& d) {
    using http::Method;
    const std::string base = "/api/collections/{collection}/";
    router.Add(Method::kPost, base + "request-verification", Async(d, &RequestVerification));
    router.Add(Method::kPost, base + "confirm-verification", Async(d, &ConfirmVerification));
    router.Add(Method::kPost, base + "request-password-reset", Async(d, &RequestPasswordReset));
    router.Add(Method::kPost, base + "confirm-password-reset", Async(d, &ConfirmPasswordReset));
    router.Add(Method::kPost, base + "request-email-change", Async(d, &RequestEmailChange));
    router.Add(Method::kPost, base + "confirm-email-change", Async(d, &ConfirmEmailChange));
}

}  // namespace basalt::api::authapi
