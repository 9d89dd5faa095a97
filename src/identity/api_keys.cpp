// SPDX-License-Identifier: MIT
#include "identity/api_keys.hpp"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "auth/password.hpp"
#include "auth/scopes.hpp"
#include "core/random.hpp"
#include "core/text.hpp"
#include "events/events.hpp"

namespace basalt::identity {

namespace {

namespace json = boost::json;

constexpr std::string_view kPrefix = "bsk_";
constexpr std::size_t kIdLength = 15;
constexpr std::size_t kSecretLength = 40;
constexpr std::size_t kMaxCachedKeys = 10000;
constexpr std::string_view kKeyColumns = "id, name, collectionId, recordId, prefix, scopes, expires, created, lastUsed";

ApiKey KeyFromRow(const std::vector<db::Value>& row) {
    ApiKey k;
    k.id = db::AsString(row[0]);
    k.name = db::AsString(row[1]);
    k.collection_id = db::AsString(row[2]);
    k.record_id = db::AsString(row[3]);
    k.prefix = db::AsString(row[4]);
    boost::system::error_code ec;
    auto scopes = json::parse(db::AsString(row[5], "[]"), ec);
    if (!ec && scopes.is_array()) {
        for (const auto& s : scopes.as_array()) {
            if (s.is_string()) {
                k.scopes.emplace_back(s.as_string());
            }
        }
    }
    k.expires = db::AsString(row[6]);
    k.created = db::AsString(row[7]);
    k.last_used = db::AsString(row[8]);
    return k;
}

Error Unauthorized() {
    return MakeError(ErrorCode::kUnauthorized, "invalid API key");
}

}  // namespace

bool ApiKeyStore::IsKey(std::string_view token) {
    return token.size() > kPrefix.size() && token.substr(0, kPrefix.size()) == kPrefix;
}

Result<std::pair<ApiKey, std::string>> ApiKeyStore::Create(
    std::string name,
    const schema::Collection& collection,
    std::string_view record_id,
    std::vector<std::string> scopes,
    std::string expires
) {
    ApiKey k;
    k.id = SecureRandomString(kIdLength, kAlphanumericLower);
    const std::string secret = SecureRandomString(kSecretLength, kAlphanumeric);
    const std::string key = std::string(kPrefix) + k.id + "_" + secret;
    k.name = std::move(name);
    k.collection_id = collection.id;
    k.record_id = std::string(record_id);
    k.prefix = key.substr(0, kPrefix.size() + 6);
    k.scopes = std::move(scopes);
    k.expires = std::move(expires);
    k.created = FormatDateTime(clock_.Now());
    json::array scope_json;
    for (const auto& s : k.scopes) {
        scope_json.emplace_back(s);
    }
    auto r = db_.Write([&](db::Executor& ex) -> Result<void> {
        BASALT_TRY(ex.Exec(
            "INSERT INTO _apiKeys (id, name, collectionId, recordId, prefix, hash, scopes, expires, created, lastUsed) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '')",
            {k.id,
             k.name,
             k.collection_id,
             k.record_id,
             k.prefix,
             auth::Sha256Hex(secret),
             json::serialize(scope_json),
             k.expires,
             k.created}
        ));
        return Ok();
    });
    if (!r) {
        return r.error();
    }
    return std::make_pair(std::move(k), key);
}

Result<std::vector<ApiKey>> ApiKeyStore::List() const {
    BASALT_ASSIGN_OR_RETURN(
        auto rs, db_.Read("SELECT " + std::string(kKeyColumns) + " FROM _apiKeys ORDER BY created DESC, id")
    );
    std::vector<ApiKey> out;
    for (const auto& row : rs.rows) {
        out.push_back(KeyFromRow(row));
    }
    return out;
}

Result<void> ApiKeyStore::Revoke(std::string_view id) {
    std::int64_t changed = 0;
    const std::string now = FormatDateTime(clock_.Now());
    auto r = db_.Write([&](db::Executor& ex) -> Result<void> {
        BASALT_ASSIGN_OR_RETURN(
            auto owner, ex.Query("SELECT collectionId, recordId FROM _apiKeys WHERE id = ?", {std::string(id)})
        );
        BASALT_ASSIGN_OR_RETURN(auto n, ex.Exec("DELETE FROM _apiKeys WHERE id = ?", {std::string(id)}));
        changed = n;
        if (changed == 0 || owner.rows.empty()) {
            return Ok();
        }
        // Before the event can reach anyone (the commit observer wakes the dispatcher after this):
        // a realtime re-check must not find the key still cached.
        ex.AfterCommit([this] { generation_.fetch_add(1, std::memory_order_acq_rel); });
        // In the outbox: realtime connections opened with the key are checked again at once.
        const std::string collection_id = db::AsString(owner.rows[0][0]);
        const std::string record_id = db::AsString(owner.rows[0][1]);
        const std::string payload = json::serialize(json::object{
            {"id", std::string(id)}, {"collectionId", collection_id}, {"recordId", record_id}});
        return events::Append(ex, now, collection_id, "", record_id, "auth.keyRevoke", payload);
    });
    generation_.fetch_add(1, std::memory_order_acq_rel);
    if (!r) {
        return r.error();
    }
    if (changed == 0) {
        return MakeError(ErrorCode::kNotFound, "no such API key");
    }
    return Ok();
}

Result<std::shared_ptr<const auth::Principal>> ApiKeyStore::Authenticate(std::string_view key) const {
    const auto now = std::chrono::steady_clock::now();
    const std::string now_text = FormatDateTime(clock_.Now());
    const std::uint64_t generation = generation_.load(std::memory_order_acquire);
    {
        std::lock_guard lock(mu_);
        if (auto it = verified_.find(std::string(key)); it != verified_.end()) {
            const Verified& v = it->second;
            if (v.generation == generation && now - v.loaded < ttl_ && (v.expires.empty() || v.expires > now_text)) {
                return v.principal;
            }
            verified_.erase(it);
        }
    }
    if (!IsKey(key) || key.size() != kPrefix.size() + kIdLength + 1 + kSecretLength ||
        key[kPrefix.size() + kIdLength] != '_') {
        return Unauthorized();
    }
    const std::string id(key.substr(kPrefix.size(), kIdLength));
    const std::string secret(key.substr(kPrefix.size() + kIdLength + 1));
    BASALT_ASSIGN_OR_RETURN(
        auto rs, db_.Read("SELECT " + std::string(kKeyColumns) + ", hash FROM _apiKeys WHERE id = ? LIMIT 1", {id})
    );
    // The digest is compared even for unknown ids, so both failures cost the same.
    const std::string stored = rs.rows.empty() ? std::string(64, '0') : db::AsString(rs.rows[0][9]);
    const bool match = auth::ConstantTimeEquals(auth::Sha256Hex(secret), stored);
    if (rs.rows.empty() || !match) {
        return Unauthorized();
    }
    ApiKey k = KeyFromRow(rs.rows[0]);
    if (!k.expires.empty() && k.expires <= now_text) {
        return Unauthorized();
    }
    const auto snap = collections_.Current();
    const schema::Collection* c = snap->Find(k.collection_id);
    if (c == nullptr || c->id != k.collection_id || c->type != schema::CollectionType::kAuth) {
        return Unauthorized();
    }
    BASALT_ASSIGN_OR_RETURN(auto record, records_.FindById(*c, k.record_id));
    if (!record.has_value()) {
        return Unauthorized();
    }
    auto p = std::make_shared<auth::Principal>();
    p->record = std::move(*record);
    p->superuser = c->id == auth::kSuperusersId;
    p->api_key_id = k.id;
    p->scopes = std::make_shared<const std::vector<std::string>>(k.scopes);
    json::object auth_json = p->record.data;
    auth_json["id"] = p->record.id;
    auth_json["collectionId"] = c->id;
    auth_json["collectionName"] = c->name;
    auth_json["email"] = p->record.email;
    p->auth_json = std::make_shared<const json::object>(std::move(auth_json));
    std::shared_ptr<const auth::Principal> shared = std::move(p);
    // lastUsed, at most once per cache fill; nobody waits for it.
    db_.SubmitWrite(
        [id, at = now_text](db::Executor& ex) -> Result<void> {
            BASALT_TRY(ex.Exec("UPDATE _apiKeys SET lastUsed = ? WHERE id = ?", {at, id}));
            return Ok();
        },
        [](const Result<void>& /*lastUsed is best effort*/) {}
    );
    std::lock_guard lock(mu_);
    if (verified_.size() >= kMaxCachedKeys) {
        verified_.clear();
    }
    verified_[std::string(key)] = Verified{shared, k.expires, generation, now};
    return shared;
}

}  // namespace basalt::identity
