// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "auth/principal.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "db/database.hpp"
#include "schema/collection.hpp"

namespace basalt::identity {

/// What a redeemed one-time password stood for: the record it was sent for and the address it went
/// to (the code proves that mailbox).
struct OtpRedemption {
    std::string record_id;
    std::string sent_to;
};

/// One-time passwords in `_otps` (PocketBase's auth data collection, plus basalt's `attempts`
/// column): only a SHA-256 of each code is stored; a code allows kMaxAttempts guesses. Every call is
/// one short write or read on the database: call it off the I/O threads. Thread-safe.
class OtpStore {
public:
    static constexpr std::int64_t kMaxAttempts = 5;

    OtpStore(db::Database& db, const Clock& clock) : db_(db), clock_(clock) {}

    /// Stores OTP `id` with `code` for `record` of `c`, sent to the record's email.
    Result<void> Add(
        std::string_view id, const schema::Collection& c, const auth::AuthRecord& record, std::string_view code
    );

    /// Redeems OTP `id` of `c` with `code` when it is younger than `max_age`. A match deletes it and
    /// returns what it stood for; a wrong code uses up an attempt (the last one deletes it) and returns
    /// nothing, as do an unknown or expired id.
    Result<std::optional<OtpRedemption>> Redeem(
        std::string_view id, const schema::Collection& c, std::string_view code, std::chrono::seconds max_age
    );

private:
    db::Database& db_;
    const Clock& clock_;
};

}  // namespace basalt::identity
