// SPDX-License-Identifier: MIT
#include "identity/sessions.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include "core/random.hpp"
#include "events/events.hpp"
#include "obs/log.hpp"

namespace basalt::identity {

namespace {

constexpr std::size_t kMaxCachedSessions = 100000;
constexpr std::chrono::seconds kSeenEvery{60};
constexpr std::string_view kSessionColumns =
    "id, collectionId, recordId, created, lastSeen, ip, userAgent, method, revoked";

Session SessionFromRow(const std::vector<db::Value>& row) {
    Session s;
    s.id = db::AsString(row[0]);
    s.collection_id = db::AsString(row[1]);
    s.record_id = db::AsString(row[2]);
    s.created = db::AsString(row[3]);
    s.last_seen = db::AsString(row[4]);
    s.ip = db::AsString(row[5]);
    s.user_agent = db::AsString(row[6]);
    s.method = db::AsString(row[7]);
    s.revoked = db::AsString(row[8]);
    return s;
}

// The payload of an auth event about a session (no secrets: ids, method, origin).
std::string SessionEvent(const Session& s) {
    return boost::json::serialize(boost::json::object{
        {"sessionId", s.id},
        {"collectionId", s.collection_id},
        {"recordId", s.record_id},
        {"method", s.method},
        {"ip", s.ip},
        {"userAgent", s.user_agent}});
}

std::string Clip(std::string_view s, std::size_t n) {
    return std::string(s.substr(0, n));
}

}  // namespace

Result<Session> SessionStore::Open(
    const auth::AuthRecord& record, std::string_view method, std::string_view ip, std::string_view user_agent
) {
    Session s;
    s.id = SecureRandomString(24, kAlphanumeric);
    s.collection_id = record.collection_id;
    s.record_id = record.id;
    s.created = FormatDateTime(clock_.Now());
    s.last_seen = s.created;
    s.ip = Clip(ip, 64);
    s.user_agent = Clip(user_agent, 512);
    s.method = Clip(method, 32);
    auto r = db_.Write([&s, &record](db::Executor& ex) -> Result<void> {
        BASALT_TRY(ex.Exec(
            "INSERT INTO _sessions (id, collectionId, recordId, created, lastSeen, ip, userAgent, method, revoked) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, '')",
            {s.id, s.collection_id, s.record_id, s.created, s.last_seen, s.ip, s.user_agent, s.method}
        ));
        // The sign-in is an event too, committed with its session.
        return events::Append(
            ex, s.created, s.collection_id, record.collection_name, s.record_id, "auth.signin", SessionEvent(s)
        );
    });
    if (!r) {
        return r.error();
    }
    std::lock_guard lock(mu_);
    if (cache_.size() >= kMaxCachedSessions) {
        cache_.clear();
    }
    const auto now = std::chrono::steady_clock::now();
    cache_[s.id] = Entry{s.collection_id, s.record_id, true, now, now};
    return s;
}

Result<bool> SessionStore::Check(
    std::string_view sid, std::string_view collection_id, std::string_view record_id, bool fresh
) {
    const auto now = std::chrono::steady_clock::now();
    const std::string key(sid);
    std::optional<std::chrono::steady_clock::time_point> seen_written;
    bool cached = false;
    {
        std::lock_guard lock(mu_);
        if (auto it = cache_.find(key); it != cache_.end()) {
            seen_written = it->second.seen_written;
            cached = !fresh && now - it->second.loaded < ttl_;
        }
    }
    if (!cached) {
        BASALT_ASSIGN_OR_RETURN(
            auto rs, db_.Read("SELECT collectionId, recordId, revoked FROM _sessions WHERE id = ? LIMIT 1", {key})
        );
        Entry e;
        e.loaded = now;
        e.seen_written = seen_written.value_or(now - kSeenEvery);
        if (!rs.rows.empty()) {
            e.collection_id = db::AsString(rs.rows[0][0]);
            e.record_id = db::AsString(rs.rows[0][1]);
            e.open = db::AsString(rs.rows[0][2]).empty();
        }
        std::lock_guard lock(mu_);
        if (cache_.size() >= kMaxCachedSessions) {
            cache_.clear();
        }
        cache_[key] = std::move(e);
    }
    bool write_seen = false;
    {
        std::lock_guard lock(mu_);
        auto it = cache_.find(key);
        if (it == cache_.end()) {
            return false;
        }
        Entry& e = it->second;
        if (!e.open || e.collection_id != collection_id || e.record_id != record_id) {
            return false;
        }
        if (now - e.seen_written >= kSeenEvery) {
            e.seen_written = now;
            write_seen = true;
        }
    }
    if (write_seen) {
        // lastSeen, at most once a minute per session; nobody waits for it.
        db_.SubmitWrite(
            [key, at = FormatDateTime(clock_.Now())](db::Executor& ex) -> Result<void> {
                BASALT_TRY(ex.Exec("UPDATE _sessions SET lastSeen = ? WHERE id = ?", {at, key}));
                return Ok();
            },
            [](const Result<void>& r) {
                if (!r) {
                    obs::Warn("session lastSeen not written", {{"error", r.error().message}});
                }
            }
        );
    }
    return true;
}

Result<std::optional<Session>> SessionStore::Get(std::string_view sid) const {
    BASALT_ASSIGN_OR_RETURN(
        auto rs,
        db_.Read("SELECT " + std::string(kSessionColumns) + " FROM _sessions WHERE id = ? LIMIT 1", {std::string(sid)})
    );
    if (rs.rows.empty()) {
        return std::optional<Session>();
    }
    return std::optional<Session>(SessionFromRow(rs.rows[0]));
}

Result<std::vector<Session>> SessionStore::List(
    std::string_view collection_id, std::string_view record_id, bool include_revoked, std::size_t limit
) const {
    std::string sql = "SELECT " + std::string(kSessionColumns) + " FROM _sessions WHERE 1 = 1";
    std::vector<db::Value> params;
    if (!collection_id.empty()) {
        sql += " AND collectionId = ? AND recordId = ?";
        params.emplace_back(std::string(collection_id));
        params.emplace_back(std::string(record_id));
    }
    if (!include_revoked) {
        sql += " AND revoked = ''";
    }
    sql += " ORDER BY created DESC, id LIMIT ?";
    params.emplace_back(static_cast<std::int64_t>(limit));
    BASALT_ASSIGN_OR_RETURN(auto rs, db_.Read(sql, params));
    std::vector<Session> out;
    for (const auto& row : rs.rows) {
        out.push_back(SessionFromRow(row));
    }
    return out;
}

void SessionStore::Forget(std::string_view sid) {
    generation_.fetch_add(1, std::memory_order_acq_rel);
    std::lock_guard lock(mu_);
    cache_.erase(std::string(sid));
}

Result<void> SessionStore::Revoke(std::string_view sid) {
    std::int64_t changed = 0;
    const std::string at = FormatDateTime(clock_.Now());
    auto r = db_.Write([&](db::Executor& ex) -> Result<void> {
        BASALT_ASSIGN_OR_RETURN(
            auto rs,
            ex.Query("SELECT collectionId, recordId FROM _sessions WHERE id = ? AND revoked = ''", {std::string(sid)})
        );
        BASALT_ASSIGN_OR_RETURN(
            auto n, ex.Exec("UPDATE _sessions SET revoked = ? WHERE id = ? AND revoked = ''", {at, std::string(sid)})
        );
        changed = n;
        if (changed == 0 || rs.rows.empty()) {
            return Ok();
        }
        Session s;
        s.id = std::string(sid);
        s.collection_id = db::AsString(rs.rows[0][0]);
        s.record_id = db::AsString(rs.rows[0][1]);
        return events::Append(ex, at, s.collection_id, "", s.record_id, "auth.sessionRevoke", SessionEvent(s));
    });
    Forget(sid);
    if (!r) {
        return r.error();
    }
    if (changed == 0) {
        return MakeError(ErrorCode::kNotFound, "no open session with that id");
    }
    return Ok();
}

Result<bool> SessionStore::IsNewOrigin(
    std::string_view collection_id, std::string_view record_id, std::string_view ip, std::string_view user_agent
) const {
    BASALT_ASSIGN_OR_RETURN(
        auto rs,
        db_.Read(
            "SELECT COUNT(*), COALESCE(SUM(ip = ? AND userAgent = ?), 0) FROM _sessions WHERE collectionId = ? AND "
            "recordId = ?",
            {std::string(ip), Clip(user_agent, 512), std::string(collection_id), std::string(record_id)}
        )
    );
    return !rs.rows.empty() && db::AsInt(rs.rows[0][0]) > 0 && db::AsInt(rs.rows[0][1]) == 0;
}

Result<std::int64_t> SessionStore::RevokeAllIn(
    db::Executor& ex,
    std::string_view collection_id,
    std::string_view record_id,
    std::string_view keep,
    const std::string& at
) {
    BASALT_ASSIGN_OR_RETURN(
        auto rs,
        ex.Query(
            "SELECT id FROM _sessions WHERE collectionId = ? AND recordId = ? AND revoked = '' AND id != ?",
            {std::string(collection_id), std::string(record_id), std::string(keep)}
        )
    );
    if (rs.rows.empty()) {
        return std::int64_t{0};
    }
    BASALT_TRY(ex.Exec(
        "UPDATE _sessions SET revoked = ? WHERE collectionId = ? AND recordId = ? AND revoked = '' AND id != ?",
        {at, std::string(collection_id), std::string(record_id), std::string(keep)}
    ));
    std::vector<std::string> ids;
    for (const auto& row : rs.rows) {
        Session s;
        s.id = db::AsString(row[0]);
        s.collection_id = std::string(collection_id);
        s.record_id = std::string(record_id);
        BASALT_TRY(events::Append(ex, at, collection_id, "", record_id, "auth.sessionRevoke", SessionEvent(s)));
        ids.push_back(std::move(s.id));
    }
    const auto count = static_cast<std::int64_t>(ids.size());
    ex.AfterCommit([this, ids = std::move(ids)] {
        for (const auto& id : ids) {
            Forget(id);
        }
    });
    return count;
}

Result<std::int64_t> SessionStore::RevokeAll(
    std::string_view collection_id, std::string_view record_id, std::string_view keep
) {
    std::int64_t count = 0;
    const std::string at = FormatDateTime(clock_.Now());
    auto r = db_.Write([&](db::Executor& ex) -> Result<void> {
        BASALT_ASSIGN_OR_RETURN(auto n, RevokeAllIn(ex, collection_id, record_id, keep, at));
        count = n;
        return Ok();
    });
    if (!r) {
        return r.error();
    }
    return count;
}

}  // namespace basalt::identity
