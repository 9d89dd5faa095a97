// SPDX-License-Identifier: MIT
#include "api/handlers.hpp"

#include "api/json_body.hpp"
#include "api/routes.hpp"
#include "auth/password.hpp"
#include "core/json_text.hpp"
#include "obs/log.hpp"

namespace basalt::api {

namespace {

std::string_view TokenFromHeader(std::string_view value) {
    if (value.size() > 7 && http::EqualsIgnoreCase(value.substr(0, 7), "Bearer ")) {
        value.remove_prefix(7);
    }
    while (!value.empty() && value.front() == ' ') {
        value.remove_prefix(1);
    }
    return value;
}

// Only `_superusers` is an auth collection so far; any other name or id is unknown.
void RequireSuperusersCollection(const http::Request& req) {
    const std::string_view c = req.Param("collection");
    if (c != auth::kSuperusersName && c != auth::kSuperusersId) {
        throw ApiError::NotFound("Missing or invalid auth collection context.");
    }
}

std::string AuthResponseJson(const std::string& token, const auth::AuthRecord& record) {
    std::string out = R"({"record":)";
    out += AuthRecordJson(record, true);
    out += R"(,"token":)";
    AppendJsonString(out, token);
    out += '}';
    return out;
}

class AuthWithPassword {
public:
    explicit AuthWithPassword(const Deps& deps) : deps_(deps) {}

    net::awaitable<http::Response> Handle(http::Request& req) const {
        RequireSuperusersCollection(req);
        const boost::json::object body = DecodeJsonObject(req);
        const std::string identity = StringField(body, "identity");
        const std::string password = StringField(body, "password");
        const std::string identity_field = StringField(body, "identityField");
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
        if (!identity_field.empty() && identity_field != "email") {
            errors.push_back({"identityField", "validation_in_invalid", "Must be a valid value."});
        }
        if (!errors.empty()) {
            throw ApiError::BadRequest("An error occurred while validating the submitted data.", std::move(errors));
        }

        // The lookup and the argon2id check run on the blocking pool. An unknown identity still pays
        // for one verification so that both failures take the same time and give the same answer.
        std::optional<auth::AuthRecord> found;
        Error failure;
        bool ok = false;
        co_await deps_.blocking.Run([&] {
            auto rec = deps_.superusers.FindByEmail(identity);
            if (!rec) {
                failure = rec.error();
                auth::VerifyPasswordDummy(password);
                return;
            }
            if (rec->has_value()) {
                ok = auth::VerifyPassword((*rec)->password_hash, password);
                found = std::move(*rec);
            } else {
                auth::VerifyPasswordDummy(password);
            }
        });
        if (!failure.message.empty()) {
            obs::Error("auth lookup failed", {{"request_id", req.request_id}, {"error", failure.message}});
            throw ApiError::FromError(failure);
        }
        if (!ok || !found) {
            throw ApiError::BadRequest("Failed to authenticate.");
        }
        auto token = deps_.tokens.IssueAuthToken(*found);
        if (!token) {
            throw ApiError::FromError(token.error());
        }
        co_return http::Response::Json(200, AuthResponseJson(*token, *found));
    }

private:
    Deps deps_;
};

}  // namespace

std::string AuthRecordJson(const auth::AuthRecord& r, bool include_email) {
    std::string out = R"({"collectionId":)";
    AppendJsonString(out, r.collection_id);
    out += R"(,"collectionName":)";
    AppendJsonString(out, r.collection_name);
    out += R"(,"created":)";
    AppendJsonString(out, r.created);
    if (include_email || r.email_visibility) {
        out += R"(,"email":)";
        AppendJsonString(out, r.email);
    }
    out += R"(,"emailVisibility":)";
    out += r.email_visibility ? "true" : "false";
    out += R"(,"id":)";
    AppendJsonString(out, r.id);
    out += R"(,"updated":)";
    AppendJsonString(out, r.updated);
    out += R"(,"verified":)";
    out += r.verified ? "true" : "false";
    out += '}';
    return out;
}

std::optional<http::Response> AuthMiddleware::Before(http::Request& req) {
    const std::string_view header = req.Header("Authorization");
    if (header.empty()) {
        return std::nullopt;
    }
    const std::string_view token = TokenFromHeader(header);
    if (token.empty()) {
        return std::nullopt;
    }
    auto principal = deps_.tokens.Authenticate(token);
    if (principal) {
        req.auth = std::make_shared<const auth::Principal>(std::move(*principal));
    } else if (principal.error().code != ErrorCode::kUnauthorized) {
        obs::Warn("token check failed", {{"request_id", req.request_id}, {"error", principal.error().message}});
    }
    return std::nullopt;
}

http::Handler HealthHandler(const Deps& /*deps*/) {
    return http::SyncHandler([](http::Request& req) {
        const auth::Principal* p = RequestAuth(req);
        if (p == nullptr || !p->superuser) {
            return http::Response::Json(200, R"({"code":200,"data":{},"message":"API is healthy."})");
        }
        std::string body = R"({"code":200,"data":{"canBackup":true,"possibleProxyHeader":"","realIP":)";
        AppendJsonString(body, req.remote_ip);
        body += R"(},"message":"API is healthy."})";
        return http::Response::Json(200, std::move(body));
    });
}

http::Handler AuthWithPasswordHandler(const Deps& deps) {
    auto h = std::make_shared<const AuthWithPassword>(deps);
    return http::AsyncHandler([h](http::Request& req) { return h->Handle(req); });
}

http::Handler AuthRefreshHandler(const Deps& deps) {
    return http::SyncHandler([deps](http::Request& req) {
        RequireSuperusersCollection(req);
        const auth::Principal* p = RequestAuth(req);
        if (p == nullptr) {
            throw ApiError::Unauthorized("The request requires valid record authorization token.");
        }
        if (p->record.collection_id != auth::kSuperusersId) {
            throw ApiError::Forbidden("The request requires auth record from the _superusers collection.");
        }
        std::string token;
        if (p->refreshable) {
            auto t = deps.tokens.IssueAuthToken(p->record);
            if (!t) {
                throw ApiError::FromError(t.error());
            }
            token = std::move(*t);
        } else {
            token = std::string(TokenFromHeader(req.Header("Authorization")));
        }
        return http::Response::Json(200, AuthResponseJson(token, p->record));
    });
}

}  // namespace basalt::api
