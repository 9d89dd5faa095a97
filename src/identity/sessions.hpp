// SPDX-License-Identifier: MIT
#pragma once

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "auth/principal.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "db/database.hpp"

namespace basalt::identity {

/// A server-side session: every auth token belongs to one (its `sid` claim).
struct Session {
    std::string id;
    std::string collection_id;
    std::string record_id;
    std::string created;
    std::string last_seen;
    std::string ip;
    std::string user_agent;
    std::string method;   // password, otp, oauth2, impersonate, ...
    std::string revoked;  // when it was revoked, or empty while it is open
};

/// Sessions in `_sessions`. Checking one is served from memory: an entry lives `ttl` (so a change made
/// by another process, such as the CLI, is seen within it) and a revocation on this node drops it at
/// once. Writes block on the writer: call them off the I/O threads. Thread-safe.
class SessionStore {
public:
    SessionStore(db::Database& db, const Clock& clock, std::chrono::seconds ttl = std::chrono::seconds(10))
        : db_(db),
          clock_(clock),
          ttl_(ttl) {}

    /// Opens a session for `record`.
    Result<Session> Open(
        const auth::AuthRecord& record, std::string_view method, std::string_view ip, std::string_view user_agent
    );

    /// Whether `sid` is an open session of that record. `fresh` skips the cache. Marks the session
    /// seen: lastSeen is written at most once a minute per session, without waiting for it.
    Result<bool> Check(std::string_view sid, std::string_view collection_id, std::string_view record_id, bool fresh);

    Result<std::optional<Session>> Get(std::string_view sid) const;
    /// Sessions of a record (newest first), or of everyone when `collection_id` is empty; at most `limit`.
    Result<std::vector<Session>> List(
        std::string_view collection_id, std::string_view record_id, bool include_revoked, std::size_t limit
    ) const;

    /// Whether a sign-in from `ip` with `user_agent` is news for the record: it had sessions before,
    /// none from that IP and user agent (the first sign-in ever is not news).
    Result<bool> IsNewOrigin(
        std::string_view collection_id, std::string_view record_id, std::string_view ip, std::string_view user_agent
    ) const;

    /// Moves whenever a session is revoked on this node: whatever was derived from a session check
    /// before (a cached token) must be checked again.
    std::uint64_t Generation() const { return generation_.load(std::memory_order_acquire); }

    /// Revokes one session; kNotFound when there is none.
    Result<void> Revoke(std::string_view sid);
    /// Revokes every open session of a record except `keep` (empty: all). Returns how many.
    Result<std::int64_t> RevokeAll(
        std::string_view collection_id, std::string_view record_id, std::string_view keep = {}
    );
    /// RevokeAll inside the caller's write (`ex`): the sessions leave this node's cache once it
    /// commits. Returns how many.
    Result<std::int64_t> RevokeAllIn(
        db::Executor& ex,
        std::string_view collection_id,
        std::string_view record_id,
        std::string_view keep,
        const std::string& at
    );

private:
    struct Entry {
        std::string collection_id;
        std::string record_id;
        bool open = false;
        std::chrono::steady_clock::time_point loaded;
        std::chrono::steady_clock::time_point seen_written;
    };
    void Forget(std::string_view sid);

    db::Database& db_;
    const Clock& clock_;
    std::chrono::seconds ttl_;
    std::mutex mu_;
    std::unordered_map<std::string, Entry> cache_;
    std::atomic<std::uint64_t> generation_{0};
};

}  // namespace basalt::identity
