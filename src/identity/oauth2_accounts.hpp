// SPDX-License-Identifier: MIT
#pragma once

#include "auth/principal.hpp"
#include "core/result.hpp"
#include "db/database.hpp"
#include "identity/auth_records.hpp"
#include "identity/external_auths.hpp"
#include "identity/oauth2.hpp"
#include "records/service.hpp"
#include "schema/collection.hpp"

namespace basalt::identity {

/// The record an OAuth2 sign-in lands on, and whether it was created for it.
struct OAuth2Account {
    auth::AuthRecord record;
    bool is_new = false;
};

/// Finds or creates the account of an OAuth2 user: the record linked to the provider account
/// before, or the record with the provider's (verified) email, or a new record created as a
/// sign-up through the records API would be. Links the provider account to it. Blocking (reads,
/// writes, argon2id): call it off the I/O threads. Thread-safe.
class OAuth2Accounts {
public:
    OAuth2Accounts(
        db::Database& db,
        const records::RecordService& records,
        const AuthRecords& auth_records,
        ExternalAuthStore& links
    )
        : db_(db),
          records_(records),
          auth_records_(auth_records),
          links_(links) {}

    /// The account of `user` of `provider` in `c`. `signup` is the client's access with createData
    /// as @request.body: a new record must pass the createRule with it. kForbidden when the provider
    /// has not verified an email that a record has, or the collection does not allow new accounts;
    /// the records service's errors when the new record is refused.
    Result<OAuth2Account> AccountFor(
        const schema::Collection& c,
        const OAuth2Provider& provider,
        const OAuth2User& user,
        const records::Access& signup
    );

private:
    Result<std::optional<auth::AuthRecord>> ByEmail(const schema::Collection& c, const OAuth2User& user);
    Result<auth::AuthRecord> Create(const schema::Collection& c, const OAuth2User& user, const records::Access& signup)
        const;

    db::Database& db_;
    const records::RecordService& records_;
    const AuthRecords& auth_records_;
    ExternalAuthStore& links_;
};

}  // namespace basalt::identity
