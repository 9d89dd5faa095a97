// SPDX-License-Identifier: MIT
#pragma once

#include "identity/api_keys.hpp"
#include "identity/sessions.hpp"
#include "identity/tokens.hpp"
#include "records/service.hpp"

namespace basalt::identity {

/// What follows a change to an auth record, wherever it is written (records API, batch, auth flows,
/// cascades, the CLI): RecordService calls it inside each write to an auth collection.
/// - new credentials (password, tokenKey, email): every open session of the record is revoked in the
///   same transaction; after the commit its cached tokens and sessions are forgotten on this node;
/// - deletion: the same, and its API keys, external auths, OTPs, MFAs and TOTP rows are deleted in the
///   same transaction;
/// - any other change: cached principals of the record are read again after the commit.
/// Thread-safe (holds only references to thread-safe stores).
class AuthLifecycle final : public records::AuthRecordHooks {
public:
    AuthLifecycle(SessionStore& sessions, const TokenService& tokens, ApiKeyStore& keys)
        : sessions_(sessions),
          tokens_(tokens),
          keys_(keys) {}

    Result<void> OnChange(
        db::Executor& ex,
        const schema::Collection& c,
        const std::string& id,
        records::AuthChange change,
        const std::string& now
    ) const override;

private:
    SessionStore& sessions_;
    const TokenService& tokens_;
    ApiKeyStore& keys_;
};

}  // namespace basalt::identity
