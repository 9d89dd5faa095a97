// SPDX-License-Identifier: MIT
#include "identity/external_auths.hpp"

#include "core/random.hpp"

namespace basalt::identity {

Result<std::optional<std::string>> ExternalAuthStore::FindRecord(
    const schema::Collection& c, std::string_view provider, std::string_view provider_id
) const {
    BASALT_ASSIGN_OR_RETURN(
        auto rs,
        db_.Read(
            "SELECT recordRef FROM _externalAuths WHERE collectionRef = ? AND provider = ? AND providerId = ?",
            {c.id, std::string(provider), std::string(provider_id)}
        )
    );
    if (rs.rows.empty()) {
        return std::optional<std::string>();
    }
    return std::optional<std::string>(db::AsString(rs.rows[0][0]));
}

Result<void> ExternalAuthStore::Link(
    const schema::Collection& c, std::string_view record_id, std::string_view provider, std::string_view provider_id
) {
    const std::string now = FormatDateTime(clock_.Now());
    const std::string id = SecureRandomString(15, kAlphanumericLower);
    return db_.Write([&](db::Executor& ex) -> Result<void> {
        BASALT_TRY(ex.Exec(
            "INSERT INTO _externalAuths (id, collectionRef, recordRef, provider, providerId, created, updated) "
            "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (collectionRef, provider, providerId) DO UPDATE SET "
            "recordRef = excluded.recordRef, updated = excluded.updated",
            {id, c.id, std::string(record_id), std::string(provider), std::string(provider_id), now, now}
        ));
        return Ok();
    });
}

}  // namespace basalt::identity
