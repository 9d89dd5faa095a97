// SPDX-License-Identifier: MIT
#include "api/auth_handlers.hpp"

#include <boost/json/serialize.hpp>

#include "api/data_handlers.hpp"
#include "api/handlers.hpp"
#include "api/json_body.hpp"
#include "api/routes.hpp"
#include "auth/password.hpp"
#include "collections/auth_collection.hpp"
#include "core/json_text.hpp"
#include "core/text.hpp"
#include "obs/log.hpp"

namespace basalt::api {

namespace {

namespace json = boost::json;
using http::Request;
using http::Response;

// The auth collection a request names: 404 in PocketBase's words for anything else.
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

bool OptionEnabled(const schema::Collection& c, std::string_view key) {
    const auto* o = c.options.if_contains(key);
    const auto* e = o != nullptr && o->is_object() ? o->as_object().if_contains("enabled") : nullptr;
    return e != nullptr && e->is_bool() && e->as_bool();
}

std::int64_t OptionInt(const schema::Collection& c, std::string_view key, std::string_view name) {
    const auto* o = c.options.if_contains(key);
    const auto* v = o != nullptr && o->is_object() ? o->as_object().if_contains(name) : nullptr;
    return v != nullptr && v->is_int64() ? v->as_int64() : 0;
}

// {"record": ..., "token": ...} for the signed-in record: its email always, hidden fields only for
// superusers, no rule (a user may always see their own record here).
json::object AuthResponse(
    const Deps& d, const Request& req, const schema::Collection& c, const auth::AuthRecord& r, const std::string& token
) {
    const bool superuser = c.id == auth::kSuperusersId;
    auto rec = d.records.Plain(c, r.id, superuser, r.id);
    if (!rec) {
        Fail(req, rec.error());
    }
    return json::object{{"record", std::move(*rec)}, {"token", token}};
}

// @request.* as the auth rule sees it: the request, with the record being signed in as @request.auth.
records::Access AccessAs(const Deps& d, const Request& req, const auth::AuthRecord& r) {
    records::Access a = AccessFor(req, d.collections);
    a.superuser = false;
    json::object rec = r.data;
    rec["id"] = r.id;
    rec["collectionId"] = r.collection_id;
    rec["collectionName"] = r.collection_name;
    rec["email"] = r.email;
    a.request.auth = std::make_shared<const json::object>(std::move(rec));
    return a;
}

// The collection's authRule for `r`: null refuses everyone, "" lets everyone in.
void CheckAuthRule(const Deps& d, const Request& req, const schema::Collection& c, const auth::AuthRecord& r) {
    const auto* rule = c.options.if_contains("authRule");
    if (rule == nullptr || !rule->is_string()) {
        throw ApiError::Forbidden("The request doesn't satisfy the collection requirements to authenticate.");
    }
    auto ok = d.records.Satisfies(c, r.id, rule->as_string(), AccessAs(d, req, r));
    if (!ok) {
        Fail(req, ok.error());
    }
    if (!*ok) {
        throw ApiError::Forbidden("The request doesn't satisfy the collection requirements to authenticate.");
    }
}

std::string ThrottleKey(std::string_view kind, const schema::Collection& c, std::string_view value) {
    std::string k(kind);
    k += '\x1f';
    k += c.id;
    k += '\x1f';
    for (char ch : value) {
        k.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(ch))));
    }
    return k;
}

void RefuseWhileThrottled(const Deps& d, const std::vector<std::string>& keys) {
    for (const auto& k : keys) {
        if (auto wait = d.throttle.Closed(k)) {
            throw ApiError(429, "Too many failed attempts. Try again later.")
                .WithHeader("Retry-After", std::to_string(wait->count()));
        }
    }
}

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

const auth::Principal& RequireAuth(const Request& req) {
    const auth::Principal* p = RequestAuth(req);
    if (p == nullptr) {
        throw ApiError::Unauthorized("The request requires valid record authorization token.");
    }
    return *p;
}

class AuthApi {
public:
    explicit AuthApi(const Deps& deps) : d_(deps) {}

    Response Methods(Request& req) const {
        const auto [snap, c] = AuthCollection(d_, req);
        json::array identity;
        for (const auto& f : collections::IdentityFields(*c)) {
            identity.emplace_back(f);
        }
        const bool password = OptionEnabled(*c, "passwordAuth");
        const bool mfa = OptionEnabled(*c, "mfa");
        const bool otp = OptionEnabled(*c, "otp");
        bool email_identity = false;
        bool username_identity = false;
        for (const auto& f : identity) {
            email_identity = email_identity || f.as_string() == "email";
            username_identity = username_identity || f.as_string() == "username";
        }
        return JsonResponse(json::object{
            {"password", {{"enabled", password}, {"identityFields", identity}}},
            {"oauth2", {{"enabled", false}, {"providers", json::array{}}}},
            {"mfa", {{"enabled", mfa}, {"duration", mfa ? OptionInt(*c, "mfa", "duration") : 0}}},
            {"otp", {{"enabled", otp}, {"duration", otp ? OptionInt(*c, "otp", "duration") : 0}}},
            // PocketBase's legacy keys, still read by older SDKs.
            {"authProviders", json::array{}},
            {"usernamePassword", password && username_identity},
            {"emailPassword", password && email_identity},
        });
    }

    net::awaitable<Response> WithPassword(Request& req) const {
        const auto [snap, c] = AuthCollection(d_, req);
        if (!OptionEnabled(*c, "passwordAuth")) {
            throw ApiError::Forbidden("The collection is not configured to allow password authentication.");
        }
        const json::object body = DecodeJsonObject(req);
        const std::string identity = StringField(body, "identity");
        const std::string password = StringField(body, "password");
        const std::string identity_field = StringField(body, "identityField");
        const auto fields = collections::IdentityFields(*c);
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
        const std::vector<std::string> throttle_keys{
            ThrottleKey("identity", *c, identity), ThrottleKey("ip", *c, req.remote_ip)};
        RefuseWhileThrottled(d_, throttle_keys);

        // The lookup and the argon2id check run on the blocking pool. An unknown identity still pays
        // for one verification, so that both failures take the same time and give the same answer.
        std::optional<auth::AuthRecord> found;
        Error failure;
        bool ok = false;
        const schema::Collection collection = *c;
        co_await d_.blocking.Run([&] {
            std::vector<std::string> order;
            if (!identity_field.empty()) {
                order.push_back(identity_field);
            } else {
                // email first, and only when the identity looks like one
                for (const auto& f : fields) {
                    if (f == "email") {
                        order.insert(order.begin(), f);
                    } else {
                        order.push_back(f);
                    }
                }
            }
            for (const auto& f : order) {
                if (f == "email" && !IsEmail(identity)) {
                    continue;
                }
                auto rec = d_.auth_records.FindByIdentity(collection, f, identity);
                if (!rec) {
                    failure = rec.error();
                    break;
                }
                if (rec->has_value()) {
                    found = std::move(*rec);
                    break;
                }
            }
            if (found) {
                ok = auth::VerifyPassword(found->password_hash, password);
            } else {
                auth::VerifyPasswordDummy(password);
            }
        });
        if (!failure.message.empty()) {
            Fail(req, failure);
        }
        if (!ok || !found) {
            for (const auto& k : throttle_keys) {
                d_.throttle.Failed(k);
            }
            throw ApiError::BadRequest("Failed to authenticate.");
        }
        for (const auto& k : throttle_keys) {
            d_.throttle.Succeeded(k);
        }
        co_return co_await SignIn(req, collection, *found, "password");
    }

    net::awaitable<Response> Refresh(Request& req) const {
        const auto [snap, c] = AuthCollection(d_, req);
        const std::string token(BearerToken(req));
        if (token.empty()) {
            throw ApiError::Unauthorized("The request requires valid record authorization token.");
        }
        // Credential-sensitive: the record and the session are read again, not taken from a cache.
        Result<std::shared_ptr<const auth::Principal>> checked = MakeError(ErrorCode::kInternal, "not run");
        co_await d_.blocking.Run([&] { checked = d_.tokens.Authenticate(token, /*fresh=*/true); });
        if (!checked) {
            if (checked.error().code == ErrorCode::kUnauthorized) {
                throw ApiError::Unauthorized("The request requires valid record authorization token.");
            }
            Fail(req, checked.error());
        }
        const auto& p = *checked;
        if (p->record.collection_id != c->id) {
            throw ApiError::Forbidden("The request requires auth record from the " + c->name + " collection.");
        }
        CheckAuthRule(d_, req, *c, p->record);
        std::string fresh_token = token;
        if (p->refreshable) {
            auto t = d_.tokens.Issue(p->record, p->session_id, true);
            if (!t) {
                Fail(req, t.error());
            }
            fresh_token = std::move(*t);
        }
        co_return JsonResponse(AuthResponse(d_, req, *c, p->record, fresh_token));
    }

    net::awaitable<Response> Logout(Request& req) const {
        const auto [snap, c] = AuthCollection(d_, req);
        const auth::Principal& p = RequireAuth(req);
        if (p.record.collection_id != c->id) {
            throw ApiError::Forbidden("The request requires auth record from the " + c->name + " collection.");
        }
        Result<void> r;
        const std::string sid = p.session_id;
        co_await d_.blocking.Run([&] { r = d_.sessions.Revoke(sid); });
        if (!r && r.error().code != ErrorCode::kNotFound) {
            Fail(req, r.error());
        }
        co_return Response::NoContent();
    }

    net::awaitable<Response> Impersonate(Request& req) const {
        const auth::Principal* p = RequestAuth(req);
        if (p == nullptr) {
            throw ApiError::Unauthorized("The request requires valid record authorization token.");
        }
        if (!p->superuser) {
            throw ApiError::Forbidden("The authorized record is not allowed to perform this action.");
        }
        const auto [snap, c] = AuthCollection(d_, req);
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
        Result<std::optional<auth::AuthRecord>> rec = MakeError(ErrorCode::kInternal, "not run");
        Result<identity::Session> session = MakeError(ErrorCode::kInternal, "not run");
        co_await d_.blocking.Run([&] {
            rec = d_.auth_records.FindById(collection, id);
            if (rec && rec->has_value()) {
                session = d_.sessions.Open(**rec, "impersonate", req.remote_ip, req.Header("User-Agent"));
            }
        });
        if (!rec) {
            Fail(req, rec.error());
        }
        if (!rec->has_value()) {
            throw ApiError::NotFound();
        }
        if (!session) {
            Fail(req, session.error());
        }
        auto token = d_.tokens.Issue(**rec, session->id, /*refreshable=*/false, duration);
        if (!token) {
            Fail(req, token.error());
        }
        co_return JsonResponse(AuthResponse(d_, req, collection, **rec, *token));
    }

    net::awaitable<Response> ListSessions(Request& req) const {
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
        Result<std::vector<identity::Session>> list = MakeError(ErrorCode::kInternal, "not run");
        co_await d_.blocking.Run([&] { list = d_.sessions.List(collection_id, record_id, include_revoked, 500); });
        if (!list) {
            Fail(req, list.error());
        }
        json::array items;
        for (const auto& s : *list) {
            items.emplace_back(SessionJson(s, p.session_id));
        }
        co_return JsonResponse(json::object{{"items", std::move(items)}});
    }

    net::awaitable<Response> RevokeSession(Request& req) const {
        const auth::Principal& p = RequireAuth(req);
        const std::string id(req.Param("id"));
        Result<std::optional<identity::Session>> s = MakeError(ErrorCode::kInternal, "not run");
        Result<void> revoked;
        co_await d_.blocking.Run([&] {
            s = d_.sessions.Get(id);
            // Only one's own sessions (superusers: anyone's); others' look missing.
            if (s && s->has_value() &&
                (p.superuser || ((*s)->collection_id == p.record.collection_id && (*s)->record_id == p.record.id))) {
                revoked = d_.sessions.Revoke(id);
            } else {
                revoked = MakeError(ErrorCode::kNotFound, "no such session");
            }
        });
        if (!s) {
            Fail(req, s.error());
        }
        if (!revoked) {
            if (revoked.error().code == ErrorCode::kNotFound) {
                throw ApiError::NotFound();
            }
            Fail(req, revoked.error());
        }
        co_return Response::NoContent();
    }

    net::awaitable<Response> RevokeOtherSessions(Request& req) const {
        const auth::Principal& p = RequireAuth(req);
        Result<std::int64_t> n = MakeError(ErrorCode::kInternal, "not run");
        co_await d_.blocking.Run([&] { n = d_.sessions.RevokeAll(p.record.collection_id, p.record.id, p.session_id); });
        if (!n) {
            Fail(req, n.error());
        }
        co_return Response::NoContent();
    }

private:
    // The end of every successful sign-in: the auth rule, a new session, a refreshable token.
    net::awaitable<Response> SignIn(
        Request& req, const schema::Collection& c, const auth::AuthRecord& r, std::string_view method
    ) const {
        CheckAuthRule(d_, req, c, r);
        Result<identity::Session> session = MakeError(ErrorCode::kInternal, "not run");
        const std::string ua(req.Header("User-Agent"));
        co_await d_.blocking.Run([&] { session = d_.sessions.Open(r, method, req.remote_ip, ua); });
        if (!session) {
            Fail(req, session.error());
        }
        auto token = d_.tokens.Issue(r, session->id, /*refreshable=*/true);
        if (!token) {
            Fail(req, token.error());
        }
        co_return JsonResponse(AuthResponse(d_, req, c, r, *token));
    }

    Deps d_;
};

FieldError Mismatch(std::string field) {
    return {std::move(field), "validation_values_mismatch", "Values don't match."};
}

}  // namespace

Result<records::AuthInput> PrepareAuthInput(
    const Deps& d,
    const schema::Collection& c,
    std::string_view current_id,
    const json::object& body,
    const records::Access& access
) {
    records::AuthInput out;
    const bool create = current_id.empty();
    std::optional<auth::AuthRecord> current;
    if (!create) {
        auto found = d.auth_records.FindById(c, current_id);
        if (!found) {
            return found.error();
        }
        if (!found->has_value()) {
            return out;  // the update answers 404 itself
        }
        current = std::move(**found);
    }
    if (access.superuser) {
        out.manage = true;
    } else if (create) {
        const auto* rule = c.options.if_contains("manageRule");
        out.manage = rule != nullptr && rule->is_string() && rule->as_string().empty();
    } else {
        auto m = d.records.CanManage(c, current_id, access);
        if (!m) {
            return m.error();
        }
        out.manage = *m;
    }
    auto text = [&body](std::string_view key) -> std::optional<std::string> {
        const auto* v = body.if_contains(key);
        if (v == nullptr || v->is_null()) {
            return std::nullopt;
        }
        return v->is_string() ? std::string(v->as_string()) : std::string("\\x01");  // a non-string never matches
    };
    const auto password = text("password");
    const auto confirm = text("passwordConfirm");
    const auto old = text("oldPassword");
    const bool wants = (password && !password->empty()) || (confirm && !confirm->empty()) || (old && !old->empty());
    std::vector<FieldError> errors;
    if (create || wants) {
        const schema::Field* pf = c.FindField("password");
        const auto min = static_cast<std::size_t>(
            pf != nullptr && pf->options.contains("min") && pf->options.at("min").is_int64()
                ? std::max<std::int64_t>(1, pf->options.at("min").as_int64())
                : 8
        );
        if (!password || password->empty()) {
            errors.push_back({"password", "validation_required", "Cannot be blank."});
        } else if (password->size() < min || password->size() > auth::kMaxPasswordLength) {
            errors.push_back(
                {"password",
                 "validation_length_out_of_range",
                 "The length must be between " + std::to_string(min) + " and " +
                     std::to_string(auth::kMaxPasswordLength) + "."}
            );
        }
        if (!confirm || confirm->empty()) {
            errors.push_back({"passwordConfirm", "validation_required", "Cannot be blank."});
        } else if (!password || *confirm != *password) {
            errors.push_back(Mismatch("passwordConfirm"));
        }
        if (!create && !out.manage) {
            if (!old || old->empty()) {
                errors.push_back({"oldPassword", "validation_required", "Cannot be blank."});
            } else if (!auth::VerifyPassword(current->password_hash, *old)) {
                errors.push_back({"oldPassword", "validation_invalid_old_password", "Missing or invalid old password."}
                );
            }
        }
    }
    if (!create && !out.manage) {
        if (const auto email = text("email"); email && !EqualsIgnoreCase(*email, current->email)) {
            errors.push_back(Mismatch("email"));
        }
        if (const auto* v = body.if_contains("verified");
            v != nullptr && !(v->is_bool() && v->as_bool() == current->verified)) {
            errors.push_back(Mismatch("verified"));
        }
    }
    if (!errors.empty()) {
        Error e =
            MakeError(ErrorCode::kInvalidArgument, create ? "Failed to create record." : "Failed to update record.");
        e.fields = std::move(errors);
        return e;
    }
    if (password && !password->empty()) {
        auto hash = auth::HashPassword(*password);
        if (!hash) {
            return hash.error();
        }
        out.password_hash = std::move(*hash);
    }
    return out;
}

void AfterAuthRecordWrite(const Deps& d, const schema::Collection& c, std::string_view id, bool end_sessions) {
    d.tokens.Forget(c.id, id);
    if (end_sessions) {
        if (auto r = d.sessions.RevokeAll(c.id, id); !r) {
            obs::Warn("sessions not revoked", {{"record", std::string(id)}, {"error", r.error().message}});
        }
    }
}

void RegisterAuthRoutes(http::Router& router, const Deps& deps) {
    using http::Method;
    auto api = std::make_shared<const AuthApi>(deps);
    auto sync = [api](Response (AuthApi::*fn)(Request&) const) {
        return http::SyncHandler([api, fn](Request& req) { return (api.get()->*fn)(req); });
    };
    auto async = [api](net::awaitable<Response> (AuthApi::*fn)(Request&) const) {
        return http::AsyncHandler([api, fn](Request& req) { return (api.get()->*fn)(req); });
    };
    router.Add(Method::kGet, "/api/collections/{collection}/auth-methods", sync(&AuthApi::Methods));
    router.Add(Method::kPost, "/api/collections/{collection}/auth-with-password", async(&AuthApi::WithPassword));
    router.Add(Method::kPost, "/api/collections/{collection}/auth-refresh", async(&AuthApi::Refresh));
    router.Add(Method::kPost, "/api/collections/{collection}/auth-logout", async(&AuthApi::Logout));
    router.Add(Method::kPost, "/api/collections/{collection}/impersonate/{id}", async(&AuthApi::Impersonate));
    router.Add(Method::kGet, "/api/sessions", async(&AuthApi::ListSessions));
    router.Add(Method::kDelete, "/api/sessions", async(&AuthApi::RevokeOtherSessions));
    router.Add(Method::kDelete, "/api/sessions/{id}", async(&AuthApi::RevokeSession));
}

}  // namespace basalt::api
