// SPDX-License-Identifier: MIT
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "db/database.hpp"
#include "schema/collection.hpp"

namespace basalt::identity {

/// Links between auth records and OAuth2 provider accounts in `_externalAuths` (PocketBase's auth
/// data collection: one link per provider account and collection). Short reads and writes: call
/// them off the I/O threads. Thread-safe.
class ExternalAuthStore {
public:
    ExternalAuthStore(db::Database& db, const Clock& clock) : db_(db), clock_(clock) {}

    /// The record of `c` linked to `provider` account `provider_id`, or nothing.
    Result<std::optional<std::string>> FindRecord(
        const schema::Collection& c, std::string_view provider, std::string_view provider_id
    ) const;

    /// Links `provider` account `provider_id` to record `record_id` of `c` (moving an earlier link).
    Result<void> Link(
        const schema::Collection& c, std::string_view record_id, std::string_view provider, std::string_view provider_id
    );

private:
    db::Database& db_;
    const Clock& clock_;
};

}  // namespace basalt::identity
