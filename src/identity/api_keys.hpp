// SPDX-License-Identifier: MIT
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/principal.hpp"
#include "collections/store.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "db/database.hpp"
#include "identity/auth_records.hpp"

namespace basalt::identity {

/// A long-lived API key (basalt): bound to an auth record, with scopes that narrow what the record's
/// own rules allow. Scopes are "<collection>:<action>" (collection by name or id, or "*"; action one
/// of list, view, create, update, delete, or "*"), plus "admin" for the superuser-only APIs.
struct ApiKey {
    std::string id;
    std::string name;
    std::string collection_id;
    std::string record_id;
    std::string prefix;  // the key's first characters, to recognise it in lists
    std::vector<std::string> scopes;
    std::string expires;  // empty: never
    std::string created;
    std::string last_used;
};

/// Keys in `_apiKeys`: only a SHA-256 of the secret part is stored; the key is shown once, at
/// creation. A key in use is answered from memory (entries live `ttl`; a revocation drops them at
/// once on this node). Thread-safe.
class ApiKeyStore {
public:
    ApiKeyStore(
        db::Database& db,
        collections::CollectionStore& collections,
        AuthRecords& records,
        const Clock& clock,
        std::chrono::seconds ttl = std::chrono::seconds(10)
    )
        : db_(db),
          collections_(collections),
          records_(records),
          clock_(clock),
          ttl_(ttl) {}

    /// Whether `token` looks like one of our keys ("bsk_...").
    static bool IsKey(std::string_view token);

    /// Creates a key for record `record_id` of auth collection `collection`; returns it with the
    /// full key text (the only time it exists outside the client). Blocking (a write).
    Result<std::pair<ApiKey, std::string>> Create(
        std::string name,
        const schema::Collection& collection,
        std::string_view record_id,
        std::vector<std::string> scopes,
        std::string expires
    );
    Result<std::vector<ApiKey>> List() const;
    /// Revokes (deletes) a key; kNotFound when there is none.
    Result<void> Revoke(std::string_view id);
    /// Drops every verified key from memory (after keys were deleted directly, e.g. with their record).
    void ForgetAll() { generation_.fetch_add(1, std::memory_order_acq_rel); }

    /// The principal a key stands for (its record, with the key's scopes); kUnauthorized for an
    /// unknown, wrong, expired or revoked key, or one whose record is gone.
    Result<std::shared_ptr<const auth::Principal>> Authenticate(std::string_view key) const;

private:
    struct Verified {
        std::shared_ptr<const auth::Principal> principal;
        std::string expires;
        std::uint64_t generation = 0;
        std::chrono::steady_clock::time_point loaded;
    };

    db::Database& db_;
    collections::CollectionStore& collections_;
    AuthRecords& records_;
    const Clock& clock_;
    std::chrono::seconds ttl_;
    mutable std::mutex mu_;
    mutable std::unordered_map<std::string, Verified> verified_;
    std::atomic<std::uint64_t> generation_{0};
};

}  // namespace basalt::identity
