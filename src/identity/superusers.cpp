// SPDX-License-Identifier: MIT
#include "identity/superusers.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "auth/jwt.hpp"
#include "auth/password.hpp"
#include "core/ids.hpp"
#include "core/random.hpp"
#include "core/text.hpp"
#include "events/events.hpp"

namespace basalt::identity {

namespace {

constexpr std::string_view kSuperuserColumns =
    "id, email, emailVisibility, verified, password, tokenKey, created, updated";

auth::AuthRecord SuperuserFromRow(const std::vector<db::Value>& row) {
    auth::AuthRecord r;
    r.id = db::AsString(row[0]);
    r.collection_id = std::string(auth::kSuperusersId);
    r.collection_name = std::string(auth::kSuperusersName);
    r.email = db::AsString(row[1]);
    r.email_visibility = db::AsInt(row[2]) != 0;
    r.verified = db::AsInt(row[3]) != 0;
    r.password_hash = db::AsString(row[4]);
    r.token_key = db::AsString(row[5]);
    r.created = db::AsString(row[6]);
    r.updated = db::AsString(row[7]);
    return r;
}

Error FieldError(std::string field, std::string message) {
    return MakeError(ErrorCode::kInvalidArgument, std::move(message), std::move(field));
}

}  // namespace

Result<std::optional<auth::AuthRecord>> SuperuserStore::FindOne(std::string_view where, std::string_view value) const {
    std::string sql = "SELECT ";
    sql += kSuperuserColumns;
    sql += " FROM _superusers WHERE ";
    sql += where;
    sql += " LIMIT 1";
    BASALT_ASSIGN_OR_RETURN(auto rs, db_.Read(sql, {std::string(value)}));
    if (rs.rows.empty()) {
        return std::optional<auth::AuthRecord>();
    }
    return std::optional<auth::AuthRecord>(SuperuserFromRow(rs.rows[0]));
}

Result<std::optional<auth::AuthRecord>> SuperuserStore::FindByEmail(std::string_view email) const {
    return FindOne("email = ? COLLATE NOCASE", email);
}

Result<std::optional<auth::AuthRecord>> SuperuserStore::FindById(std::string_view id) const {
    return FindOne("id = ?", id);
}

Result<std::int64_t> SuperuserStore::Count() const {
    BASALT_ASSIGN_OR_RETURN(auto rs, db_.Read("SELECT COUNT(*) FROM _superusers"));
    return db::AsInt(rs.rows.at(0).at(0));
}

Result<auth::AuthRecord> SuperuserStore::Upsert(std::string_view email, std::string_view password) {
    if (!IsEmail(email)) {
        return FieldError("email", "Must be a valid email address.");
    }
    if (password.size() < kMinPasswordLength || password.size() > kMaxPasswordLength) {
        return FieldError(
            "password",
            "Must be between " + std::to_string(kMinPasswordLength) + " and " + std::to_string(kMaxPasswordLength) +
                " characters."
        );
    }
    BASALT_ASSIGN_OR_RETURN(auto hash, auth::HashPassword(password));
    auth::AuthRecord rec;
    const std::string now = FormatDateTime(clock_.Now());
    const std::string token_key = SecureRandomString(50, kAlphanumeric);
    const std::string new_id = NewRecordId();
    auto written = db_.Write([&](db::Executor& ex) -> Result<void> {
        BASALT_ASSIGN_OR_RETURN(
            auto existing, ex.Query("SELECT id FROM _superusers WHERE email = ? COLLATE NOCASE", {std::string(email)})
        );
        if (existing.rows.empty()) {
            BASALT_TRY(ex.Exec(
                "INSERT INTO _superusers (id, email, emailVisibility, verified, password, tokenKey, created, updated) "
                "VALUES (?, ?, 0, 1, ?, ?, ?, ?)",
                {new_id, std::string(email), hash, token_key, now, now}
            ));
        } else {
            BASALT_TRY(ex.Exec(
                "UPDATE _superusers SET password = ?, tokenKey = ?, updated = ? WHERE id = ?",
                {hash, token_key, now, db::AsString(existing.rows[0][0])}
            ));
            // A new password ends every session of the superuser.
            BASALT_TRY(ex.Exec(
                "UPDATE _sessions SET revoked = ? WHERE collectionId = ? AND recordId = ? AND revoked = ''",
                {now, std::string(auth::kSuperusersId), db::AsString(existing.rows[0][0])}
            ));
            // In the outbox like every password change (the CLI's too), in the same transaction.
            const std::string sid = db::AsString(existing.rows[0][0]);
            const std::string payload =
                "{\"collectionId\":\"" + std::string(auth::kSuperusersId) + "\",\"recordId\":\"" + sid + "\"}";
            if (auto e =
                    events::Append(ex, now, auth::kSuperusersId, "_superusers", sid, "auth.passwordChange", payload);
                !e) {
                return e;
            }
        }
        BASALT_ASSIGN_OR_RETURN(
            auto row,
            ex.Query(
                "SELECT id, email, emailVisibility, verified, password, tokenKey, created, updated FROM _superusers "
                "WHERE email = ? COLLATE NOCASE",
                {std::string(email)}
            )
        );
        rec = SuperuserFromRow(row.rows.at(0));
        return Ok();
    });
    if (!written) {
        return written.error();
    }
    return rec;
}

Result<void> SuperuserStore::Delete(std::string_view email) {
    return db_.Write([&](db::Executor& ex) -> Result<void> {
        BASALT_ASSIGN_OR_RETURN(
            auto found, ex.Query("SELECT id FROM _superusers WHERE email = ? COLLATE NOCASE", {std::string(email)})
        );
        if (found.rows.empty()) {
            return MakeError(ErrorCode::kNotFound, "no superuser with that email");
        }
        const std::string id = db::AsString(found.rows[0][0]);
        // What the record owned goes with it, in the same transaction: its sessions end (a running
        // server refuses their tokens within its session cache's lifetime), its API keys and TOTP go.
        const std::string now = FormatDateTime(clock_.Now());
        const std::pair<const char*, std::vector<db::Value>> statements[] = {
            {"UPDATE _sessions SET revoked = ? WHERE collectionId = ? AND recordId = ? AND revoked = ''",
             {now, std::string(auth::kSuperusersId), id}},
            {"DELETE FROM _apiKeys WHERE collectionId = ? AND recordId = ?", {std::string(auth::kSuperusersId), id}},
            {"DELETE FROM _totps WHERE collectionId = ? AND recordId = ?", {std::string(auth::kSuperusersId), id}},
            {"DELETE FROM _superusers WHERE id = ?", {id}},
        };
        for (const auto& [sql, params] : statements) {
            BASALT_TRY(ex.Exec(sql, params));
        }
        return Ok();
    });
}

Result<std::string> SuperuserStore::TokenSecret() const {
    {
        std::lock_guard lock(secret_mu_);
        if (!secret_.empty()) {
            return secret_;
        }
    }
    BASALT_ASSIGN_OR_RETURN(
        auto rs, db_.Read("SELECT options FROM _collections WHERE id = ?", {std::string(auth::kSuperusersId)})
    );
    if (rs.rows.empty()) {
        return MakeError(ErrorCode::kInternal, "the _superusers collection is missing");
    }
    boost::system::error_code ec;
    auto v = boost::json::parse(db::AsString(rs.rows[0][0]), ec);
    const boost::json::value* secret = nullptr;
    if (!ec && v.is_object()) {
        if (const auto* at = v.as_object().if_contains("authToken"); at != nullptr && at->is_object()) {
            secret = at->as_object().if_contains("secret");
        }
    }
    if (secret == nullptr || !secret->is_string() || secret->as_string().empty()) {
        return MakeError(ErrorCode::kInternal, "the _superusers collection has no token secret");
    }
    std::lock_guard lock(secret_mu_);
    secret_ = std::string(secret->as_string());
    return secret_;
}

}  // namespace basalt::identity
