// SPDX-License-Identifier: MIT
// impersonate (PocketBase's record_auth_impersonate.go) and basalt's server-side sessions:
// auth-logout, GET /api/sessions, DELETE /api/sessions[/{id}].
#include "api/auth_common.hpp"
#include "api/json_body.hpp"
#include "identity/sessions.hpp"

namespace basalt::api::authapi {

namespace {

namespace json = boost::json;
using http::Request;
using http::Response;

json::object SessionJson(const identity::Session& s, std::string_view current) {
    return json::object{
        {"id", s.id},
        {"collectionId", s.collection_id},
        {"recordId", s.record_id},
        {"created", s.created},
        {"lastSeen", s.last_seen},
        {"ip", s.ip},
        {"userAgent", s.user_agent},
        {"method", s.method},
        {"revoked", s.revoked},
        {"current", s.id == current},
    };
}

// A token for any record, without a password (superusers): not refreshable, `duration` seconds.
net::awaitable<Response> Impersonate(const Deps& d, Request& req) {
    RequireAdmin(req);
    const auto [snap, c] = AuthCollection(d, req);
    const json::object body = DecodeJsonObject(req);
    std::int64_t duration = 0;
    if (const auto* v = body.if_contains("duration"); v != nullptr && !v->is_null()) {
        if (!v->is_int64() || v->as_int64() < 0 || v->as_int64() > 10LL * 365 * 24 * 3600) {
            throw ApiError::BadRequest(
                "An error occurred while validating the submitted data.",
                {{"duration", "validation_invalid_value", "Must be a number of seconds."}}
            );
        }
        duration = v->as_int64();
    }
    const schema::Collection collection = *c;
    const std::string id(req.Param("id"));
    const std::string ip = req.remote_ip;
    const std::string ua(req.Header("User-Agent"));
    std::optional<auth::AuthRecord> rec;
    const auto session =
        co_await Blocking<std::optional<identity::Session>>(d, req, [&]() -> Result<std::optional<identity::Session>> {
            BASALT_ASSIGN_OR_RETURN(auto found, d.auth_records.FindById(collection, id));
            if (!found.has_value()) {
                return std::optional<identity::Session>();
            }
            rec = std::move(*found);
            BASALT_ASSIGN_OR_RETURN(auto s, d.sessions.Open(*rec, "impersonate", ip, ua));
            return std::optional<identity::Session>(std::move(s));
        });
    if (!session) {
        throw ApiError::NotFound();
    }
    auto token = d.tokens.Issue(*rec, session->id, /*refreshable=*/false, duration);
    if (!token) {
        ThrowApiError(req, token.error());
    }
    co_return JsonResponse(AuthResponse(d, req, collection, *rec, *token));
}

// Ends the request's own session.
net::awaitable<Response> Logout(const Deps& d, Request& req) {
    const auto [snap, c] = AuthCollection(d, req);
    const std::string sid = RequireOwn(req, *c).session_id;
    co_await Blocking<void>(d, req, [&]() -> Result<void> {
        auto r = d.sessions.Revoke(sid);
        if (!r && r.error().code == ErrorCode::kNotFound) {
            return Ok();
        }
        return r;
    });
    co_return Response::NoContent();
}

net::awaitable<Response> ListSessions(const Deps& d, Request& req) {
    const auth::Principal& p = RequireAuth(req);
    std::string collection_id = p.record.collection_id;
    std::string record_id = p.record.id;
    if (p.superuser) {
        // Superusers may look at anyone's: ?collectionId=&recordId=, or every session with ?all=1.
        const std::string cid = req.QueryParam("collectionId").value_or("");
        const std::string rid = req.QueryParam("recordId").value_or("");
        if (!cid.empty() && !rid.empty()) {
            collection_id = cid;
            record_id = rid;
        } else if (req.QueryParam("all").value_or("") == "1") {
            collection_id.clear();
        }
    }
    const bool include_revoked = req.QueryParam("revoked").value_or("") == "1";
    const auto list = co_await Blocking<std::vector<identity::Session>>(d, req, [&] {
        return d.sessions.List(collection_id, record_id, include_revoked, 500);
    });
    json::array items;
    for (const auto& s : list) {
        items.emplace_back(SessionJson(s, p.session_id));
    }
    co_return JsonResponse(json::object{{"items", std::move(items)}});
}

net::awaitable<Response> RevokeSession(const Deps& d, Request& req) {
    const auth::Principal& p = RequireAuth(req);
    const std::string id(req.Param("id"));
    const bool revoked = co_await Blocking<bool>(d, req, [&]() -> Result<bool> {
        BASALT_ASSIGN_OR_RETURN(auto s, d.sessions.Get(id));
        // Only one's own sessions (superusers: anyone's); others' look missing.
        if (!s.has_value() ||
            !(p.superuser || (s->collection_id == p.record.collection_id && s->record_id == p.record.id))) {
            return false;
        }
        auto r = d.sessions.Revoke(id);
        if (!r) {
            if (r.error().code == ErrorCode::kNotFound) {
                return false;
            }
            return r.error();
        }
        return true;
    });
    if (!revoked) {
        throw ApiError::NotFound();
    }
    co_return Response::NoContent();
}

// Ends every other session of the signed-in record.
net::awaitable<Response> RevokeOtherSessions(const Deps& d, Request& req) {
    const auth::Principal& p = RequireAuth(req);
    co_await Blocking<std::int64_t>(d, req, [&] {
        return d.sessions.RevokeAll(p.record.collection_id, p.record.id, p.session_id);
    });
    co_return Response::NoContent();
}

}  // namespace

void RegisterSessionRoutes(http::Router& router, const std::shared_ptr<const Deps>& d) {
    using http::Method;
    router.Add(Method::kPost, "/api/collections/{collection}/auth-logout", Async(d, &Logout));
    router.Add(Method::kPost, "/api/collections/{collection}/impersonate/{id}", Async(d, &Impersonate));
    router.Add(Method::kGet, "/api/sessions", Async(d, &ListSessions));
    router.Add(Method::kDelete, "/api/sessions", Async(d, &RevokeOtherSessions));
    router.Add(Method::kDelete, "/api/sessions/{id}", Async(d, &RevokeSession));
}

}  // namespace basalt::api::authapi
