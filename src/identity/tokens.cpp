// SPDX-License-Identifier: MIT
#include "identity/tokens.hpp"

#include "auth/jwt.hpp"
#include "collections/auth_collection.hpp"

namespace basalt::identity {

namespace {

constexpr std::size_t kMaxCachedTokens = 100000;

Error Unauthorized(std::string why) {
    return MakeError(ErrorCode::kUnauthorized, std::move(why));
}

std::string Key(std::string_view collection_id, std::string_view id) {
    std::string k(collection_id);
    k += '/';
    k += id;
    return k;
}

}  // namespace

Result<std::string> TokenService::Issue(
    const auth::AuthRecord& record, std::string_view sid, bool refreshable, std::int64_t duration
) const {
    const auto snap = collections_.Current();
    const schema::Collection* c = snap->Find(record.collection_id);
    if (c == nullptr || c->id != record.collection_id || c->type != schema::CollectionType::kAuth) {
        return MakeError(ErrorCode::kInternal, "the record's auth collection is gone");
    }
    const auto config = collections::TokenConfigOf(*c, "authToken");
    if (config.secret.empty()) {
        return MakeError(ErrorCode::kInternal, "the auth collection has no token secret");
    }
    auth::TokenClaims claims;
    claims.type = "auth";
    claims.id = record.id;
    claims.collection_id = record.collection_id;
    claims.exp = UnixSeconds(clock_.Now()) + (duration > 0 ? duration : config.duration);
    claims.refreshable = refreshable;
    claims.session_id = std::string(sid);
    return auth::SignToken(claims, record.token_key + config.secret);
}

std::uint64_t TokenService::Generation() const {
    return forgotten_.load(std::memory_order_acquire) + sessions_.Generation();
}

Result<std::shared_ptr<const auth::Principal>> TokenService::Authenticate(std::string_view token, bool fresh) const {
    const auto now = std::chrono::steady_clock::now();
    const std::int64_t unix_now = UnixSeconds(clock_.Now());
    const std::uint64_t generation = Generation();
    if (!fresh) {
        std::lock_guard lock(mu_);
        if (auto it = verified_.find(std::string(token)); it != verified_.end()) {
            const Verified& v = it->second;
            if (v.generation == generation && now - v.loaded < ttl_ && v.exp > unix_now) {
                return v.principal;
            }
            verified_.erase(it);
        }
    }
    BASALT_ASSIGN_OR_RETURN(auto parsed, auth::ParseToken(token));
    const auth::TokenClaims& claims = parsed.claims;
    if (claims.type != "auth" || claims.session_id.empty()) {
        return Unauthorized("not an auth token");
    }
    if (claims.exp <= unix_now) {
        return Unauthorized("token expired");
    }
    const auto snap = collections_.Current();
    const schema::Collection* c = snap->Find(claims.collection_id);
    if (c == nullptr || c->id != claims.collection_id || c->type != schema::CollectionType::kAuth) {
        return Unauthorized("not an auth token of a known collection");
    }
    const auto config = collections::TokenConfigOf(*c, "authToken");
    BASALT_ASSIGN_OR_RETURN(std::optional<Cached> record, LoadRecord(*c, claims.id, fresh));
    if (!record) {
        return Unauthorized("unknown auth record");
    }
    if (config.secret.empty() || !auth::VerifyTokenSignature(parsed, record->record.token_key + config.secret)) {
        return Unauthorized("invalid token signature");
    }
    BASALT_ASSIGN_OR_RETURN(auto open, sessions_.Check(claims.session_id, c->id, record->record.id, fresh));
    if (!open) {
        return Unauthorized("the session was revoked");
    }
    auto p = std::make_shared<auth::Principal>();
    p->record = std::move(record->record);
    p->superuser = c->id == auth::kSuperusersId;
    p->refreshable = claims.refreshable;
    p->session_id = claims.session_id;
    p->auth_json = std::move(record->auth_json);
    std::shared_ptr<const auth::Principal> shared = std::move(p);
    {
        std::lock_guard lock(mu_);
        if (verified_.size() >= kMaxCachedTokens) {
            verified_.clear();
        }
        verified_[std::string(token)] = Verified{shared, claims.exp, generation, now};
    }
    return shared;
}

Result<std::optional<TokenService::Cached>> TokenService::LoadRecord(
    const schema::Collection& c, const std::string& id, bool fresh
) const {
    const auto now = std::chrono::steady_clock::now();
    const std::string key = Key(c.id, id);
    if (!fresh) {
        std::lock_guard lock(mu_);
        if (auto it = cache_.find(key); it != cache_.end() && now - it->second.loaded < ttl_) {
            return std::optional<Cached>(it->second);
        }
    }
    BASALT_ASSIGN_OR_RETURN(auto found, records_.FindById(c, id));
    if (!found) {
        return std::optional<Cached>();
    }
    boost::json::object auth_json = found->data;
    auth_json["id"] = found->id;
    auth_json["collectionId"] = c.id;
    auth_json["collectionName"] = c.name;
    auth_json["email"] = found->email;
    Cached record{std::move(*found), std::make_shared<const boost::json::object>(std::move(auth_json)), now};
    std::lock_guard lock(mu_);
    if (cache_.size() >= kMaxCachedTokens) {
        cache_.clear();
    }
    cache_[key] = record;
    return std::optional<Cached>(std::move(record));
}

Result<std::string> TokenService::IssueFile(const auth::Principal& who) const {
    const auto snap = collections_.Current();
    const schema::Collection* c = snap->Find(who.record.collection_id);
    if (c == nullptr || c->id != who.record.collection_id || c->type != schema::CollectionType::kAuth) {
        return MakeError(ErrorCode::kInternal, "the record's auth collection is gone");
    }
    const auto config = collections::TokenConfigOf(*c, "fileToken");
    if (config.secret.empty()) {
        return MakeError(ErrorCode::kInternal, "the auth collection has no file token secret");
    }
    auth::TokenClaims claims;
    claims.type = "file";
    claims.id = who.record.id;
    claims.collection_id = c->id;
    claims.exp = UnixSeconds(clock_.Now()) + config.duration;
    claims.session_id = who.session_id;
    return auth::SignToken(claims, who.record.token_key + config.secret);
}

Result<std::shared_ptr<const auth::Principal>> TokenService::AuthenticateFile(std::string_view token) const {
    BASALT_ASSIGN_OR_RETURN(const auth::ParsedToken parsed, auth::ParseToken(token));
    const auth::TokenClaims& claims = parsed.claims;
    if (claims.type != "file") {
        return Unauthorized("not a file token");
    }
    if (claims.exp <= UnixSeconds(clock_.Now())) {
        return Unauthorized("token expired");
    }
    const auto snap = collections_.Current();
    const schema::Collection* c = snap->Find(claims.collection_id);
    if (c == nullptr || c->id != claims.collection_id || c->type != schema::CollectionType::kAuth) {
        return Unauthorized("not a token of a known collection");
    }
    BASALT_ASSIGN_OR_RETURN(std::optional<Cached> record, LoadRecord(*c, claims.id, false));
    const auto config = collections::TokenConfigOf(*c, "fileToken");
    if (!record || config.secret.empty() ||
        !auth::VerifyTokenSignature(parsed, record->record.token_key + config.secret)) {
        return Unauthorized("invalid token signature");
    }
    if (!claims.session_id.empty()) {
        BASALT_ASSIGN_OR_RETURN(const bool open, sessions_.Check(claims.session_id, c->id, record->record.id, false));
        if (!open) {
            return Unauthorized("the session was revoked");
        }
    }
    auto p = std::make_shared<auth::Principal>();
    p->record = std::move(record->record);
    p->superuser = c->id == auth::kSuperusersId;
    p->session_id = claims.session_id;
    p->auth_json = std::move(record->auth_json);
    return std::shared_ptr<const auth::Principal>(std::move(p));
}

void TokenService::Forget(std::string_view collection_id, std::string_view record_id) const {
    forgotten_.fetch_add(1, std::memory_order_acq_rel);  // verified tokens of that record are checked again
    std::lock_guard lock(mu_);
    cache_.erase(Key(collection_id, record_id));
}

}  // namespace basalt::identity
