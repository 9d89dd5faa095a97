// SPDX-License-Identifier: MIT
#include "identity/auth_lifecycle.hpp"

namespace basalt::identity {

Result<void> AuthLifecycle::OnChange(
    db::Executor& ex,
    const schema::Collection& c,
    const std::string& id,
    records::AuthChange change,
    const std::string& now
) const {
    const TokenService* tokens = &tokens_;
    ApiKeyStore* keys = &keys_;
    if (change != records::AuthChange::kUpdated) {
        BASALT_TRY(sessions_.RevokeAllIn(ex, c.id, id, {}, now));
    }
    if (change == records::AuthChange::kDeleted) {
        static constexpr std::pair<const char*, const char*> kOwned[] = {
            {"_externalAuths", "collectionRef = ? AND recordRef = ?"},
            {"_apiKeys", "collectionId = ? AND recordId = ?"},
            {"_totps", "collectionId = ? AND recordId = ?"},
            {"_mfas", "collectionRef = ? AND recordRef = ?"},
            {"_otps", "collectionRef = ? AND recordRef = ?"},
            {"_authOrigins", "collectionRef = ? AND recordRef = ?"},
        };
        for (const auto& [table, where] : kOwned) {
            BASALT_TRY(ex.Exec(std::string("DELETE FROM ") + table + " WHERE " + where, {c.id, id}));
        }
    }
    ex.AfterCommit([tokens, keys, collection_id = c.id, id, change] {
        tokens->Forget(collection_id, id);
        if (change == records::AuthChange::kDeleted) {
            keys->ForgetAll();
        }
    });
    return Ok();
}

}  // namespace basalt::identity
