// SPDX-License-Identifier: MIT
#pragma once

#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/json/object.hpp>

#include "collections/store.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "db/database.hpp"
#include "query/compiler.hpp"
#include "storage/storage.hpp"

namespace basalt::records {

/// Who asks: superusers bypass every rule; everyone else is checked against the collection's rules
/// with `request` as @request.*.
struct Access {
    bool superuser = false;
    query::RequestInfo request;
    /// An API key's scopes (null for tokens): they narrow what the rules allow.
    std::shared_ptr<const std::vector<std::string>> scopes;
};

struct ListParams {
    std::int64_t page = 1;
    std::int64_t per_page = 30;
    std::string sort;
    std::string filter;
    bool skip_total = false;
    std::string expand;  // "author,tags.owner,comments_via_post"
};

struct ListQueries;   // list.cpp
class CreatedStamps;  // write.cpp
std::shared_ptr<CreatedStamps> MakeCreatedStamps();

inline constexpr std::size_t kMaxExpandDepth = 6;
inline constexpr std::size_t kMaxBackRelationExpand = 1000;

struct ListResult {
    std::int64_t page = 1;
    std::int64_t per_page = 30;
    std::int64_t total_items = -1;
    std::int64_t total_pages = -1;
    std::string items_json = "[]";  // the records, already serialized (the hot path builds no DOM)
};

/// A write prepared on the caller's thread: `fn` runs on the db writer (checks that need the
/// database, the statement, reading the record back into `*record`). Everything that must follow the
/// write (events, auth clean-up, cache eviction) is inside `fn` or registered by it to run after the
/// commit (db::Executor::AfterCommit): the caller only runs `fn` in a write.
struct PreparedWrite {
    db::WriteFn fn;
    std::shared_ptr<boost::json::object> record;
};

/// How an auth record changed, for what depends on its credentials.
enum class AuthChange {
    kUpdated,             // other fields: cached principals are read again
    kCredentialsChanged,  // a new password, tokenKey or email: every token and session of it ends
    kDeleted,             // and its sessions, API keys, external auths, OTPs, MFAs and TOTP go with it
};

/// What follows a change to an auth record, owned by the identity module and wired once by app.
/// RecordService calls it for every write it makes to an auth collection, whoever asked.
class AuthRecordHooks {
public:
    virtual ~AuthRecordHooks() = default;
    /// Inside the write's transaction, after the record's own statement (before it, for a delete).
    /// Registers its after-commit work (cache eviction) through `ex.AfterCommit`.
    virtual Result<void> OnChange(
        db::Executor& ex, const schema::Collection& c, const std::string& id, AuthChange change, const std::string& now
    ) const = 0;
};

inline constexpr std::int64_t kMaxPerPage = 1000;
/// Pages beyond this are empty anyway; the bound keeps (page - 1) * perPage within 64 bits.
inline constexpr std::int64_t kMaxPage = std::numeric_limits<std::int64_t>::max() / kMaxPerPage;

/// What the API layer settled, off the I/O threads, for a write to an auth collection: hashing a
/// password and checking the old one take ~100 ms each.
struct AuthInput {
    std::optional<std::string> password_hash;  // a new password, hashed (a new tokenKey comes with it)
    bool manage = false;                       // superuser or manageRule: may set email and verified
};

/// The product's rules for records: validation per field type, API rules, PocketBase's JSON shape.
/// Errors: kNotFound (missing collection or record, or a view/update/delete rule that does not
/// match), kForbidden (a null rule for a non-superuser, @request in a client filter),
/// kInvalidArgument with per-field errors. Thread-safe.
class RecordService {
public:
    RecordService(db::Database& db, collections::CollectionStore& collections, const Clock& clock)
        : db_(db),
          collections_(collections),
          clock_(clock) {}

    /// Wires the auth-record hooks (app, once, before serving). Without them auth records are written
    /// with no clean-up (tools and tests that have no identity services).
    void SetAuthHooks(const AuthRecordHooks* hooks) { auth_hooks_ = hooks; }
    /// Wires the file store (app, once): files a write drops, and the folders of deleted records,
    /// are deleted after the commit. Without it nothing is deleted (tools and tests).
    void SetStorage(storage::Storage* files) { storage_ = files; }

    /// A write of system fields of auth record `id` (verification, password reset, email change,
    /// OAuth2 linking) outside the client's rules: `sets` are column values as stored. A change to
    /// password, tokenKey or email ends the record's sessions and tokens. Emits the update event.
    PreparedWrite PrepareSystemUpdate(
        const schema::Collection& c, const std::string& id, const std::vector<std::pair<std::string, db::Value>>& sets
    ) const;

    /// A page of records (may scan: call it off the I/O threads).
    Result<ListResult> List(std::string_view collection, const ListParams& params, const Access& access) const;
    /// Whether View may read more than the record's row and the rows its relations point at: a view
    /// collection (its query), expand, or a view rule that reaches other collections through
    /// @collection or back-relations (scans). Such reads must run off the I/O threads.
    bool ViewMayScan(std::string_view collection, const Access& access, std::string_view expand) const;

    /// One record by id (an indexed read unless ViewMayScan), with `expand` applied.
    Result<boost::json::object> View(
        std::string_view collection, std::string_view id, const Access& access, std::string_view expand = {}
    ) const;

    /// Expand for one record of the collection named `collection` (responses of create/update).
    Result<void> ExpandOne(
        std::string_view collection, boost::json::object& record, std::string_view expand, const Access& access
    ) const;

    /// Adds "expand" to `records` (of `collection`): relations and back-relations named in `expand`,
    /// nested up to kMaxExpandDepth levels; each related collection's view rule applies (records it
    /// hides are left out). An unknown name is an error (kInvalidArgument, field "expand").
    Result<void> Expand(
        const schema::Collection& collection,
        const collections::Snapshot& snapshot,
        std::vector<boost::json::object*>& records,
        std::string_view expand,
        const Access& access
    ) const;

    /// Whether the record exists, read through `ex` (inside a write: sees that transaction's changes).
    Result<bool> ExistsIn(db::Executor& ex, std::string_view collection, std::string_view id) const;

    /// For auth collections, `auth` carries the hashed password (password/passwordConfirm/oldPassword
    /// are the API layer's) and manage access; tokenKey is generated here. File fields may hold only
    /// names the record held before and `uploaded` (stored by StageUploads); names an update drops are
    /// deleted from storage after the commit.
    Result<PreparedWrite> PrepareCreate(
        std::string_view collection,
        const boost::json::object& body,
        const Access& access,
        const AuthInput& auth = {},
        const std::vector<std::string>& uploaded = {}
    ) const;
    Result<PreparedWrite> PrepareUpdate(
        std::string_view collection,
        std::string_view id,
        const boost::json::object& body,
        const Access& access,
        const AuthInput& auth = {},
        const std::vector<std::string>& uploaded = {}
    ) const;

    /// Whether `access` may manage record `id` of auth collection `c` (superusers; manageRule "" or a
    /// rule the record matches). An indexed read.
    Result<bool> CanManage(const schema::Collection& c, std::string_view id, const Access& access) const;
    /// Whether record `id` of `c` matches `rule` ("" matches) for `access` (authRule, manageRule).
    Result<bool> Satisfies(
        const schema::Collection& c, std::string_view id, std::string_view rule, const Access& access
    ) const;
    /// One record's JSON without any rule (auth responses: the signed-in record itself).
    Result<boost::json::object> ReadWithoutRules(
        const schema::Collection& c, std::string_view id, bool include_hidden, std::string_view self_id
    ) const;
    Result<PreparedWrite> PrepareDelete(std::string_view collection, std::string_view id, const Access& access) const;

    /// Whether `access` may see an event's record (`record_json`: the outbox JSON of record `id`, the
    /// state the event describes) of `c` through its list rule (`list`) or view rule: realtime. The
    /// rule is evaluated against that state, not the table's current row, so a delete is checked
    /// like any other event (related collections are read as they are now). An indexed read when
    /// the rule is a filter.
    Result<bool> CanSeeEvent(
        const schema::Collection& c, std::string_view record_json, std::string_view id, bool list, const Access& access
    ) const;
    /// An event's record as `access` may see it: hidden fields for superusers only, an auth record's
    /// email when public, its own, or for superusers (as REST).
    static boost::json::object EventRecordFor(
        const schema::Collection& c, const boost::json::object& record, const Access& access
    );

private:
    boost::json::object WithManagedEmail(
        const schema::Collection& c, boost::json::object record, const db::ResultSet& rs, const Access& access
    ) const;
    /// View without expand: the record by id under the view rule.
    Result<boost::json::object> ViewWithoutExpand(
        std::string_view collection, std::string_view id, const Access& access
    ) const;
    /// Wraps `fn` so that the data version moves before its commit (the commit observer moves it
    /// after).
    void AddDataVersionBump(PreparedWrite& w) const;
    /// The compiled list rule + filter + sort of a list (cached when the texts allow it).
    Result<query::CompiledFilter> ListPlan(
        const schema::Collection& c,
        const std::shared_ptr<const collections::Snapshot>& snapshot,
        const ListParams& p,
        const Access& access
    ) const;
    /// Reads a list page (and its total) into `out`: streamed JSON, or with expand the records as
    /// objects into `expanded`.
    Result<void> ReadListPage(
        const schema::Collection& c,
        const ListParams& p,
        const Access& access,
        ListQueries& q,
        ListResult& out,
        std::vector<boost::json::object>& expanded
    ) const;
    /// The token of Database::RowOrderToken for the plan's last sort key, or 0 (list.cpp).
    std::uint64_t RowOrderToken(const schema::Collection& c, const query::CompiledFilter& f) const;
    /// The total of a list inside its read transaction (from the count cache when it has it).
    Result<void> CountListTotal(db::Executor& ex, const schema::Collection& c, ListQueries& q, ListResult& out) const;
    std::optional<std::int64_t> CachedCount(const std::string& key, std::uint64_t version) const;
    void StoreCount(std::string key, std::uint64_t version, std::int64_t count) const;

    db::Database& db_;
    collections::CollectionStore& collections_;
    const Clock& clock_;
    const AuthRecordHooks* auth_hooks_ = nullptr;
    storage::Storage* storage_ = nullptr;
    /// The compiled rule+filter+sort of a list, cached by text while the schema snapshot is the same
    /// (only for texts without @: macros and @request values change per request).
    std::optional<query::CompiledFilter> CachedPlan(const std::string& key, const void* snapshot) const;
    void StorePlan(
        std::string key,
        std::shared_ptr<const collections::Snapshot> snapshot,
        query::CompiledFilter plan,
        std::shared_ptr<const void> pin = nullptr
    ) const;

    struct CachedPlanEntry {
        std::shared_ptr<const collections::Snapshot> snapshot;
        query::CompiledFilter plan;
        std::shared_ptr<const void> pin;  // the @request.auth object the key names
    };
    mutable std::mutex plans_mu_;
    mutable std::unordered_map<std::string, CachedPlanEntry> plans_;
    // List totals by (count SQL, params), valid while the data version is unchanged: a list page
    // asked again (the common case: a UI polling, paging back and forth) costs no COUNT scan.
    // The newest `created` stamp given to each collection's new records (write.cpp: CreatedStamps).
    std::shared_ptr<CreatedStamps> stamps_ = MakeCreatedStamps();
    mutable std::mutex counts_mu_;
    mutable std::unordered_map<std::string, std::pair<std::uint64_t, std::int64_t>> counts_;
};

/// Outbox events for changes made outside RecordService (auth flows: verification, password reset,
/// email change), inside their transaction: the record's `action` event with its stored state, and
/// for a password change also `auth.passwordChange`.
Result<void> AppendRecordEvent(
    db::Executor& ex,
    const schema::Collection& c,
    const std::string& id,
    std::string_view action,
    const std::string& now
);
Result<void> AppendPasswordChangeEvent(
    db::Executor& ex, const schema::Collection& c, const std::string& id, const std::string& now
);

/// Writes PocketBase's record JSON straight from streamed rows of `SELECT <table>.*`, without a
/// DOM (list pages). Hidden fields only when `include_hidden`; passwords and auth token keys never.
class RecordWriter {
public:
    /// `self_id`: the reader's own record id (auth collections show its email).
    RecordWriter(const schema::Collection& collection, bool include_hidden, std::string self_id = {});
    void Append(std::string& out, const db::RowView& row);

private:
    const schema::Collection& collection_;
    std::vector<std::pair<const schema::Field*, int>> columns_;  // exported fields and their column
    std::string self_id_;
    bool check_email_ = false;
    int visibility_column_ = -1;
    int id_column_ = -1;
    bool mapped_ = false;
};

/// PocketBase's record JSON from a row of `SELECT <table>.*` (hidden fields only for superusers). An
/// auth record's email only when emailVisibility is on, for its own record (`self_id`) or superusers.
boost::json::object RecordJson(
    const schema::Collection& collection,
    const db::ResultSet& rs,
    std::size_t row,
    bool include_hidden,
    std::string_view self_id = {}
);

}  // namespace basalt::records
