// SPDX-License-Identifier: MIT
#include "api/auth_handlers.hpp"

#include <boost/json/serialize.hpp>

#include "api/auth_common.hpp"
#include "api/routes.hpp"
#include "auth/scopes.hpp"
#include "core/text.hpp"
#include "identity/sign_in.hpp"

namespace basalt::api {

namespace json = boost::json;
using http::Request;
using http::Response;

void ReserveAttempt(const Deps& d, const std::vector<std::string>& keys) {
    if (auto wait = d.throttle.ReserveAll(keys)) {
        throw ApiError(429, "Too many failed attempts. Try again later.")
            .WithHeader("Retry-After", std::to_string(wait->count()));
    }
}

void AttemptSucceeded(const Deps& d, const std::vector<std::string>& keys) {
    d.throttle.SucceededAll(keys);
}

void RegisterAuthRoutes(http::Router& router, const Deps& deps) {
    const auto d = std::make_shared<const Deps>(deps);
    authapi::RegisterPasswordRoutes(router, d);
    authapi::RegisterSessionRoutes(router, d);
    authapi::RegisterEmailRoutes(router, d);
    authapi::RegisterOAuth2Routes(router, d);
    authapi::RegisterOtpRoutes(router, d);
    authapi::RegisterTotpRoutes(router, d);
    authapi::RegisterKeyRoutes(router, d);
}

namespace authapi {

std::pair<std::shared_ptr<const collections::Snapshot>, const schema::Collection*> AuthCollection(
    const Deps& d, const Request& req
) {
    auto snap = d.collections.Current();
    const schema::Collection* c = snap->Find(req.Param("collection"));
    if (c == nullptr || c->type != schema::CollectionType::kAuth) {
        throw ApiError::NotFound("Missing or invalid auth collection context.");
    }
    return {std::move(snap), c};
}

const auth::Principal& RequireAuth(const Request& req) {
    const auth::Principal* p = RequestAuth(req);
    if (p == nullptr) {
        throw ApiError::Unauthorized("The request requires valid record authorization token.");
    }
    if (p->session_id.empty()) {
        throw ApiError::Forbidden("API keys cannot be used for this action.");
    }
    return *p;
}

const auth::Principal& RequireOwn(const Request& req, const schema::Collection& c) {
    const auth::Principal& p = RequireAuth(req);
    if (p.record.collection_id != c.id) {
        throw ApiError::Forbidden("The request requires auth record from the " + c.name + " collection.");
    }
    return p;
}

const auth::Principal& RequireAdmin(const Request& req) {
    const auth::Principal* p = RequestAuth(req);
    if (p == nullptr) {
        throw ApiError::Unauthorized("The request requires valid record authorization token.");
    }
    if (!p->superuser || (p->scopes && !auth::ScopesAllowAdmin(*p->scopes))) {
        throw ApiError::Forbidden("The authorized record is not allowed to perform this action.");
    }
    return *p;
}

std::string RequiredString(const json::object& body, std::string_view key) {
    const auto* v = body.if_contains(key);
    if (v == nullptr || !v->is_string() || v->as_string().empty()) {
        throw ApiError::BadRequest(
            "An error occurred while validating the submitted data.",
            {{std::string(key), "validation_required", "Cannot be blank."}}
        );
    }
    if (v->as_string().size() > 4096) {
        throw ApiError::BadRequest(
            "An error occurred while validating the submitted data.",
            {{std::string(key), "validation_length_too_long", "The value is too long."}}
        );
    }
    return std::string(v->as_string());
}

std::string RequiredEmail(const json::object& body, std::string_view key) {
    std::string v = RequiredString(body, key);
    if (!IsEmail(v)) {
        throw ApiError::BadRequest(
            "An error occurred while validating the submitted data.",
            {{std::string(key), "validation_is_email", "Must be a valid email address."}}
        );
    }
    return v;
}

std::string MfaIdOf(const Request& req, const json::object& body) {
    std::string id = req.QueryParam("mfaId").value_or("");
    if (id.empty()) {
        if (const auto* v = body.if_contains("mfaId"); v != nullptr && v->is_string()) {
            id = std::string(v->as_string());
        }
    }
    return id.substr(0, 64);
}

json::object AuthResponse(
    const Deps& d, const Request& req, const schema::Collection& c, const auth::AuthRecord& r, const std::string& token
) {
    const bool superuser = c.id == auth::kSuperusersId;
    auto rec = d.records.ReadWithoutRules(c, r.id, superuser, r.id);
    if (!rec) {
        ThrowApiError(req, rec.error());
    }
    return json::object{{"record", std::move(*rec)}, {"token", token}};
}

void CheckAuthRule(const Deps& d, const Request& req, const schema::Collection& c, const auth::AuthRecord& r) {
    if (auto ok = d.sign_in.CheckAuthRule(c, r, AccessFor(req, d.collections)); !ok) {
        ThrowApiError(req, ok.error());
    }
}

net::awaitable<Response> FinishSignIn(
    const Deps& d,
    Request& req,
    const schema::Collection& c,
    const auth::AuthRecord& r,
    std::string method,
    std::string mfa_id,
    std::optional<json::object> meta
) {
    const records::Access request = AccessFor(req, d.collections);
    if (auto ok = d.sign_in.CheckAuthRule(c, r, request); !ok) {
        ThrowApiError(req, ok.error());
    }
    const std::string ip = req.remote_ip;
    const std::string ua(req.Header("User-Agent"));
    const auto outcome = co_await Blocking<identity::SignInOutcome>(d, req, [&] {
        return d.sign_in.Finish(c, r, method, mfa_id, request, ip, ua);
    });
    if (outcome.mfa_id) {
        co_return Response::Json(401, json::serialize(json::object{{"mfaId", *outcome.mfa_id}}));
    }
    json::object out = AuthResponse(d, req, c, r, outcome.token);
    if (meta) {
        out["meta"] = std::move(*meta);
    }
    co_return JsonResponse(out);
}

http::Handler Async(const std::shared_ptr<const Deps>& d, AsyncFn fn) {
    return http::AsyncHandler([d, fn](Request& req) { return fn(*d, req); });
}

http::Handler Sync(const std::shared_ptr<const Deps>& d, SyncFn fn) {
    return http::SyncHandler([d, fn](Request& req) { return fn(*d, req); });
}

}  // namespace authapi

}  // namespace basalt::api
