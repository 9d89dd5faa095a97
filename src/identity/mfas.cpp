// SPDX-License-Identifier: MIT
#include "identity/mfas.hpp"

#include "core/random.hpp"

namespace basalt::identity {

Result<std::string> MfaStore::Open(
    const schema::Collection& c, const auth::AuthRecord& record, std::string_view method
) {
    std::string id = SecureRandomString(15, kAlphanumericLower);
    const std::string now = FormatDateTime(clock_.Now());
    auto w = db_.Write([&](db::Executor& ex) -> Result<void> {
        BASALT_TRY(ex.Exec(
            "INSERT INTO _mfas (id, collectionRef, recordRef, method, created, updated) VALUES (?, ?, ?, ?, ?, ?)",
            {id, c.id, record.id, std::string(method), now, now}
        ));
        return Ok();
    });
    if (!w) {
        return w.error();
    }
    return id;
}

Result<void> MfaStore::Complete(
    std::string_view id,
    const schema::Collection& c,
    const auth::AuthRecord& record,
    std::string_view method,
    std::chrono::seconds max_age
) {
    const std::string oldest = FormatDateTime(clock_.Now() - max_age);
    const std::string mfa_id(id);
    return db_.Write([&](db::Executor& ex) -> Result<void> {
        BASALT_ASSIGN_OR_RETURN(
            auto rs, ex.Query("SELECT collectionRef, recordRef, method, created FROM _mfas WHERE id = ?", {mfa_id})
        );
        // (An expired MFA stays until its record goes: a failing write keeps none of its changes.)
        if (rs.rows.empty() || db::AsString(rs.rows[0][3]) < oldest) {
            return MakeError(ErrorCode::kInvalidArgument, "Invalid or expired MFA session.");
        }
        const auto& row = rs.rows[0];
        if (db::AsString(row[0]) != c.id || db::AsString(row[1]) != record.id) {
            return MakeError(ErrorCode::kInvalidArgument, "Invalid MFA session.");
        }
        if (db::AsString(row[2]) == method) {
            return MakeError(ErrorCode::kInvalidArgument, "A different authentication method is required.");
        }
        BASALT_TRY(ex.Exec("DELETE FROM _mfas WHERE id = ?", {mfa_id}));
        return Ok();
    });
}

Result<std::optional<std::string>> MfaStore::RecordOf(std::string_view id, const schema::Collection& c) const {
    BASALT_ASSIGN_OR_RETURN(
        auto rs, db_.Read("SELECT recordRef FROM _mfas WHERE id = ? AND collectionRef = ?", {std::string(id), c.id})
    );
    if (rs.rows.empty()) {
        return std::optional<std::string>();
    }
    return std::optional<std::string>(db::AsString(rs.rows[0][0]));
}

}  // namespace basalt::identity
