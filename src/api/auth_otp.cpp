// SPDX-License-Identifier: MIT
// request-otp, auth-with-otp (PocketBase's record_auth_otp_request.go, record_auth_with_otp.go).
#include "api/auth_common.hpp"
#include "api/json_body.hpp"
#include "identity/auth_options.hpp"
#include "identity/sign_in.hpp"
#include "identity/throttle.hpp"

namespace basalt::api::authapi {

namespace {

namespace json = boost::json;
using http::Request;
using http::Response;

const schema::Collection& RequireOtp(const schema::Collection* c) {
    if (!identity::AuthOptionsOf(*c).otp) {
        throw ApiError::Forbidden("The collection is not configured to allow OTP authentication.");
    }
    return *c;
}

net::awaitable<Response> RequestOtp(const Deps& d, Request& req) {
    const auto [snap, c] = AuthCollection(d, req);
    RequireOtp(c);
    const std::string email = RequiredEmail(DecodeJsonObject(req), "email");
    // Each request counts against the address: mail bombing is throttled like guessing.
    ReserveAttempt(
        d,
        {identity::ThrottleKey(identity::ThrottleKind::kOtp, c->id, email),
         identity::ThrottleKey(identity::ThrottleKind::kOtpIp, c->id, req.remote_ip)}
    );
    const schema::Collection collection = *c;
    const std::string otp_id =
        co_await Blocking<std::string>(d, req, [&] { return d.sign_in.RequestOtp(collection, email); });
    co_return JsonResponse(json::object{{"otpId", otp_id}});
}

net::awaitable<Response> WithOtp(const Deps& d, Request& req) {
    const auto [snap, c] = AuthCollection(d, req);
    const schema::Collection collection = RequireOtp(c);
    const json::object body = DecodeJsonObject(req);
    const std::string otp_id = RequiredString(body, "otpId");
    const std::string code = RequiredString(body, "password");
    const auto found = co_await Blocking<std::optional<auth::AuthRecord>>(d, req, [&] {
        return d.sign_in.RedeemOtp(collection, otp_id, code);
    });
    if (!found) {
        throw ApiError::BadRequest("Invalid or expired OTP.");
    }
    co_return co_await FinishSignIn(d, req, collection, *found, "otp", MfaIdOf(req, body));
}

}  // namespace

void RegisterOtpRoutes(http::Router& router, const std::shared_ptr<const Deps>& d) {
    using http::Method;
    router.Add(Method::kPost, "/api/collections/{collection}/request-otp", Async(d, &RequestOtp));
    router.Add(Method::kPost, "/api/collections/{collection}/auth-with-otp", Async(d, &WithOtp));
}

}  // namespace basalt::api::authapi
