// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "auth/principal.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "db/database.hpp"
#include "schema/collection.hpp"

namespace basalt::identity {

/// Half-done multi-factor sign-ins in `_mfas` (PocketBase's auth data collection): the first method
/// opens one, a different second method within the collection's mfa.duration completes it. Every
/// call is one short write or read: call it off the I/O threads. Thread-safe.
class MfaStore {
public:
    MfaStore(db::Database& db, const Clock& clock) : db_(db), clock_(clock) {}

    /// Opens an MFA for `record` of `c` after its first `method`; returns its id.
    Result<std::string> Open(const schema::Collection& c, const auth::AuthRecord& record, std::string_view method);

    /// Completes MFA `id` with a second `method` for `record` of `c`: deletes it. kInvalidArgument
    /// ("Invalid or expired MFA session.", "Invalid MFA session." for another record, "A different
    /// authentication method is required.") otherwise.
    Result<void> Complete(
        std::string_view id,
        const schema::Collection& c,
        const auth::AuthRecord& record,
        std::string_view method,
        std::chrono::seconds max_age
    );

    /// The record MFA `id` of `c` was opened for, or nothing when there is no such MFA.
    Result<std::optional<std::string>> RecordOf(std::string_view id, const schema::Collection& c) const;

private:
    db::Database& db_;
    const Clock& clock_;
};

}  // namespace basalt::identity
