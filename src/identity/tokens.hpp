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

#include "auth/principal.hpp"
#include "collections/store.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "identity/auth_records.hpp"
#include "identity/sessions.hpp"

namespace basalt::identity {

/// Issues and checks auth tokens of every auth collection: HS256 JWTs with PocketBase's claims plus
/// the session id, signed with the record's tokenKey + the collection's authToken secret (so a new
/// tokenKey or secret kills every older token). A check costs no database read while the record and
/// the session are cached (entries live `ttl`; writes through this process drop them at once).
/// Thread-safe.
class TokenService {
public:
    TokenService(
        collections::CollectionStore& collections,
        AuthRecords& records,
        SessionStore& sessions,
        const Clock& clock,
        std::chrono::seconds ttl = std::chrono::seconds(10)
    )
        : collections_(collections),
          records_(records),
          sessions_(sessions),
          clock_(clock),
          ttl_(ttl) {}

    /// An auth token for `record` in session `sid`; `duration` 0 = the collection's authToken duration.
    Result<std::string> Issue(
        const auth::AuthRecord& record, std::string_view sid, bool refreshable, std::int64_t duration = 0
    ) const;

    /// The principal a token stands for. kUnauthorized when it is malformed, not HS256, expired, not
    /// an auth token, of an unknown collection or record, signed with another key, or of a session
    /// that is revoked or not the record's. `fresh` reads the record and session from the database.
    /// A token checked before is answered from memory (until its entry is `ttl` old, or a record is
    /// forgotten or a session revoked on this node).
    Result<std::shared_ptr<const auth::Principal>> Authenticate(std::string_view token, bool fresh = false) const;

    /// A short-lived file token (PocketBase's type "file", the collection's fileToken secret and
    /// duration) for `who`; it carries the session id, so signing out ends it too.
    Result<std::string> IssueFile(const auth::Principal& who) const;

    /// The principal a file token stands for; kUnauthorized as Authenticate (and for a token that is
    /// not a file token).
    Result<std::shared_ptr<const auth::Principal>> AuthenticateFile(std::string_view token) const;

    /// Drops a cached record after a change to it (password, email, fields, deletion).
    void Forget(std::string_view collection_id, std::string_view record_id) const;

private:
    struct Cached {
        auth::AuthRecord record;
        std::shared_ptr<const boost::json::object> auth_json;
        std::chrono::steady_clock::time_point loaded;
    };
    struct Verified {
        std::shared_ptr<const auth::Principal> principal;
        std::int64_t exp = 0;
        std::uint64_t generation = 0;
        std::chrono::steady_clock::time_point loaded;
    };
    std::uint64_t Generation() const;
    /// The record `id` of auth collection `c`, from the cache when it is young enough.
    Result<std::optional<Cached>> LoadRecord(const schema::Collection& c, const std::string& id, bool fresh) const;

    collections::CollectionStore& collections_;
    AuthRecords& records_;
    SessionStore& sessions_;
    const Clock& clock_;
    std::chrono::seconds ttl_;
    mutable std::mutex mu_;
    mutable std::unordered_map<std::string, Cached> cache_;
    mutable std::unordered_map<std::string, Verified> verified_;  // by token text
    mutable std::atomic<std::uint64_t> forgotten_{0};
};

}  // namespace basalt::identity
