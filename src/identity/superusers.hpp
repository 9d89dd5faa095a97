// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/principal.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "db/database.hpp"

namespace basalt::identity {

inline constexpr std::size_t kMinPasswordLength = 8;
inline constexpr std::size_t kMaxPasswordLength = 255;

/// The `_superusers` collection's records. Reads are short indexed queries; Upsert hashes a password
/// (~100 ms) and blocks on the writer: call it off the I/O threads. Thread-safe.
class SuperuserStore {
public:
    SuperuserStore(db::Database& db, const Clock& clock) : db_(db), clock_(clock) {}

    /// Case-insensitive email lookup.
    Result<std::optional<auth::AuthRecord>> FindByEmail(std::string_view email) const;
    Result<std::optional<auth::AuthRecord>> FindById(std::string_view id) const;
    Result<std::int64_t> Count() const;

    /// Creates the superuser or sets its password. A new password always gets a new tokenKey and
    /// revokes the superuser's sessions, so every earlier token stops working. Fails with kInvalidArgument (field
    /// "email" or "password") on bad input.
    Result<auth::AuthRecord> Upsert(std::string_view email, std::string_view password);

    /// Deletes by email; kNotFound when there is none.
    Result<void> Delete(std::string_view email);

    /// The collection's auth-token secret (stored with the collection; read once, then cached).
    Result<std::string> TokenSecret() const;

private:
    Result<std::optional<auth::AuthRecord>> FindOne(std::string_view where, std::string_view value) const;

    db::Database& db_;
    const Clock& clock_;
    mutable std::mutex secret_mu_;
    mutable std::string secret_;
};

}  // namespace basalt::identity
