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

#include <boost/json/object.hpp>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "db/database.hpp"

namespace basalt::auth {

inline constexpr std::string_view kSuperusersId = "pbc_3142635823";
inline constexpr std::string_view kSuperusersName = "_superusers";
inline constexpr std::size_t kMinPasswordLength = 8;
inline constexpr std::size_t kMaxPasswordLength = 255;

/// A record of an auth collection, with its credentials (which never leave the server).
struct AuthRecord {
    std::string id;
    std::string collection_id;
    std::string collection_name;
    std::string email;
    bool email_visibility = false;
    bool verified = false;
    std::string password_hash;  // never leaves the server
    std::string token_key;      // never leaves the server
    std::string created;
    std::string updated;
    boost::json::object data;  // every field as @request.auth sees it (no password, no tokenKey)
};

/// Who made a request: set by the auth middleware from a valid token.
struct Principal {
    AuthRecord record;
    bool superuser = false;
    bool refreshable = false;
    std::string session_id;  // the server-side session the token belongs to
    /// @request.auth: the record's fields with id, collectionId, collectionName and email; built once
    /// per token check that reads the record, shared by the requests it serves.
    std::shared_ptr<const boost::json::object> auth_json;
    /// Set when the request came with an API key: its id and scopes (which narrow the rules).
    std::string api_key_id;
    std::shared_ptr<const std::vector<std::string>> scopes;
};

/// The `_superusers` collection's records. Reads are short indexed queries; Upsert hashes a password
/// (~100 ms) and blocks on the writer: call it off the I/O threads. Thread-safe.
class SuperuserStore {
public:
    SuperuserStore(db::Database& db, const Clock& clock) : db_(db), clock_(clock) {}

    /// Case-insensitive email lookup.
    Result<std::optional<AuthRecord>> FindByEmail(std::string_view email) const;
    Result<std::optional<AuthRecord>> FindById(std::string_view id) const;
    Result<std::int64_t> Count() const;

    /// Creates the superuser or sets its password. A new password always gets a new tokenKey and
    /// revokes the superuser's sessions, so every earlier token stops working. Fails with kInvalidArgument (field
    /// "email" or "password") on bad input.
    Result<AuthRecord> Upsert(std::string_view email, std::string_view password);

    /// Deletes by email; kNotFound when there is none.
    Result<void> Delete(std::string_view email);

    /// The collection's auth-token secret (stored with the collection; read once, then cached).
    Result<std::string> TokenSecret() const;

private:
    Result<std::optional<AuthRecord>> FindOne(std::string_view where, std::string_view value) const;

    db::Database& db_;
    const Clock& clock_;
    mutable std::mutex secret_mu_;
    mutable std::string secret_;
};

}  // namespace basalt::auth
