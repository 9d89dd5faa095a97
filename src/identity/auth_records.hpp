// SPDX-License-Identifier: MIT
#pragma once

#include <optional>
#include <string_view>

#include "auth/principal.hpp"
#include "core/result.hpp"
#include "db/database.hpp"
#include "schema/collection.hpp"

namespace basalt::identity {

/// Reads records of any auth collection with their credentials (password hash, tokenKey) for
/// sign-in and token checks, and their fields as @request.auth sees them. Short indexed reads.
class AuthRecords {
public:
    explicit AuthRecords(db::Database& db) : db_(db) {}

    Result<std::optional<auth::AuthRecord>> FindById(const schema::Collection& c, std::string_view id) const;
    /// By an identity field: email case-insensitively, other fields exactly.
    Result<std::optional<auth::AuthRecord>> FindByIdentity(
        const schema::Collection& c, std::string_view field, std::string_view value
    ) const;
    /// Any one record (a dummy password check costs the same as a real one).
    Result<std::optional<auth::AuthRecord>> FindAny(const schema::Collection& c) const;

private:
    Result<std::optional<auth::AuthRecord>> FindOne(
        const schema::Collection& c, std::string_view where, std::optional<std::string> value
    ) const;

    db::Database& db_;
};

}  // namespace basalt::identity
