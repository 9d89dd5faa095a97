// SPDX-License-Identifier: MIT
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "db/database.hpp"
#include "schema/collection.hpp"

namespace basalt::identity {

/// Authenticator-app enrolments in `_totps` (basalt's): the base32 secret, SHA-256s of the recovery
/// codes, and the last time step used (a code works once). Every call is one short write or read:
/// call it off the I/O threads. Thread-safe.
class TotpStore {
public:
    static constexpr int kRecoveryCodes = 10;

    TotpStore(db::Database& db, const Clock& clock) : db_(db), clock_(clock) {}

    /// Whether record `record_id` of collection `collection_id` has an enabled TOTP.
    Result<bool> Enabled(std::string_view collection_id, std::string_view record_id) const;

    /// Starts an enrolment (a new secret, not yet enabled, replacing an unfinished one); returns the
    /// raw secret. kInvalidArgument when a TOTP is already enabled.
    Result<std::string> Begin(const schema::Collection& c, std::string_view record_id);

    /// Enables the enrolment begun for the record when `code` matches its secret; returns the
    /// recovery codes (shown once; only their SHA-256s are kept). kInvalidArgument without fields when
    /// there is no enrolment to enable, with a "code" field error when the code does not match.
    Result<std::vector<std::string>> Enable(
        const schema::Collection& c, std::string_view record_id, std::string_view code
    );

    /// Removes the record's TOTP (enabled or not).
    Result<void> Remove(const schema::Collection& c, std::string_view record_id);

    /// Whether `code` passes the record's enabled TOTP: a code of a time step later than the last one
    /// used, or a recovery code (used up on use). False when there is no enabled TOTP.
    Result<bool> Verify(const schema::Collection& c, std::string_view record_id, std::string_view code);

private:
    db::Database& db_;
    const Clock& clock_;
};

}  // namespace basalt::identity
