// SPDX-License-Identifier: MIT
#include "identity/otps.hpp"

#include "auth/password.hpp"

namespace basalt::identity {

Result<void> OtpStore::Add(
    std::string_view id, const schema::Collection& c, const auth::AuthRecord& record, std::string_view code
) {
    const std::string now = FormatDateTime(clock_.Now());
    return db_.Write([&](db::Executor& ex) -> Result<void> {
        BASALT_TRY(ex.Exec(
            "INSERT INTO _otps (id, collectionRef, recordRef, password, sentTo, attempts, created, updated) "
            "VALUES (?, ?, ?, ?, ?, 0, ?, ?)",
            {std::string(id), c.id, record.id, auth::Sha256Hex(code), record.email, now, now}
        ));
        return Ok();
    });
}

Result<std::optional<OtpRedemption>> OtpStore::Redeem(
    std::string_view id, const schema::Collection& c, std::string_view code, std::chrono::seconds max_age
) {
    const std::string oldest = FormatDateTime(clock_.Now() - max_age);
    const std::string otp_id(id);
    std::optional<OtpRedemption> out;
    auto w = db_.Write([&](db::Executor& ex) -> Result<void> {
        out.reset();  // a write may run again
        BASALT_ASSIGN_OR_RETURN(
            auto rs,
            ex.Query(
                "SELECT recordRef, password, sentTo, attempts FROM _otps WHERE id = ? AND collectionRef = ? AND "
                "created >= ?",
                {otp_id, c.id, oldest}
            )
        );
        if (rs.rows.empty()) {
            return Ok();
        }
        const auto& row = rs.rows[0];
        if (!auth::ConstantTimeEquals(db::AsString(row[1]), auth::Sha256Hex(code))) {
            // A wrong code uses up an attempt; the last one ends the OTP.
            BASALT_TRY(
                db::AsInt(row[3]) + 1 >= kMaxAttempts
                    ? ex.Exec("DELETE FROM _otps WHERE id = ?", {otp_id})
                    : ex.Exec("UPDATE _otps SET attempts = attempts + 1 WHERE id = ?", {otp_id})
            );
            return Ok();
        }
        BASALT_TRY(ex.Exec("DELETE FROM _otps WHERE id = ?", {otp_id}));
        out = OtpRedemption{db::AsString(row[0]), db::AsString(row[2])};
        return Ok();
    });
    if (!w) {
        return w.error();
    }
    return out;
}

}  // namespace basalt::identity
