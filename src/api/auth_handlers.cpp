// SPDX-License-Identifier: MIT
#include "api/auth_handlers.hpp"

#include <algorithm>
#include <chrono>
#include <mutex>
#include <unordered_map>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "api/data_handlers.hpp"
#include "api/handlers.hpp"
#include "api/json_body.hpp"
#include "api/routes.hpp"
#include "auth/jwt.hpp"
#include "auth/password.hpp"
#include "auth/scopes.hpp"
#include "auth/totp.hpp"
#include "collections/auth_collection.hpp"
#include "core/json_text.hpp"
#include "core/random.hpp"
#include "core/text.hpp"
#include "identity/oauth2.hpp"
#include "mail/mail.hpp"
#include "obs/log.hpp"
#include "query/compiler.hpp"
#include "records/codec.hpp"

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

}  // namespace

std::string ThrottleKey(std::string_view kind, const schema::Collection& c, std::string_view value) {
    return std::string(kind) + '\x1f' + c.id + '\x1f' + ToLower(value);
}

namespace {

bool IsIpKey(const std::string& k) {
    return k.rfind("ip\x1f", 0) == 0 || k.rfind("otp-ip\x1f", 0) == 0;
}

}  // namespace

// Counts an attempt on every key before it runs (so concurrent guesses cannot all pass the check),
// or answers 429 with Retry-After when one is closed. Keys of an IP ("ip", "otp-ip") get 30 free
// attempts instead of 5, so that one person's typos do not lock out everyone behind the same NAT.
void ReserveAttempt(const Deps& d, const std::vector<std::string>& keys) {
    constexpr int kIpFreeFailures = 30;
    for (const auto& k : keys) {
        if (auto wait = d.throttle.Closed(k)) {
            throw ApiError(429, "Too many failed attempts. Try again later.")
                .WithHeader("Retry-After", std::to_string(wait->count()));
        }
    }
    for (const auto& k : keys) {
        if (auto wait = d.throttle.Reserve(k, IsIpKey(k) ? kIpFreeFailures : -1)) {
            throw ApiError(429, "Too many failed attempts. Try again later.")
                .WithHeader("Retry-After", std::to_string(wait->count()));
        }
    }
}

// The attempt succeeded: an identity (or a TOTP record) starts afresh; an IP only gets its attempt
// back, so that an attacker's own sign-ins do not reset the count of his guesses.
void AttemptSucceeded(const Deps& d, const std::vector<std::string>& keys) {
    for (const auto& k : keys) {
        if (IsIpKey(k)) {
            d.throttle.Refund(k);
        } else {
            d.throttle.Succeeded(k);
        }
    }
}

namespace {

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

// A signed-in record with a session (API keys have none: they cannot manage sessions, MFA or email).
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

// A superuser (with the "admin" scope when the request came with an API key).
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

json::object ApiKeyJson(const identity::ApiKey& k) {
    json::array scopes;
    for (const auto& s : k.scopes) {
        scopes.emplace_back(s);
    }
    return json::object{
        {"id", k.id},
        {"name", k.name},
        {"collectionId", k.collection_id},
        {"recordId", k.record_id},
        {"prefix", k.prefix},
        {"scopes", std::move(scopes)},
        {"expires", k.expires},
        {"created", k.created},
        {"lastUsed", k.last_used},
    };
}

// A collection's email template: a top-level option ("verificationTemplate") or one nested in an
// option ("otp" -> "emailTemplate").
std::pair<std::string, std::string> TemplateOf(
    const schema::Collection& c, std::string_view key, std::string_view nested = {}
) {
    const json::value* v = c.options.if_contains(key);
    if (v != nullptr && !nested.empty()) {
        v = v->is_object() ? v->as_object().if_contains(nested) : nullptr;
    }
    if (v == nullptr || !v->is_object()) {
        return {};
    }
    const auto& o = v->as_object();
    auto str = [&o](std::string_view k) {
        const auto* x = o.if_contains(k);
        return x != nullptr && x->is_string() ? std::string(x->as_string()) : std::string();
    };
    return {str("subject"), str("body")};
}

FieldError InvalidToken() {
    return {"token", "validation_invalid_token", "Invalid or expired token."};
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
        const bool oauth2 = OptionEnabled(*c, "oauth2");
        json::array providers;
        if (oauth2) {
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
            {"oauth2", {{"enabled", oauth2 && !providers.empty()}, {"providers", providers}}},
            {"mfa", {{"enabled", mfa}, {"duration", mfa ? OptionInt(*c, "mfa", "duration") : 0}}},
            {"otp", {{"enabled", otp}, {"duration", otp ? OptionInt(*c, "otp", "duration") : 0}}},
            // PocketBase's legacy keys, still read by older SDKs.
            {"authProviders", providers},
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
        ReserveAttempt(d_, throttle_keys);

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
            throw ApiError::BadRequest("Failed to authenticate.");  // the attempt stays counted
        }
        AttemptSucceeded(d_, throttle_keys);
        co_return co_await SignIn(req, collection, *found, "password", MfaIdOf(req, body));
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
        RequireAdmin(req);
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

    // ---- email flows: verification, password reset, email change, one-time passwords ----------

    net::awaitable<Response> RequestVerification(Request& req) const {
        co_return co_await MailLink(req, "verification", "verificationToken", "verificationTemplate", true);
    }

    net::awaitable<Response> ConfirmVerification(Request& req) const {
        const auto [snap, c] = AuthCollection(d_, req);
        const std::string token = RequiredString(DecodeJsonObject(req), "token");
        const schema::Collection collection = *c;
        Result<void> r = MakeError(ErrorCode::kInternal, "not run");
        co_await d_.blocking.Run([&] {
            auto rec = CheckSpecialToken(collection, token, "verification", "verificationToken");
            if (!rec) {
                r = BadToken();
                return;
            }
            r = rec->verified ? Ok() : UpdateAuthRecord(collection, rec->id, {{"verified", std::int64_t{1}}});
        });
        if (!r) {
            Fail(req, r.error());
        }
        co_return Response::NoContent();
    }

    net::awaitable<Response> RequestPasswordReset(Request& req) const {
        co_return co_await MailLink(req, "passwordReset", "passwordResetToken", "resetPasswordTemplate", false);
    }

    net::awaitable<Response> ConfirmPasswordReset(Request& req) const {
        const auto [snap, c] = AuthCollection(d_, req);
        const json::object body = DecodeJsonObject(req);
        const std::string token = RequiredString(body, "token");
        const schema::Collection collection = *c;
        Result<void> r = MakeError(ErrorCode::kInternal, "not run");
        co_await d_.blocking.Run([&] {
            auto rec = CheckSpecialToken(collection, token, "passwordReset", "passwordResetToken");
            if (!rec) {
                r = BadToken();
                return;
            }
            records::Access manager;
            manager.superuser = true;  // the token stands for the owner: no old password needed
            auto in = PrepareAuthInput(d_, collection, rec->id, body, manager);
            if (!in) {
                r = in.error();
                return;
            }
            // A new password (and tokenKey: the reset token is spent); the mailbox is proven.
            r = UpdateAuthRecord(
                collection,
                rec->id,
                {{"password", *in->password_hash},
                 {"tokenKey", SecureRandomString(50, kAlphanumeric)},
                 {"verified", std::int64_t{1}}}
            );
        });
        if (!r) {
            Fail(req, r.error());
        }
        co_return Response::NoContent();
    }

    net::awaitable<Response> RequestEmailChange(Request& req) const {
        const auto [snap, c] = AuthCollection(d_, req);
        const auth::Principal& p = RequireAuth(req);
        if (p.record.collection_id != c->id) {
            throw ApiError::Forbidden("The request requires auth record from the " + c->name + " collection.");
        }
        const std::string new_email = RequiredEmail(DecodeJsonObject(req), "newEmail");
        const schema::Collection collection = *c;
        Result<void> r = Ok();
        co_await d_.blocking.Run([&] {
            auto taken = d_.auth_records.FindByIdentity(collection, "email", new_email);
            if (!taken) {
                r = taken.error();
                return;
            }
            if (taken->has_value()) {
                Error e =
                    MakeError(ErrorCode::kInvalidArgument, "An error occurred while validating the submitted data.");
                e.fields.push_back({"newEmail", "validation_invalid_new_email", "Invalid new email address."});
                r = e;
                return;
            }
            const auto token = SpecialToken(collection, p.record, "emailChange", "emailChangeToken", new_email);
            SendTemplate(
                collection, TemplateOf(collection, "confirmEmailChangeTemplate"), new_email, {{"TOKEN", token}}
            );
        });
        if (!r) {
            Fail(req, r.error());
        }
        co_return Response::NoContent();
    }

    net::awaitable<Response> ConfirmEmailChange(Request& req) const {
        const auto [snap, c] = AuthCollection(d_, req);
        const json::object body = DecodeJsonObject(req);
        const std::string token = RequiredString(body, "token");
        const std::string password = RequiredString(body, "password");
        const schema::Collection collection = *c;
        Result<void> r = MakeError(ErrorCode::kInternal, "not run");
        co_await d_.blocking.Run([&] {
            auto rec = CheckSpecialToken(collection, token, "emailChange", "emailChangeToken");
            const auto parsed = auth::ParseToken(token);
            if (!rec || !parsed || !IsEmail(parsed->claims.new_email)) {
                r = BadToken();
                return;
            }
            if (!auth::VerifyPassword(rec->password_hash, password)) {
                Error e =
                    MakeError(ErrorCode::kInvalidArgument, "An error occurred while validating the submitted data.");
                e.fields.push_back(
                    {"password", "validation_invalid_password", "Missing or invalid auth record password."}
                );
                r = e;
                return;
            }
            r = UpdateAuthRecord(
                collection,
                rec->id,
                {{"email", parsed->claims.new_email},
                 {"verified", std::int64_t{1}},
                 {"tokenKey", SecureRandomString(50, kAlphanumeric)}}
            );
        });
        if (!r) {
            Fail(req, r.error());
        }
        co_return Response::NoContent();
    }

    net::awaitable<Response> RequestOtp(Request& req) const {
        const auto [snap, c] = AuthCollection(d_, req);
        if (!OptionEnabled(*c, "otp")) {
            throw ApiError::Forbidden("The collection is not configured to allow OTP authentication.");
        }
        const std::string email = RequiredEmail(DecodeJsonObject(req), "email");
        const std::vector<std::string> throttle_keys{
            ThrottleKey("otp", *c, email), ThrottleKey("otp-ip", *c, req.remote_ip)};
        // Each request counts against the address: mail bombing is throttled like guessing.
        ReserveAttempt(d_, throttle_keys);
        const schema::Collection collection = *c;
        // Unknown addresses get an id too (one that never works): no enumeration by the answer.
        std::string otp_id = SecureRandomString(15, kAlphanumericLower);
        Result<void> r = Ok();
        co_await d_.blocking.Run([&] {
            auto rec = d_.auth_records.FindByIdentity(collection, "email", email);
            if (!rec) {
                r = rec.error();
                return;
            }
            if (!rec->has_value()) {
                return;
            }
            const auto length = std::clamp<std::int64_t>(OptionInt(collection, "otp", "length"), 4, 32);
            const std::string code = SecureRandomString(static_cast<std::size_t>(length), "0123456789");
            const std::string now = FormatDateTime(d_.clock.Now());
            r = d_.db.Write([&](db::Executor& ex) -> Result<void> {
                auto n = ex.Exec(
                    "INSERT INTO _otps (id, collectionRef, recordRef, password, sentTo, attempts, created, updated) "
                    "VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
                    {otp_id, collection.id, (*rec)->id, auth::Sha256Hex(code), (*rec)->email, now, now}
                );
                if (!n) {
                    return n.error();
                }
                return Ok();
            });
            if (r) {
                SendTemplate(
                    collection,
                    TemplateOf(collection, "otp", "emailTemplate"),
                    (*rec)->email,
                    {{"OTP", code}, {"OTP_ID", otp_id}}
                );
            }
        });
        if (!r) {
            Fail(req, r.error());
        }
        co_return JsonResponse(json::object{{"otpId", otp_id}});
    }

    net::awaitable<Response> WithOtp(Request& req) const {
        const auto [snap, c] = AuthCollection(d_, req);
        if (!OptionEnabled(*c, "otp")) {
            throw ApiError::Forbidden("The collection is not configured to allow OTP authentication.");
        }
        const json::object body = DecodeJsonObject(req);
        const std::string otp_id = RequiredString(body, "otpId");
        const std::string code = RequiredString(body, "password");
        const schema::Collection collection = *c;
        const std::int64_t duration = std::max<std::int64_t>(1, OptionInt(collection, "otp", "duration"));
        std::optional<auth::AuthRecord> found;
        Result<void> r = Ok();
        co_await d_.blocking.Run([&] {
            const std::string oldest = FormatDateTime(d_.clock.Now() - std::chrono::seconds(duration));
            r = d_.db.Write([&](db::Executor& ex) -> Result<void> {
                auto rs = ex.Query(
                    "SELECT recordRef, password, sentTo, attempts FROM _otps WHERE id = ? AND collectionRef = ? AND "
                    "created >= ?",
                    {otp_id, collection.id, oldest}
                );
                if (!rs) {
                    return rs.error();
                }
                if (rs->rows.empty()) {
                    return MakeError(ErrorCode::kInvalidArgument, "Invalid or expired OTP.");
                }
                const auto& row = rs->rows[0];
                constexpr std::int64_t kMaxAttempts = 5;
                const bool match = auth::ConstantTimeEquals(db::AsString(row[1]), auth::Sha256Hex(code));
                if (!match) {
                    // A wrong code uses up an attempt; the last one ends the OTP.
                    auto n = db::AsInt(row[3]) + 1 >= kMaxAttempts
                                 ? ex.Exec("DELETE FROM _otps WHERE id = ?", {otp_id})
                                 : ex.Exec("UPDATE _otps SET attempts = attempts + 1 WHERE id = ?", {otp_id});
                    if (!n) {
                        return n.error();
                    }
                    return Ok();
                }
                auto n = ex.Exec("DELETE FROM _otps WHERE id = ?", {otp_id});
                if (!n) {
                    return n.error();
                }
                auto rec = d_.auth_records.FindById(collection, db::AsString(row[0]));
                if (rec && rec->has_value()) {
                    found = std::move(**rec);
                    found->data["__sent_to"] = db::AsString(row[2]);
                }
                return Ok();
            });
        });
        if (!r && r.error().code != ErrorCode::kInvalidArgument) {
            Fail(req, r.error());
        }
        if (!found) {
            throw ApiError::BadRequest("Invalid or expired OTP.");
        }
        // The code proves the mailbox: an unverified record with that address becomes verified.
        const std::string sent_to(found->data["__sent_to"].as_string());
        found->data.erase("__sent_to");
        if (!found->verified && EqualsIgnoreCase(sent_to, found->email)) {
            Result<void> v = MakeError(ErrorCode::kInternal, "not run");
            co_await d_.blocking.Run([&] {
                v = UpdateAuthRecord(collection, found->id, {{"verified", std::int64_t{1}}});
            });
            if (!v) {
                Fail(req, v.error());
            }
            found->verified = true;
        }
        co_return co_await SignIn(req, collection, *found, "otp", MfaIdOf(req, body));
    }

    // ---- OAuth2: the authorization-code flow with PKCE ------------------------------------------

    net::awaitable<Response> WithOAuth2(Request& req) const {
        const auto [snap, c] = AuthCollection(d_, req);
        if (!OptionEnabled(*c, "oauth2")) {
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
        // A new account is a sign-up like any other: the createRule with createData as
        // @request.body, hidden fields refused, the client's own rights.
        const records::Access signup = AccessFor(req, d_.collections, create_data);
        Result<identity::OAuth2User> user = MakeError(ErrorCode::kInternal, "not run");
        co_await d_.io.Run([&] { user = identity::ExchangeCode(*provider, code, verifier, redirect); });
        if (!user) {
            obs::Warn(
                "OAuth2 exchange failed",
                {{"request_id", req.request_id}, {"provider", provider_name}, {"error", user.error().message}}
            );
            throw ApiError::BadRequest("Failed to fetch OAuth2 token.");
        }
        // The account: linked before, or the record with the provider's (verified) email, or new.
        std::optional<auth::AuthRecord> found;
        bool is_new = false;
        Error failure;
        co_await d_.blocking.Run([&] {
            auto linked = d_.db.Read(
                "SELECT recordRef FROM _externalAuths WHERE collectionRef = ? AND provider = ? AND providerId = ?",
                {collection.id, provider->name, user->id}
            );
            if (!linked) {
                failure = linked.error();
                return;
            }
            if (!linked->rows.empty()) {
                auto rec = d_.auth_records.FindById(collection, db::AsString(linked->rows[0][0]));
                if (rec && rec->has_value()) {
                    found = std::move(**rec);
                    return;
                }
            }
            if (!user->email.empty()) {
                auto rec = d_.auth_records.FindByIdentity(collection, "email", user->email);
                if (!rec) {
                    failure = rec.error();
                    return;
                }
                if (rec->has_value()) {
                    if (!user->email_verified) {
                        failure = MakeError(ErrorCode::kForbidden, "The provider has not verified this email address.");
                        return;
                    }
                    found = std::move(**rec);
                    if (!found->verified) {
                        // Someone signed up with this address without proving it (perhaps to wait for
                        // its owner): the provider proved it now, so the record becomes the owner's
                        // and whatever password was set before stops working (as PocketBase).
                        auto hash = auth::HashPassword(SecureRandomString(30, kAlphanumeric));
                        if (!hash) {
                            failure = hash.error();
                            return;
                        }
                        if (auto u = UpdateAuthRecord(
                                collection,
                                found->id,
                                {{"password", std::move(*hash)},
                                 {"tokenKey", SecureRandomString(50, kAlphanumeric)},
                                 {"verified", std::int64_t{1}}}
                            );
                            !u) {
                            failure = u.error();
                            return;
                        }
                        // Read again: the token is signed with the new tokenKey.
                        auto fresh = d_.auth_records.FindById(collection, found->id);
                        if (!fresh || !fresh->has_value()) {
                            failure = fresh ? MakeError(ErrorCode::kNotFound, "The record is gone.") : fresh.error();
                            return;
                        }
                        found = std::move(**fresh);
                    }
                }
            }
            if (!found) {
                if (!collection.create_rule) {
                    failure = MakeError(ErrorCode::kForbidden, "The collection doesn't allow creating new accounts.");
                    return;
                }
                auto created = CreateOAuth2Record(collection, *user, signup);
                if (!created) {
                    failure = created.error();
                    return;
                }
                found = std::move(*created);
                is_new = true;
            }
            const std::string now = FormatDateTime(d_.clock.Now());
            auto w = d_.db.Write([&](db::Executor& ex) -> Result<void> {
                auto n = ex.Exec(
                    "INSERT INTO _externalAuths (id, collectionRef, recordRef, provider, providerId, created, updated) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (collectionRef, provider, providerId) DO UPDATE SET "
                    "recordRef = excluded.recordRef, updated = excluded.updated",
                    {SecureRandomString(15, kAlphanumericLower),
                     collection.id,
                     found->id,
                     provider->name,
                     user->id,
                     now,
                     now}
                );
                if (!n) {
                    return n.error();
                }
                return Ok();
            });
            if (!w) {
                failure = w.error();
            }
        });
        if (!failure.message.empty()) {
            if (failure.code == ErrorCode::kForbidden) {
                throw ApiError::Forbidden(failure.message);
            }
            Fail(req, failure);
        }
        json::object meta{
            {"id", user->id},
            {"name", user->name},
            {"username", user->username},
            {"email", user->email},
            {"avatarURL", user->avatar_url},
            {"accessToken", user->access_token},
            {"refreshToken", user->refresh_token},
            {"expiry", user->expiry},
            {"isNew", is_new},
            {"rawUser", user->raw},
        };
        co_return co_await SignIn(req, collection, *found, "oauth2", MfaIdOf(req, body), std::move(meta));
    }

    // ---- API keys (basalt, superusers) -----------------------------------------------------------

    net::awaitable<Response> CreateKey(Request& req) const {
        RequireAdmin(req);
        const json::object body = DecodeJsonObject(req);
        std::vector<FieldError> errors;
        const std::string name = StringField(body, "name");
        if (name.size() > 255) {
            errors.push_back({"name", "validation_length_out_of_range", "The length must be at most 255."});
        }
        const auto snap = d_.collections.Current();
        const schema::Collection* c = snap->Find(StringField(body, "collection"));
        if (c == nullptr || c->type != schema::CollectionType::kAuth) {
            errors.push_back({"collection", "validation_invalid_collection", "Must be an auth collection."});
        }
        const std::string record_id = StringField(body, "recordId");
        std::vector<std::string> scopes;
        if (const auto* v = body.if_contains("scopes"); v != nullptr && v->is_array()) {
            for (const auto& s : v->as_array()) {
                scopes.emplace_back(s.is_string() ? std::string(s.as_string()) : std::string("?"));
            }
        }
        if (auto ok = auth::ValidateScopes(scopes); !ok) {
            errors.push_back({"scopes", "validation_invalid_scopes", ok.error().message});
        }
        std::string expires = StringField(body, "expires");
        if (!expires.empty()) {
            auto normalized = records::NormalizeDate(expires);
            if (!normalized || *normalized <= FormatDateTime(d_.clock.Now())) {
                errors.push_back({"expires", "validation_invalid_date", "Must be a date in the future."});
            } else {
                expires = *normalized;
            }
        }
        if (!errors.empty()) {
            throw ApiError::BadRequest("An error occurred while validating the submitted data.", std::move(errors));
        }
        const schema::Collection collection = *c;
        Result<std::pair<identity::ApiKey, std::string>> created = MakeError(ErrorCode::kInternal, "not run");
        co_await d_.blocking.Run([&] {
            auto rec = d_.auth_records.FindById(collection, record_id);
            if (!rec) {
                created = rec.error();
            } else if (!rec->has_value()) {
                Error e =
                    MakeError(ErrorCode::kInvalidArgument, "An error occurred while validating the submitted data.");
                e.fields.push_back({"recordId", "validation_missing_record", "The record does not exist."});
                created = e;
            } else {
                created = d_.api_keys.Create(name, collection, record_id, scopes, expires);
            }
        });
        if (!created) {
            Fail(req, created.error());
        }
        json::object out = ApiKeyJson(created->first);
        out["key"] = created->second;  // shown once
        co_return JsonResponse(out);
    }

    net::awaitable<Response> ListKeys(Request& req) const {
        RequireAdmin(req);
        Result<std::vector<identity::ApiKey>> list = MakeError(ErrorCode::kInternal, "not run");
        co_await d_.blocking.Run([&] { list = d_.api_keys.List(); });
        if (!list) {
            Fail(req, list.error());
        }
        json::array items;
        for (const auto& k : *list) {
            items.emplace_back(ApiKeyJson(k));
        }
        co_return JsonResponse(json::object{{"items", std::move(items)}});
    }

    net::awaitable<Response> RevokeKey(Request& req) const {
        RequireAdmin(req);
        const std::string id(req.Param("id"));
        Result<void> r;
        co_await d_.blocking.Run([&] { r = d_.api_keys.Revoke(id); });
        if (!r) {
            if (r.error().code == ErrorCode::kNotFound) {
                throw ApiError::NotFound();
            }
            Fail(req, r.error());
        }
        co_return Response::NoContent();
    }

    // ---- TOTP (basalt): an authenticator app as a second sign-in method ------------------------

    net::awaitable<Response> TotpSetup(Request& req) const {
        const auto [snap, c] = AuthCollection(d_, req);
        const auth::Principal& p = RequireOwn(req, *c);
        const std::string password = RequiredString(DecodeJsonObject(req), "password");
        const schema::Collection collection = *c;
        Result<json::object> r = MakeError(ErrorCode::kInternal, "not run");
        // A password check for a signed-in record: throttled like a sign-in (a stolen token must not
        // turn into a password oracle).
        const std::vector<std::string> throttle_keys{ThrottleKey("password", collection, p.record.id)};
        ReserveAttempt(d_, throttle_keys);
        co_await d_.blocking.Run([&] {
            auto rec = d_.auth_records.FindById(collection, p.record.id);
            if (!rec || !rec->has_value() || !auth::VerifyPassword((*rec)->password_hash, password)) {
                r = FieldFailure("password", "validation_invalid_password", "Missing or invalid auth record password.");
                return;
            }
            const std::string secret = auth::NewTotpSecret();
            const std::string now = FormatDateTime(d_.clock.Now());
            auto w = d_.db.Write([&](db::Executor& ex) -> Result<void> {
                auto on = ex.Query(
                    "SELECT 1 FROM _totps WHERE collectionId = ? AND recordId = ? AND enabled = 1",
                    {collection.id, p.record.id}
                );
                if (!on) {
                    return on.error();
                }
                if (!on->rows.empty()) {
                    return MakeError(ErrorCode::kInvalidArgument, "TOTP is already enabled: disable it first.");
                }
                auto n = ex.Exec(
                    "INSERT INTO _totps (collectionId, recordId, secret, enabled, recoveryCodes, lastStep, created) "
                    "VALUES (?, ?, ?, 0, '[]', 0, ?) ON CONFLICT (collectionId, recordId) DO UPDATE SET secret = "
                    "excluded.secret, created = excluded.created",
                    {collection.id, p.record.id, auth::Base32Encode(secret), now}
                );
                if (!n) {
                    return n.error();
                }
                return Ok();
            });
            if (!w) {
                r = w.error();
                return;
            }
            const std::string issuer = d_.settings.Mail().app_name;
            r = json::object{
                {"secret", auth::Base32Encode(secret)},
                {"uri", auth::TotpUri(issuer.empty() ? "basalt" : issuer, (*rec)->email, secret)}};
        });
        if (r) {
            AttemptSucceeded(d_, throttle_keys);
        }
        if (!r) {
            Fail(req, r.error());
        }
        co_return JsonResponse(*r);
    }

    net::awaitable<Response> TotpEnable(Request& req) const {
        const auto [snap, c] = AuthCollection(d_, req);
        const auth::Principal& p = RequireOwn(req, *c);
        const std::string code = RequiredString(DecodeJsonObject(req), "code");
        const schema::Collection collection = *c;
        Result<json::array> r = MakeError(ErrorCode::kInternal, "not run");
        co_await d_.blocking.Run([&] {
            std::vector<std::string> codes;
            json::array hashed;
            for (int i = 0; i < 10; ++i) {
                std::string rc = SecureRandomString(10, kAlphanumericLower);
                rc.insert(5, "-");
                hashed.emplace_back(auth::Sha256Hex(rc));
                codes.push_back(std::move(rc));
            }
            const std::int64_t now = UnixSeconds(d_.clock.Now());
            auto w = d_.db.Write([&](db::Executor& ex) -> Result<void> {
                auto rs = ex.Query(
                    "SELECT secret, enabled FROM _totps WHERE collectionId = ? AND recordId = ?",
                    {collection.id, p.record.id}
                );
                if (!rs) {
                    return rs.error();
                }
                if (rs->rows.empty() || db::AsInt(rs->rows[0][1]) != 0) {
                    return MakeError(ErrorCode::kInvalidArgument, "Set up TOTP first (totp-setup).");
                }
                const auto secret = auth::Base32Decode(db::AsString(rs->rows[0][0]));
                const auto step = secret ? auth::TotpMatch(*secret, code, now) : std::nullopt;
                if (!step) {
                    return FieldFailure("code", "validation_invalid_code", "Invalid or expired code.");
                }
                auto n = ex.Exec(
                    "UPDATE _totps SET enabled = 1, recoveryCodes = ?, lastStep = ? WHERE collectionId = ? AND "
                    "recordId = ?",
                    {json::serialize(hashed), *step, collection.id, p.record.id}
                );
                if (!n) {
                    return n.error();
                }
                return Ok();
            });
            if (!w) {
                r = w.error();
                return;
            }
            json::array out;
            for (auto& rc : codes) {
                out.emplace_back(rc);
            }
            r = std::move(out);
        });
        if (!r) {
            if (r.error().code == ErrorCode::kInvalidArgument && r.error().fields.empty()) {
                throw ApiError::BadRequest(r.error().message);
            }
            Fail(req, r.error());
        }
        co_return JsonResponse(json::object{{"recoveryCodes", std::move(*r)}});
    }

    net::awaitable<Response> TotpDisable(Request& req) const {
        const auto [snap, c] = AuthCollection(d_, req);
        const auth::Principal& p = RequireOwn(req, *c);
        const std::string password = RequiredString(DecodeJsonObject(req), "password");
        const schema::Collection collection = *c;
        Result<void> r = MakeError(ErrorCode::kInternal, "not run");
        // A password check for a signed-in record: throttled like a sign-in (a stolen token must not
        // turn into a password oracle).
        const std::vector<std::string> throttle_keys{ThrottleKey("password", collection, p.record.id)};
        ReserveAttempt(d_, throttle_keys);
        co_await d_.blocking.Run([&] {
            auto rec = d_.auth_records.FindById(collection, p.record.id);
            if (!rec || !rec->has_value() || !auth::VerifyPassword((*rec)->password_hash, password)) {
                r = FieldFailure("password", "validation_invalid_password", "Missing or invalid auth record password.");
                return;
            }
            r = d_.db.Write([&](db::Executor& ex) -> Result<void> {
                auto n =
                    ex.Exec("DELETE FROM _totps WHERE collectionId = ? AND recordId = ?", {collection.id, p.record.id});
                if (!n) {
                    return n.error();
                }
                return Ok();
            });
        });
        if (r) {
            AttemptSucceeded(d_, throttle_keys);
        }
        if (!r) {
            Fail(req, r.error());
        }
        co_return Response::NoContent();
    }

    // The second method of an MFA sign-in: a TOTP code (each time step once) or a recovery code
    // (each once). The record is the one the mfaId was issued for.
    net::awaitable<Response> WithTotp(Request& req) const {
        const auto [snap, c] = AuthCollection(d_, req);
        const json::object body = DecodeJsonObject(req);
        const std::string mfa_id = RequiredString(body, "mfaId");
        const std::string code = RequiredString(body, "code");
        const schema::Collection collection = *c;
        std::optional<auth::AuthRecord> found;
        Error failure;
        std::string record_id;
        co_await d_.blocking.Run([&] {
            auto rs =
                d_.db.Read("SELECT recordRef FROM _mfas WHERE id = ? AND collectionRef = ?", {mfa_id, collection.id});
            if (!rs) {
                failure = rs.error();
                return;
            }
            if (rs->rows.empty()) {
                return;
            }
            record_id = db::AsString(rs->rows[0][0]);
        });
        if (!failure.message.empty()) {
            Fail(req, failure);
        }
        if (record_id.empty()) {
            throw ApiError::BadRequest("Invalid or expired MFA session.");
        }
        const std::vector<std::string> throttle_keys{ThrottleKey("totp", collection, record_id)};
        ReserveAttempt(d_, throttle_keys);
        co_await d_.blocking.Run([&] {
            const std::int64_t now = UnixSeconds(d_.clock.Now());
            bool ok = false;
            auto w = d_.db.Write([&](db::Executor& ex) -> Result<void> {
                auto rs = ex.Query(
                    "SELECT secret, recoveryCodes, lastStep FROM _totps WHERE collectionId = ? AND recordId = ? AND "
                    "enabled = 1",
                    {collection.id, record_id}
                );
                if (!rs) {
                    return rs.error();
                }
                if (rs->rows.empty()) {
                    return Ok();
                }
                const auto& row = rs->rows[0];
                const auto secret = auth::Base32Decode(db::AsString(row[0]));
                const auto step = secret ? auth::TotpMatch(*secret, code, now) : std::nullopt;
                if (step && *step > db::AsInt(row[2])) {
                    ok = true;
                    auto n = ex.Exec(
                        "UPDATE _totps SET lastStep = ? WHERE collectionId = ? AND recordId = ?",
                        {*step, collection.id, record_id}
                    );
                    return n ? Ok() : Result<void>(n.error());
                }
                // A recovery code, used up on use.
                boost::system::error_code ec;
                auto list = json::parse(db::AsString(row[1], "[]"), ec);
                if (ec || !list.is_array()) {
                    return Ok();
                }
                const std::string digest = auth::Sha256Hex(code);
                json::array rest;
                for (const auto& v : list.as_array()) {
                    if (!ok && v.is_string() && auth::ConstantTimeEquals(v.as_string(), digest)) {
                        ok = true;
                    } else {
                        rest.push_back(v);
                    }
                }
                if (!ok) {
                    return Ok();
                }
                auto n = ex.Exec(
                    "UPDATE _totps SET recoveryCodes = ? WHERE collectionId = ? AND recordId = ?",
                    {json::serialize(rest), collection.id, record_id}
                );
                return n ? Ok() : Result<void>(n.error());
            });
            if (!w) {
                failure = w.error();
                return;
            }
            if (ok) {
                auto rec = d_.auth_records.FindById(collection, record_id);
                if (rec && rec->has_value()) {
                    found = std::move(**rec);
                }
            }
        });
        if (!failure.message.empty()) {
            Fail(req, failure);
        }
        if (!found) {
            throw ApiError::BadRequest("Failed to authenticate.");  // the attempt stays counted
        }
        AttemptSucceeded(d_, throttle_keys);
        co_return co_await SignIn(req, collection, *found, "totp", mfa_id);
    }

private:
    // The signed-in record, which must belong to `c`.
    static const auth::Principal& RequireOwn(const Request& req, const schema::Collection& c) {
        const auth::Principal& p = RequireAuth(req);
        if (p.record.collection_id != c.id) {
            throw ApiError::Forbidden("The request requires auth record from the " + c.name + " collection.");
        }
        return p;
    }

    static Error FieldFailure(std::string field, std::string code, std::string message) {
        Error e = MakeError(ErrorCode::kInvalidArgument, "An error occurred while validating the submitted data.");
        e.fields.push_back({std::move(field), std::move(code), std::move(message)});
        return e;
    }

    static std::string RequiredString(const json::object& body, std::string_view key) {
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

    static std::string RequiredEmail(const json::object& body, std::string_view key) {
        std::string v = RequiredString(body, key);
        if (!IsEmail(v)) {
            throw ApiError::BadRequest(
                "An error occurred while validating the submitted data.",
                {{std::string(key), "validation_is_email", "Must be a valid email address."}}
            );
        }
        return v;
    }

    // request-verification / request-password-reset: mails a single-purpose token to the record with
    // that email (at most one per minute; with `unverified_only`, only while it is unverified). The
    // answer is the same 204 whether the address is known or not.
    net::awaitable<Response> MailLink(
        Request& req,
        std::string_view type,
        std::string_view config_key,
        std::string_view template_key,
        bool unverified_only
    ) const {
        const auto [snap, c] = AuthCollection(d_, req);
        const std::string email = RequiredEmail(DecodeJsonObject(req), "email");
        const schema::Collection collection = *c;
        co_await d_.blocking.Run([&] {
            auto rec = d_.auth_records.FindByIdentity(collection, "email", email);
            if (!rec || !rec->has_value() || (unverified_only && (*rec)->verified) || !NotRecentlySent(type, **rec)) {
                return;
            }
            const auto token = SpecialToken(collection, **rec, type, config_key);
            SendTemplate(collection, TemplateOf(collection, template_key), (*rec)->email, {{"TOKEN", token}});
        });
        co_return Response::NoContent();
    }

    static Error BadToken() {
        Error e = MakeError(ErrorCode::kInvalidArgument, "An error occurred while validating the submitted data.");
        e.fields.push_back(InvalidToken());
        return e;
    }

    // A single-purpose token (verification, passwordReset, emailChange) for `r`, signed with its
    // tokenKey and the collection's secret for that purpose.
    std::string SpecialToken(
        const schema::Collection& c,
        const auth::AuthRecord& r,
        std::string_view type,
        std::string_view config_key,
        std::string new_email = {}
    ) const {
        const auto config = collections::TokenConfigOf(c, config_key);
        auth::TokenClaims claims;
        claims.type = std::string(type);
        claims.id = r.id;
        claims.collection_id = c.id;
        claims.email = r.email;
        claims.new_email = std::move(new_email);
        claims.exp = UnixSeconds(d_.clock.Now()) + config.duration;
        return auth::SignToken(claims, r.token_key + config.secret);
    }

    // The record a single-purpose token stands for, when it is of that type and collection, not
    // expired, signed with the record's current key, and for its current email. Blocking (a read).
    std::optional<auth::AuthRecord> CheckSpecialToken(
        const schema::Collection& c, std::string_view token, std::string_view type, std::string_view config_key
    ) const {
        auto parsed = auth::ParseToken(token);
        if (!parsed || parsed->claims.type != type || parsed->claims.collection_id != c.id ||
            parsed->claims.exp <= UnixSeconds(d_.clock.Now())) {
            return std::nullopt;
        }
        auto rec = d_.auth_records.FindById(c, parsed->claims.id);
        if (!rec || !rec->has_value()) {
            return std::nullopt;
        }
        const auto config = collections::TokenConfigOf(c, config_key);
        if (config.secret.empty() || !auth::VerifyTokenSignature(*parsed, (*rec)->token_key + config.secret) ||
            !EqualsIgnoreCase(parsed->claims.email, (*rec)->email)) {
            return std::nullopt;
        }
        return std::move(**rec);
    }

    // Sets columns of an auth record (and `updated`) outside the records API; what follows (events,
    // sessions, caches) is the records service's. Blocking (a write).
    Result<void> UpdateAuthRecord(
        const schema::Collection& c, const std::string& id, const std::vector<std::pair<std::string, db::Value>>& sets
    ) const {
        return d_.db.Write(d_.records.PrepareSystemUpdate(c, id, sets).fn);
    }

    // One mail per purpose and record per minute at most (the answer stays the same either way).
    bool NotRecentlySent(std::string_view purpose, const auth::AuthRecord& r) const {
        const auto now = std::chrono::steady_clock::now();
        std::string key(purpose);
        key += '\x1f' + r.collection_id + '\x1f' + r.id;
        std::lock_guard lock(sent_mu_);
        if (sent_.size() > 10000) {
            std::erase_if(sent_, [&](const auto& kv) { return now - kv.second > std::chrono::minutes(1); });
        }
        auto [it, fresh] = sent_.try_emplace(key, now);
        if (!fresh && now - it->second < std::chrono::minutes(1)) {
            return false;
        }
        it->second = now;
        return true;
    }

    // Fills a template and queues it; nothing is sent (and a warning is logged) while SMTP is off.
    void SendTemplate(
        const schema::Collection& c,
        const std::pair<std::string, std::string>& tpl,
        const std::string& to,
        std::vector<std::pair<std::string, std::string>> values
    ) const {
        const settings::MailSettings m = d_.settings.Mail();
        if (!m.enabled) {
            obs::Warn("mail not sent: SMTP is disabled in the settings", {{"to", to}, {"collection", c.name}});
            return;
        }
        values.emplace_back("APP_NAME", m.app_name);
        values.emplace_back("APP_URL", m.app_url);
        mail::Message message;
        message.from_name = m.sender_name;
        message.from_address = m.sender_address;
        message.to = to;
        message.subject = mail::Fill(tpl.first, values, /*html=*/false);
        message.html = mail::Fill(tpl.second, values, /*html=*/true);
        // Through the durable queue (retried, survives a restart), without waiting for the write: the
        // answer's timing must not tell whether a mail was sent.
        jobs::NewJob job;
        job.kind = "mail.send";
        job.payload = mail::MessageToJson(message);
        job.max_attempts = 5;
        d_.jobs.Submit(std::move(job), [notify = d_.notify_workers](const Result<void>& r) {
            if (r && notify) {
                notify();
            }
        });
    }

    // A new record for an OAuth2 account, created as a sign-up through the records API would be
    // (`signup`: the client's access, createData as @request.body, so the createRule and hidden-field
    // protection apply): createData, the provider's email (verified as it says), the mapped fields,
    // a random password. Blocking (hash, write).
    Result<auth::AuthRecord> CreateOAuth2Record(
        const schema::Collection& c, const identity::OAuth2User& user, const records::Access& signup
    ) const {
        json::object data = signup.request.body;
        const auto* mapped = c.options.if_contains("oauth2");
        const auto* fields =
            mapped != nullptr && mapped->is_object() ? mapped->as_object().if_contains("mappedFields") : nullptr;
        auto map = [&](std::string_view key, const std::string& value) {
            const auto* target =
                fields != nullptr && fields->is_object() ? fields->as_object().if_contains(key) : nullptr;
            if (target != nullptr && target->is_string() && !target->as_string().empty() && !value.empty() &&
                c.FindField(target->as_string()) != nullptr) {
                data[target->as_string()] = value;
            }
        };
        map("name", user.name);
        map("username", user.username);
        map("avatarURL", user.avatar_url);
        if (!user.email.empty()) {
            data["email"] = user.email;
        }
        data.erase("password");
        data.erase("passwordConfirm");
        data["verified"] = user.email_verified && !user.email.empty();
        auto hash = auth::HashPassword(SecureRandomString(30, kAlphanumeric));
        if (!hash) {
            return hash.error();
        }
        records::AuthInput input;
        input.password_hash = std::move(*hash);
        input.manage = true;  // email and verified come from the provider, not the client
        auto prepared = d_.records.PrepareCreate(c.id, data, signup, input);
        if (!prepared) {
            return prepared.error();
        }
        if (auto written = d_.db.Write(prepared->fn); !written) {
            return written.error();
        }
        const auto* id = prepared->record->if_contains("id");
        auto rec =
            d_.auth_records.FindById(c, id != nullptr && id->is_string() ? std::string_view(id->as_string()) : "");
        if (!rec) {
            return rec.error();
        }
        if (!rec->has_value()) {
            return MakeError(ErrorCode::kInternal, "the new record is gone");
        }
        return std::move(**rec);
    }

    // authAlert: a sign-in from an IP and user agent none of the record's earlier sessions had (the
    // first sign-in ever is not news) mails the record. Blocking (a read).
    void AlertOnNewOrigin(
        const schema::Collection& c, const auth::AuthRecord& r, const std::string& ip, const std::string& ua
    ) const {
        if (!OptionEnabled(c, "authAlert") || r.email.empty()) {
            return;
        }
        auto rs = d_.db.Read(
            "SELECT COUNT(*), COALESCE(SUM(ip = ? AND userAgent = ?), 0) FROM _sessions WHERE collectionId = ? AND "
            "recordId = ?",
            {ip, ua.substr(0, 512), c.id, r.id}
        );
        if (!rs || rs->rows.empty() || db::AsInt(rs->rows[0][0]) == 0 || db::AsInt(rs->rows[0][1]) > 0) {
            return;
        }
        SendTemplate(c, TemplateOf(c, "authAlert", "emailTemplate"), r.email, {{"ALERT_INFO", ip + " / " + ua}});
    }

    // The end of every successful sign-in: the auth rule, a new session, a refreshable token.
    static std::string MfaIdOf(const Request& req, const json::object& body) {
        std::string id = req.QueryParam("mfaId").value_or("");
        if (id.empty()) {
            if (const auto* v = body.if_contains("mfaId"); v != nullptr && v->is_string()) {
                id = std::string(v->as_string());
            }
        }
        return id.substr(0, 64);
    }

    // Whether `r` must pass a second method: the collection's MFA (for records its rule matches), or
    // a TOTP the record enrolled. Blocking (reads).
    Result<bool> WantsMfa(const Request& req, const schema::Collection& c, const auth::AuthRecord& r) const {
        auto totp =
            d_.db.Read("SELECT 1 FROM _totps WHERE collectionId = ? AND recordId = ? AND enabled = 1", {c.id, r.id});
        if (!totp) {
            return totp.error();
        }
        if (!totp->rows.empty()) {
            return true;
        }
        if (!OptionEnabled(c, "mfa")) {
            return false;
        }
        const auto* mfa = c.options.if_contains("mfa");
        const auto* rule = mfa != nullptr && mfa->is_object() ? mfa->as_object().if_contains("rule") : nullptr;
        if (rule == nullptr || !rule->is_string() || rule->as_string().empty()) {
            return true;
        }
        auto ok = d_.records.Satisfies(c, r.id, rule->as_string(), AccessAs(d_, req, r));
        return ok ? *ok : true;  // when in doubt, ask for the second method
    }

    // The end of every successful sign-in: the auth rule; MFA (a first method answers 401 with an
    // mfaId, a second, different one within mfa.duration completes it); a new session; a token.
    net::awaitable<Response> SignIn(
        Request& req,
        const schema::Collection& c,
        const auth::AuthRecord& r,
        std::string_view method,
        std::string mfa_id,
        std::optional<json::object> meta = std::nullopt
    ) const {
        CheckAuthRule(d_, req, c, r);
        std::optional<std::string> new_mfa;
        Error failure;
        const std::string method_name(method);
        const std::int64_t duration = std::max<std::int64_t>(60, OptionInt(c, "mfa", "duration"));
        co_await d_.blocking.Run([&] {
            auto wants = WantsMfa(req, c, r);
            if (!wants) {
                failure = wants.error();
                return;
            }
            if (!*wants) {
                return;
            }
            const std::string now = FormatDateTime(d_.clock.Now());
            if (mfa_id.empty()) {
                std::string id = SecureRandomString(15, kAlphanumericLower);
                auto w = d_.db.Write([&](db::Executor& ex) -> Result<void> {
                    auto n = ex.Exec(
                        "INSERT INTO _mfas (id, collectionRef, recordRef, method, created, updated) VALUES (?, ?, ?, "
                        "?, ?, ?)",
                        {id, c.id, r.id, method_name, now, now}
                    );
                    if (!n) {
                        return n.error();
                    }
                    return Ok();
                });
                if (!w) {
                    failure = w.error();
                    return;
                }
                new_mfa = std::move(id);
                return;
            }
            const std::string oldest = FormatDateTime(d_.clock.Now() - std::chrono::seconds(duration));
            auto w = d_.db.Write([&](db::Executor& ex) -> Result<void> {
                auto rs =
                    ex.Query("SELECT collectionRef, recordRef, method, created FROM _mfas WHERE id = ?", {mfa_id});
                if (!rs) {
                    return rs.error();
                }
                if (rs->rows.empty() || db::AsString(rs->rows[0][3]) < oldest) {
                    (void)ex.Exec("DELETE FROM _mfas WHERE id = ?", {mfa_id});
                    return MakeError(ErrorCode::kInvalidArgument, "Invalid or expired MFA session.");
                }
                const auto& row = rs->rows[0];
                if (db::AsString(row[0]) != c.id || db::AsString(row[1]) != r.id) {
                    return MakeError(ErrorCode::kInvalidArgument, "Invalid MFA session.");
                }
                if (db::AsString(row[2]) == method_name) {
                    return MakeError(ErrorCode::kInvalidArgument, "A different authentication method is required.");
                }
                auto n = ex.Exec("DELETE FROM _mfas WHERE id = ?", {mfa_id});
                if (!n) {
                    return n.error();
                }
                return Ok();
            });
            if (!w) {
                failure = w.error();
            }
        });
        if (!failure.message.empty()) {
            if (failure.code == ErrorCode::kInvalidArgument) {
                throw ApiError::BadRequest(failure.message);
            }
            Fail(req, failure);
        }
        if (new_mfa) {
            co_return Response::Json(401, json::serialize(json::object{{"mfaId", *new_mfa}}));
        }
        Result<identity::Session> session = MakeError(ErrorCode::kInternal, "not run");
        const std::string ua(req.Header("User-Agent"));
        co_await d_.blocking.Run([&] {
            AlertOnNewOrigin(c, r, req.remote_ip, ua);
            session = d_.sessions.Open(r, method, req.remote_ip, ua);
        });
        if (!session) {
            Fail(req, session.error());
        }
        auto token = d_.tokens.Issue(r, session->id, /*refreshable=*/true);
        if (!token) {
            Fail(req, token.error());
        }
        json::object out = AuthResponse(d_, req, c, r, *token);
        if (meta) {
            out["meta"] = std::move(*meta);
        }
        co_return JsonResponse(out);
    }

    Deps d_;
    mutable std::mutex sent_mu_;
    mutable std::unordered_map<std::string, std::chrono::steady_clock::time_point> sent_;
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
        if (!password || password->empty()) {
            errors.push_back({"password", "validation_required", "Cannot be blank."});
        } else if (auto e = records::PasswordLengthError(c.FindField("password"), *password)) {
            errors.push_back(std::move(*e));  // PocketBase's codes and messages, lengths in characters
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
    router.Add(
        Method::kPost, "/api/collections/{collection}/request-verification", async(&AuthApi::RequestVerification)
    );
    router.Add(
        Method::kPost, "/api/collections/{collection}/confirm-verification", async(&AuthApi::ConfirmVerification)
    );
    router.Add(
        Method::kPost, "/api/collections/{collection}/request-password-reset", async(&AuthApi::RequestPasswordReset)
    );
    router.Add(
        Method::kPost, "/api/collections/{collection}/confirm-password-reset", async(&AuthApi::ConfirmPasswordReset)
    );
    router.Add(
        Method::kPost, "/api/collections/{collection}/request-email-change", async(&AuthApi::RequestEmailChange)
    );
    router.Add(
        Method::kPost, "/api/collections/{collection}/confirm-email-change", async(&AuthApi::ConfirmEmailChange)
    );
    router.Add(Method::kPost, "/api/collections/{collection}/auth-with-oauth2", async(&AuthApi::WithOAuth2));
    router.Add(Method::kPost, "/api/collections/{collection}/request-otp", async(&AuthApi::RequestOtp));
    router.Add(Method::kPost, "/api/collections/{collection}/auth-with-otp", async(&AuthApi::WithOtp));
    router.Add(Method::kPost, "/api/collections/{collection}/totp-setup", async(&AuthApi::TotpSetup));
    router.Add(Method::kPost, "/api/collections/{collection}/totp-enable", async(&AuthApi::TotpEnable));
    router.Add(Method::kPost, "/api/collections/{collection}/totp-disable", async(&AuthApi::TotpDisable));
    router.Add(Method::kPost, "/api/collections/{collection}/auth-with-totp", async(&AuthApi::WithTotp));
    router.Add(Method::kPost, "/api/keys", async(&AuthApi::CreateKey));
    router.Add(Method::kGet, "/api/keys", async(&AuthApi::ListKeys));
    router.Add(Method::kDelete, "/api/keys/{id}", async(&AuthApi::RevokeKey));
    router.Add(Method::kGet, "/api/sessions", async(&AuthApi::ListSessions));
    router.Add(Method::kDelete, "/api/sessions", async(&AuthApi::RevokeOtherSessions));
    router.Add(Method::kDelete, "/api/sessions/{id}", async(&AuthApi::RevokeSession));
}

}  // namespace basalt::api
