// SPDX-License-Identifier: MIT
#include "identity/totps.hpp"

#include <boost/json/array.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "auth/password.hpp"
#include "auth/totp.hpp"
#include "core/random.hpp"

namespace basalt::identity {

namespace json = boost::json;

Result<bool> TotpStore::Enabled(std::string_view collection_id, std::string_view record_id) const {
    BASALT_ASSIGN_OR_RETURN(
        auto rs,
        db_.Read(
            "SELECT 1 FROM _totps WHERE collectionId = ? AND recordId = ? AND enabled = 1",
            {std::string(collection_id), std::string(record_id)}
        )
    );
    return !rs.rows.empty();
}

Result<std::string> TotpStore::Begin(const schema::Collection& c, std::string_view record_id) {
    std::string secret = auth::NewTotpSecret();
    const std::string now = FormatDateTime(clock_.Now());
    const std::string rid(record_id);
    auto w = db_.Write([&](db::Executor& ex) -> Result<void> {
        BASALT_ASSIGN_OR_RETURN(
            auto on,
            ex.Query("SELECT 1 FROM _totps WHERE collectionId = ? AND recordId = ? AND enabled = 1", {c.id, rid})
        );
        if (!on.rows.empty()) {
            return MakeError(ErrorCode::kInvalidArgument, "TOTP is already enabled: disable it first.");
        }
        BASALT_TRY(ex.Exec(
            "INSERT INTO _totps (collectionId, recordId, secret, enabled, recoveryCodes, lastStep, created) "
            "VALUES (?, ?, ?, 0, '[]', 0, ?) ON CONFLICT (collectionId, recordId) DO UPDATE SET secret = "
            "excluded.secret, created = excluded.created",
            {c.id, rid, auth::Base32Encode(secret), now}
        ));
        return Ok();
    });
    if (!w) {
        return w.error();
    }
    return secret;
}

Result<std::vector<std::string>> TotpStore::Enable(
    const schema::Collection& c, std::string_view record_id, std::string_view code
) {
    std::vector<std::string> codes;
    json::array hashed;
    for (int i = 0; i < kRecoveryCodes; ++i) {
        // xxxxx-xxxxx (built in pieces: GCC 12 reports a false -Wrestrict on string::insert here).
        std::string rc = SecureRandomString(5, kAlphanumericLower);
        rc += '-';
        rc += SecureRandomString(5, kAlphanumericLower);
        hashed.emplace_back(auth::Sha256Hex(rc));
        codes.push_back(std::move(rc));
    }
    const std::int64_t now = UnixSeconds(clock_.Now());
    const std::string rid(record_id);
    auto w = db_.Write([&](db::Executor& ex) -> Result<void> {
        BASALT_ASSIGN_OR_RETURN(
            auto rs, ex.Query("SELECT secret, enabled FROM _totps WHERE collectionId = ? AND recordId = ?", {c.id, rid})
        );
        if (rs.rows.empty() || db::AsInt(rs.rows[0][1]) != 0) {
            return MakeError(ErrorCode::kInvalidArgument, "Set up TOTP first (totp-setup).");
        }
        const auto secret = auth::Base32Decode(db::AsString(rs.rows[0][0]));
        const auto step = secret ? auth::TotpMatch(*secret, code, now) : std::nullopt;
        if (!step) {
            return ValidationError(
                "An error occurred while validating the submitted data.",
                {{"code", "validation_invalid_code", "Invalid or expired code."}}
            );
        }
        BASALT_TRY(ex.Exec(
            "UPDATE _totps SET enabled = 1, recoveryCodes = ?, lastStep = ? WHERE collectionId = ? AND recordId = ?",
            {json::serialize(hashed), *step, c.id, rid}
        ));
        return Ok();
    });
    if (!w) {
        return w.error();
    }
    return codes;
}

Result<void> TotpStore::Remove(const schema::Collection& c, std::string_view record_id) {
    const std::string rid(record_id);
    return db_.Write([&](db::Executor& ex) -> Result<void> {
        BASALT_TRY(ex.Exec("DELETE FROM _totps WHERE collectionId = ? AND recordId = ?", {c.id, rid}));
        return Ok();
    });
}

Result<bool> TotpStore::Verify(const schema::Collection& c, std::string_view record_id, std::string_view code) {
    const std::int64_t now = UnixSeconds(clock_.Now());
    const std::string rid(record_id);
    bool ok = false;
    auto w = db_.Write([&](db::Executor& ex) -> Result<void> {
        ok = false;  // a write may run again
        BASALT_ASSIGN_OR_RETURN(
            auto rs,
            ex.Query(
                "SELECT secret, recoveryCodes, lastStep FROM _totps WHERE collectionId = ? AND recordId = ? AND "
                "enabled = 1",
                {c.id, rid}
            )
        );
        if (rs.rows.empty()) {
            return Ok();
        }
        const auto& row = rs.rows[0];
        const auto secret = auth::Base32Decode(db::AsString(row[0]));
        const auto step = secret ? auth::TotpMatch(*secret, code, now) : std::nullopt;
        if (step && *step > db::AsInt(row[2])) {
            ok = true;
            auto n =
                ex.Exec("UPDATE _totps SET lastStep = ? WHERE collectionId = ? AND recordId = ?", {*step, c.id, rid});
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
            {json::serialize(rest), c.id, rid}
        );
        return n ? Ok() : Result<void>(n.error());
    });
    if (!w) {
        return w.error();
    }
    return ok;
}

}  // namespace basalt::identity
