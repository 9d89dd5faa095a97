// SPDX-License-Identifier: MIT
#include "records/service.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <set>

#include <boost/json/serialize.hpp>

#include "auth/password.hpp"
#include "auth/scopes.hpp"
#include "core/ids.hpp"
#include "core/json_text.hpp"
#include "core/random.hpp"
#include "core/text.hpp"
#include "events/events.hpp"
#include "records/codec.hpp"
#include "records/files.hpp"

namespace basalt::records {

namespace {

namespace json = boost::json;
using schema::FieldType;

Error Forbidden() {
    return MakeError(ErrorCode::kForbidden, "Only superusers can perform this action.");
}
Error NotFound() {
    return MakeError(ErrorCode::kNotFound, "The requested resource wasn't found.");
}

std::string Q(std::string_view name) {
    return query::QuoteIdent(name);
}

// A validated value for `f`; a password field outside an auth collection (`_otps.password`) is
// stored as the SHA-256 digest basalt's one-time-password check compares, never as text.
db::Value ColumnValue(const schema::Field& f, const json::value* in, std::vector<FieldError>& errors) {
    db::Value v = NormalizeValue(f, in, errors);
    if (f.type == FieldType::kPassword) {
        if (const auto* text = std::get_if<std::string>(&v); text != nullptr && !text->empty()) {
            return auth::Sha256Hex(*text);
        }
    }
    return v;
}

// Exported unless hidden (superusers see hidden fields); passwords and auth token keys never.
bool Exported(const schema::Collection& c, const schema::Field& f, bool include_hidden) {
    if (f.type == FieldType::kPassword || (c.type == schema::CollectionType::kAuth && f.name == "tokenKey")) {
        return false;
    }
    return include_hidden || !f.hidden;
}

// The id of the reader's own record when it belongs to `c` (its email is always shown to it).
std::string SelfId(const schema::Collection& c, const Access& access) {
    if (c.type != schema::CollectionType::kAuth || !access.request.auth) {
        return {};
    }
    const auto& a = *access.request.auth;
    const auto* cid = a.if_contains("collectionId");
    const auto* id = a.if_contains("id");
    if (cid == nullptr || id == nullptr || !cid->is_string() || !id->is_string() || cid->as_string() != c.id) {
        return {};
    }
    return std::string(id->as_string());
}

struct Loaded {
    std::shared_ptr<const collections::Snapshot> snapshot;
    const schema::Collection* collection = nullptr;
};

Result<Loaded> Load(const collections::CollectionStore& store, std::string_view name) {
    Loaded l;
    l.snapshot = store.Current();
    l.collection = l.snapshot->Find(name);
    if (l.collection == nullptr) {
        return MakeError(ErrorCode::kNotFound, "Missing collection context.");
    }
    return l;
}

// Whether every '@' of `rule` starts "@request.auth." (its values are fixed per auth record).
bool OnlyAuthReferences(std::string_view rule) {
    constexpr std::string_view kAuth = "@request.auth.";
    for (auto at = rule.find('@'); at != std::string_view::npos; at = rule.find('@', at + 1)) {
        if (rule.compare(at, kAuth.size(), kAuth) != 0) {
            return false;
        }
    }
    return true;
}

// Hidden fields are for superusers, and for API keys of superusers only with the admin scope.
bool SeesHidden(const Access& access) {
    return access.superuser && (!access.scopes || auth::ScopesAllowAdmin(*access.scopes));
}

// An API key's scopes narrow the rules: the action must be one of them.
bool ScopeAllows(const Access& access, const schema::Collection& c, std::string_view action) {
    return !access.scopes || auth::ScopesAllow(*access.scopes, c.id, c.name, action);
}

Error ScopeForbidden() {
    return MakeError(ErrorCode::kForbidden, "The API key does not allow this action.");
}

// Applies the rule of one action for a non-superuser: null forbids, "" allows everything.
// The collection of a create/update/delete: it must exist, be writable, and the action's rule must
// not be null for a non-superuser.
Result<Loaded> LoadForWrite(
    const collections::CollectionStore& store,
    std::string_view name,
    const Access& access,
    std::optional<std::string> schema::Collection::*rule
) {
    auto l = Load(store, name);
    if (!l) {
        return l.error();
    }
    const std::string_view action = rule == &schema::Collection::create_rule   ? "create"
                                    : rule == &schema::Collection::update_rule ? "update"
                                                                               : "delete";
    if (!ScopeAllows(access, *l->collection, action)) {
        return ScopeForbidden();
    }
    if (l->collection->type == schema::CollectionType::kView) {
        return MakeError(ErrorCode::kInvalidArgument, "Unsupported collection type.");
    }
    if (!access.superuser && !(l->collection->*rule)) {
        return Forbidden();
    }
    return l;
}

Result<void> ApplyRule(query::Compiler& compiler, const std::optional<std::string>& rule, const Access& access) {
    if (access.superuser) {
        return Ok();
    }
    if (!rule) {
        return Forbidden();
    }
    if (rule->empty()) {
        return Ok();
    }
    auto r = compiler.AddRule(*rule);
    if (!r) {
        // A stored rule that no longer compiles denies rather than allows.
        return MakeError(ErrorCode::kForbidden, "The collection's API rule is invalid.");
    }
    return Ok();
}

query::CompileOptions Options(const Access& access, const Clock& clock) {
    query::CompileOptions opt;
    // An API key without the admin scope is bound by its scopes even when a superuser owns it: its
    // filters see no hidden field, no @request/@collection, and only collections it may list.
    const bool scoped = access.scopes && !auth::ScopesAllowAdmin(*access.scopes);
    opt.allow_hidden = access.superuser && !scoped;
    opt.allow_request = access.superuser && !scoped;
    if (scoped) {
        opt.readable = [scopes = access.scopes](const schema::Collection& c) {
            return auth::ScopesAllow(*scopes, c.id, c.name, "list");
        };
    }
    opt.request = &access.request;
    opt.now = clock.Now();
    return opt;
}

// FROM ... joins ... WHERE ... (with every parameter in order) for a compiled filter.
struct Sql {
    std::string text;
    std::vector<db::Value> params;
};

Sql FromWhere(
    const schema::Collection& c,
    const query::CompiledFilter& f,
    std::string_view extra_where,
    const std::vector<db::Value>& extra_params
) {
    Sql s;
    s.text = " FROM " + Q(c.name);
    for (const auto& j : f.joins) {
        s.text += " " + j;
    }
    s.params = f.join_params;
    std::string where = f.where;
    if (!extra_where.empty()) {
        where = where.empty() ? std::string(extra_where) : std::string(extra_where) + " AND (" + where + ")";
        s.params.insert(s.params.end(), extra_params.begin(), extra_params.end());
    }
    s.params.insert(s.params.end(), f.params.begin(), f.params.end());
    if (!where.empty()) {
        s.text += " WHERE " + where;
    }
    return s;
}

std::string SelectList(const schema::Collection& c, bool distinct) {
    return std::string("SELECT ") + (distinct ? "DISTINCT " : "") + Q(c.name) + ".*";
}

// The field a unique-constraint message names ("UNIQUE constraint failed: posts.slug").
std::string UniqueField(const std::string& message, const schema::Collection& c) {
    const auto pos = message.find("constraint failed: ");
    if (pos == std::string::npos) {
        return "id";
    }
    std::string rest = message.substr(pos + 19);
    const auto comma = rest.find(',');
    rest = rest.substr(0, comma);
    const auto dot = rest.find('.');
    std::string field = dot == std::string::npos ? rest : rest.substr(dot + 1);
    return c.FindField(field) != nullptr ? field : "id";
}

Error WriteFailure(const Error& e, const schema::Collection& c, std::string_view failed_message) {
    if (e.code == ErrorCode::kConflict) {
        if (e.message.find("FOREIGN KEY") != std::string::npos) {
            return MakeError(ErrorCode::kInvalidArgument, std::string(failed_message), "");
        }
        return ValidationError(
            std::string(failed_message), {{UniqueField(e.message, c), "validation_not_unique", "Value must be unique."}}
        );
    }
    return e;
}

// Checks that every referenced id of the relation fields exists (inside the write).
Result<void> CheckRelations(
    db::Executor& ex,
    const schema::Collection& c,
    const collections::Snapshot& snap,
    const std::vector<std::pair<const schema::Field*, db::Value>>& values
) {
    std::vector<FieldError> errors;
    for (const auto& [f, v] : values) {
        if (f->type != FieldType::kRelation) {
            continue;
        }
        const auto ids = RelationIds(*f, v);
        if (ids.empty()) {
            continue;
        }
        const schema::Collection* target = snap.Find(f->CollectionId());
        if (target == nullptr) {
            errors.push_back({f->name, "validation_missing_rel_records", "The related collection is missing."});
            continue;
        }
        std::string sql = "SELECT COUNT(*) FROM " + Q(target->name) + " WHERE \"id\" IN (";
        std::vector<db::Value> params;
        for (std::size_t i = 0; i < ids.size(); ++i) {
            sql += i > 0 ? ", ?" : "?";
            params.emplace_back(ids[i]);
        }
        sql += ")";
        auto rs = ex.Query(sql, params);
        if (!rs) {
            return rs.error();
        }
        if (db::AsInt(rs->rows[0][0]) != static_cast<std::int64_t>(ids.size())) {
            errors.push_back(
                {f->name,
                 "validation_missing_rel_records",
                 "Failed to find all relation records with the provided ids."}
            );
        }
    }
    (void)c;
    if (!errors.empty()) {
        return ValidationError("Failed to save record.", std::move(errors));
    }
    return Ok();
}

// The record as stored (inside the write), as `access` may see it.
Result<json::object> ReadBack(
    db::Executor& ex, const schema::Collection& c, const std::string& id, const Access& access
) {
    auto rs = ex.Query(SelectList(c, false) + " FROM " + Q(c.name) + " WHERE \"id\" = ?", {id});
    if (!rs) {
        return rs.error();
    }
    if (rs->rows.empty()) {
        return NotFound();
    }
    return RecordJson(c, *rs, 0, SeesHidden(access), SelfId(c, access));
}

// The outbox row of a change, in the change's transaction (the full record, as superusers see it:
// consumers apply their own visibility).
Result<json::object> ReadCurrent(db::Executor& ex, const schema::Collection& c, const std::string& id);

}  // namespace

// The outbox row of a change, written by SQLite from the stored row (INSERT ... SELECT json_object(...)):
// the record's JSON is built in C inside the writer, no DOM, no second read. Every field but password
// and tokenKey; consumers apply their own visibility. Collections too wide for one json_object call
// (SQLite allows 127 arguments) take the DOM path.
Result<void> AppendRecordEvent(
    db::Executor& ex,
    const schema::Collection& c,
    const std::string& id,
    std::string_view action,
    const std::string& now
) {
    std::vector<const schema::Field*> fields;
    for (const auto& f : c.fields) {
        if (f.type != FieldType::kPassword && !(c.type == schema::CollectionType::kAuth && f.name == "tokenKey")) {
            fields.push_back(&f);
        }
    }
    std::vector<db::Value> params{now, c.id, c.name, id, std::string(action)};
    std::string sql;
    if (fields.size() <= 60) {
        sql =
            "INSERT INTO _events (created, collectionId, collectionName, recordId, action, record) SELECT ?, ?, ?, ?, "
            "?, json_object('collectionId', ?, 'collectionName', ?";
        params.emplace_back(c.id);
        params.emplace_back(c.name);
        for (const schema::Field* f : fields) {
            const std::string col = Q(f->name);
            const std::string expr = OutboxJsonExpr(*f, col);
            sql += ", ?, " + expr;
            params.emplace_back(f->name);
        }
        sql += ") FROM " + Q(c.name) + " WHERE \"id\" = ?";
        params.emplace_back(id);
    } else {
        auto rec = ReadCurrent(ex, c, id);
        if (!rec) {
            return rec.error();
        }
        sql =
            "INSERT INTO _events (created, collectionId, collectionName, recordId, action, record) VALUES (?, ?, ?, ?, "
            "?, ?)";
        params.emplace_back(json::serialize(*rec));
    }
    auto n = ex.Exec(sql, params);
    if (!n) {
        return n.error();
    }
    if (*n != 1) {
        return NotFound();
    }
    return Ok();
}

namespace {

// The end of a create or update inside its transaction: one read of the stored row gives both the
// answer (as `access` may see it) and the outbox event (every field).
Result<void> Settle(
    db::Executor& ex,
    const schema::Collection& c,
    const std::string& id,
    const Access& access,
    std::string_view action,
    const std::string& now,
    json::object& out
) {
    auto rs = ex.Query(SelectList(c, false) + " FROM " + Q(c.name) + " WHERE \"id\" = ?", {id});
    if (!rs) {
        return rs.error();
    }
    if (rs->rows.empty()) {
        return NotFound();
    }
    if (auto e = AppendRecordEvent(ex, c, id, action, now); !e) {
        return e;
    }
    out = RecordJson(c, *rs, 0, SeesHidden(access), SelfId(c, access));
    return Ok();
}

// Every field of the stored record (modifiers start from these).
Result<json::object> ReadCurrent(db::Executor& ex, const schema::Collection& c, const std::string& id) {
    Access all;
    all.superuser = true;
    return ReadBack(ex, c, id, all);
}

// Checks `rule` for the record `id` inside the write (the record as it is in the transaction).
Result<bool> RuleMatches(
    db::Executor& ex,
    const schema::Collection& c,
    const collections::Snapshot& snap,
    const std::string& rule,
    const Access& access,
    const Clock& clock,
    const std::string& id
) {
    query::Compiler compiler(c, snap, Options(access, clock));
    if (auto r = compiler.AddRule(rule); !r) {
        return MakeError(ErrorCode::kForbidden, "The collection's API rule is invalid.");
    }
    const auto f = compiler.Build();
    Sql s = FromWhere(c, f, Q(c.name) + ".\"id\" = ?", {id});
    auto rs = ex.Query("SELECT 1" + s.text + " LIMIT 1", s.params);
    if (!rs) {
        return rs.error();
    }
    return !rs->rows.empty();
}

// The cache key of a count: its SQL and every parameter, type-tagged.
std::string CountKey(const std::string& sql, const std::vector<db::Value>& params) {
    std::string key = sql;
    for (const auto& v : params) {
        key.push_back('\x1f');
        if (std::holds_alternative<std::nullptr_t>(v)) {
            key += "n";
        } else if (const auto* i = std::get_if<std::int64_t>(&v)) {
            key += "i" + std::to_string(*i);
        } else if (const auto* d = std::get_if<double>(&v)) {
            key += "d" + std::to_string(*d);
        } else {
            key += "s" + std::get<std::string>(v);
        }
    }
    return key;
}

constexpr std::size_t kMaxCachedCounts = 4096;

}  // namespace

std::optional<query::CompiledFilter> RecordService::CachedPlan(const std::string& key, const void* snapshot) const {
    std::lock_guard lock(plans_mu_);
    auto it = plans_.find(key);
    if (it == plans_.end() || it->second.snapshot.get() != snapshot) {
        return std::nullopt;
    }
    return it->second.plan;
}

void RecordService::StorePlan(
    std::string key,
    std::shared_ptr<const collections::Snapshot> snapshot,
    query::CompiledFilter plan,
    std::shared_ptr<const void> pin
) const {
    std::lock_guard lock(plans_mu_);
    if (plans_.size() >= 4096) {
        plans_.clear();  // bounded; also lets go of old snapshots and auth records
    }
    plans_[std::move(key)] = {std::move(snapshot), std::move(plan), std::move(pin)};
}

std::optional<std::int64_t> RecordService::CachedCount(const std::string& key, std::uint64_t version) const {
    std::lock_guard lock(counts_mu_);
    auto it = counts_.find(key);
    if (it == counts_.end() || it->second.first != version) {
        return std::nullopt;
    }
    return it->second.second;
}

void RecordService::StoreCount(std::string key, std::uint64_t version, std::int64_t count) const {
    std::lock_guard lock(counts_mu_);
    if (counts_.size() >= kMaxCachedCounts) {
        counts_.clear();  // simple and bounded; entries of older versions are useless anyway
    }
    counts_[std::move(key)] = {version, count};
}

void RecordService::Track(PreparedWrite& w) const {
    collections::CollectionStore* store = &collections_;
    w.fn = [inner = std::move(w.fn), store](db::Executor& ex) -> Result<void> {
        store->BumpDataVersion();  // before the commit: a count read now must not outlive it
        return inner(ex);
    };
}

PreparedWrite RecordService::PrepareSystemUpdate(
    const schema::Collection& c, const std::string& id, const std::vector<std::pair<std::string, db::Value>>& sets
) const {
    const std::string now = FormatDateTime(clock_.Now());
    std::string sql = "UPDATE " + Q(c.name) + " SET ";
    std::vector<db::Value> params;
    AuthChange change = AuthChange::kUpdated;
    bool password = false;
    for (const auto& [col, value] : sets) {
        sql += (params.empty() ? "" : ", ") + Q(col) + " = ?";
        params.push_back(value);
        if (col == "password" || col == "tokenKey" || col == "email") {
            change = AuthChange::kCredentialsChanged;
        }
        password = password || col == "password";
    }
    if (const auto* f = c.FindField("updated"); f != nullptr && f->type == FieldType::kAutodate) {
        sql += ", \"updated\" = ?";
        params.emplace_back(now);
    }
    sql += " WHERE \"id\" = ?";
    params.emplace_back(id);
    PreparedWrite w;
    w.record = std::make_shared<json::object>();
    w.fn = [c, id, sql = std::move(sql), params = std::move(params), password, change, now, hooks = auth_hooks_](
               db::Executor& ex
           ) -> Result<void> {
        auto n = ex.Exec(sql, params);
        if (!n) {
            return n.error();
        }
        if (*n == 0) {
            return NotFound();
        }
        if (password) {
            if (auto e = AppendPasswordChangeEvent(ex, c, id, now); !e) {
                return e;
            }
        }
        if (auto r = AppendRecordEvent(ex, c, id, "update", now); !r) {
            return r;
        }
        return hooks != nullptr ? hooks->OnChange(ex, c, id, change, now) : Ok();
    };
    Track(w);
    return w;
}

RecordWriter::RecordWriter(const schema::Collection& c, bool include_hidden, std::string self_id)
    : collection_(c),
      self_id_(std::move(self_id)),
      check_email_(c.type == schema::CollectionType::kAuth && !include_hidden) {
    for (const auto& f : c.fields) {
        if (Exported(c, f, include_hidden)) {
            columns_.emplace_back(&f, -1);
        }
    }
}

void RecordWriter::Append(std::string& out, const db::RowView& row) {
    if (!mapped_) {
        // Columns are found by name once, on the first row.
        for (auto& [field, idx] : columns_) {
            for (int i = 0; i < row.Size(); ++i) {
                if (row.Name(i) == field->name) {
                    idx = i;
                }
            }
        }
        for (int i = 0; i < row.Size(); ++i) {
            if (row.Name(i) == "emailVisibility") {
                visibility_column_ = i;
            } else if (row.Name(i) == "id") {
                id_column_ = i;
            }
        }
        mapped_ = true;
    }
    // An auth record's email: public, the reader's own, or a superuser reading.
    const bool email_shown = !check_email_ ||
                             (visibility_column_ >= 0 && row.TypeOf(visibility_column_) == db::RowView::Type::kInt &&
                              row.Int(visibility_column_) != 0) ||
                             (!self_id_.empty() && id_column_ >= 0 && row.Text(id_column_) == self_id_);
    out += R"({"collectionId":)";
    AppendJsonString(out, collection_.id);
    out += R"(,"collectionName":)";
    AppendJsonString(out, collection_.name);
    for (const auto& [field, idx] : columns_) {
        if (!email_shown && field->name == "email") {
            continue;
        }
        out.push_back(',');
        AppendJsonString(out, field->name);
        out.push_back(':');
        if (idx < 0) {
            out += "null";
        } else {
            AppendColumnJson(out, *field, row, idx);
        }
    }
    out.push_back('}');
}

json::object RecordJson(
    const schema::Collection& c, const db::ResultSet& rs, std::size_t row, bool include_hidden, std::string_view self_id
) {
    json::object o;
    o["collectionId"] = c.id;
    o["collectionName"] = c.name;
    bool email_shown = c.type != schema::CollectionType::kAuth || include_hidden;
    if (!email_shown) {
        const int vis = rs.ColumnIndex("emailVisibility");
        const int id = rs.ColumnIndex("id");
        email_shown =
            (vis >= 0 && db::AsInt(rs.rows[row][static_cast<std::size_t>(vis)]) != 0) ||
            (!self_id.empty() && id >= 0 && db::AsString(rs.rows[row][static_cast<std::size_t>(id)]) == self_id);
    }
    for (const auto& f : c.fields) {
        if (!Exported(c, f, include_hidden) || (!email_shown && f.name == "email")) {
            continue;
        }
        const int idx = rs.ColumnIndex(f.name);
        o[f.name] = idx >= 0 ? ColumnToJson(f, rs.rows[row][static_cast<std::size_t>(idx)]) : json::value(nullptr);
    }
    return o;
}

Result<ListResult> RecordService::List(std::string_view collection, const ListParams& p, const Access& access) const {
    auto l = Load(collections_, collection);
    if (!l) {
        return l.error();
    }
    const schema::Collection& c = *l->collection;
    if (!ScopeAllows(access, c, "list")) {
        return ScopeForbidden();
    }
    if (!access.superuser && !c.list_rule) {
        return Forbidden();
    }
    const std::string applied_rule = access.superuser ? std::string() : *c.list_rule;
    // A plan is reused while the schema is the same. Texts with macros or @request.* values change
    // per request and are compiled each time, except @request.auth.*: those values are fixed for one
    // auth record's JSON (shared by its requests until the record changes), so the plan is keyed by
    // that object, which the cache keeps alive (its address cannot be reused while cached).
    const bool auth_only_rule = OnlyAuthReferences(applied_rule);
    const bool cacheable =
        auth_only_rule && p.filter.find('@') == std::string::npos && p.sort.find('@') == std::string::npos;
    const bool keyed_by_auth = applied_rule.find('@') != std::string::npos;
    std::string plan_key;
    std::optional<query::CompiledFilter> cached_plan;
    if (cacheable) {
        plan_key = c.id + '\x1f' + (access.superuser ? "s" : "g") + '\x1f' + applied_rule + '\x1f' + p.filter + '\x1f' +
                   p.sort;
        if (keyed_by_auth) {
            plan_key += '\x1f' + std::to_string(reinterpret_cast<std::uintptr_t>(access.request.auth.get()));
        }
        cached_plan = CachedPlan(plan_key, l->snapshot.get());
    }
    if (!cached_plan) {
        query::Compiler compiler(c, *l->snapshot, Options(access, clock_));
        if (auto r = ApplyRule(compiler, c.list_rule, access); !r) {
            return r.error();
        }
        if (auto r = compiler.AddFilter(p.filter); !r) {
            return r.error();
        }
        if (auto r = compiler.SetSort(p.sort); !r) {
            return r.error();
        }
        cached_plan = compiler.Build();
        if (cacheable) {
            StorePlan(
                std::move(plan_key),
                l->snapshot,
                *cached_plan,
                keyed_by_auth ? std::shared_ptr<const void>(access.request.auth) : nullptr
            );
        }
    }
    const query::CompiledFilter& f = *cached_plan;
    ListResult out;
    out.page = std::clamp<std::int64_t>(p.page, 1, kMaxPage);
    out.per_page = p.per_page < 1 ? 30 : std::min(p.per_page, kMaxPerPage);
    const bool distinct = !f.joins.empty();
    Sql base = FromWhere(c, f, "", {});
    std::string page_sql = SelectList(c, distinct) + base.text;
    std::vector<db::Value> page_params = base.params;
    if (!f.order_by.empty()) {
        page_sql += " ORDER BY " + f.order_by;
        page_params.insert(page_params.end(), f.order_params.begin(), f.order_params.end());
    }
    page_sql += " LIMIT ? OFFSET ?";
    page_params.emplace_back(out.per_page);
    page_params.emplace_back((out.page - 1) * out.per_page);
    const bool include_hidden = SeesHidden(access);
    const std::uint64_t version = collections_.DataVersion();  // read before the data
    std::vector<json::object> expanded;                        // only with expand: records as DOM objects
    std::string count_sql;
    std::string count_key;
    std::optional<std::int64_t> cached_total;
    if (!p.skip_total) {
        count_sql = (distinct ? "SELECT COUNT(DISTINCT " + Q(c.name) +
                                    (c.type == schema::CollectionType::kView ? ".\"id\")" : ".\"_rowid_\")")
                              : std::string("SELECT COUNT(*)")) +
                    base.text;
        if (!c.system) {
            count_key = CountKey(count_sql, base.params);
            cached_total = CachedCount(count_key, version);
        }
    }
    // Rows are streamed straight into the JSON text: no result set, no DOM.
    std::string items = "[";
    items.reserve(static_cast<std::size_t>(out.per_page) * 512);
    RecordWriter writer(c, include_hidden, SelfId(c, access));
    bool first = true;
    const db::RowFn stream = [&](const db::RowView& row) -> Result<void> {
        if (!first) {
            items.push_back(',');
        }
        first = false;
        writer.Append(items, row);
        return Ok();
    };
    Result<void> r = Ok();
    if (p.expand.empty() && (p.skip_total || cached_total)) {
        // One statement: no read transaction needed.
        r = db_.ReadEach(page_sql, page_params, stream);
        if (cached_total) {
            out.total_items = *cached_total;
        }
    } else {
        r = db_.ReadTx([&](db::Executor& ex) -> Result<void> {
            if (!p.expand.empty()) {
                auto rs = ex.Query(page_sql, page_params);
                if (!rs) {
                    return rs.error();
                }
                for (std::size_t i = 0; i < rs->rows.size(); ++i) {
                    expanded.push_back(RecordJson(c, *rs, i, include_hidden, SelfId(c, access)));
                }
            } else if (auto each = ex.QueryEach(page_sql, page_params, stream); !each) {
                return each.error();
            }
            if (!p.skip_total) {
                if (cached_total) {
                    out.total_items = *cached_total;
                } else {
                    auto count = ex.Query(count_sql, base.params);
                    if (!count) {
                        return count.error();
                    }
                    out.total_items = db::AsInt(count->rows[0][0]);
                    if (!c.system) {
                        StoreCount(std::move(count_key), version, out.total_items);
                    }
                }
            }
            return Ok();
        });
    }
    if (r) {
        items.push_back(']');
        out.items_json = std::move(items);
        if (!p.skip_total) {
            out.total_pages = (out.total_items + out.per_page - 1) / out.per_page;
        }
    }
    if (!r) {
        return r.error();
    }
    if (!p.expand.empty()) {
        std::vector<json::object*> ptrs;
        ptrs.reserve(expanded.size());
        for (auto& o : expanded) {
            ptrs.push_back(&o);
        }
        if (auto e = Expand(c, *l->snapshot, ptrs, p.expand, access); !e) {
            return e.error();
        }
        json::array with_expand;
        for (auto& o : expanded) {
            with_expand.emplace_back(std::move(o));
        }
        out.items_json = json::serialize(with_expand);
    }
    return out;
}

bool RecordService::ViewMayScan(std::string_view collection, const Access& access, std::string_view expand) const {
    if (!expand.empty()) {
        return true;
    }
    const auto snapshot = collections_.Current();
    const schema::Collection* c = snapshot->Find(collection);
    if (c == nullptr) {
        return false;  // answered from memory: 404
    }
    if (c->type == schema::CollectionType::kView) {
        return true;
    }
    if (access.superuser || !c->view_rule) {
        return false;
    }
    const std::string& rule = *c->view_rule;
    return rule.find("@collection") != std::string::npos || rule.find("_via_") != std::string::npos;
}

Result<json::object> RecordService::View(
    std::string_view collection, std::string_view id, const Access& access, std::string_view expand
) const {
    auto record = ViewPlain(collection, id, access);
    if (!record || expand.empty()) {
        return record;
    }
    auto l = Load(collections_, collection);
    if (!l) {
        return l.error();
    }
    std::vector<json::object*> ptrs{&*record};
    if (auto e = Expand(*l->collection, *l->snapshot, ptrs, expand, access); !e) {
        return e.error();
    }
    return record;
}

Result<bool> RecordService::ExistsIn(db::Executor& ex, std::string_view collection, std::string_view id) const {
    auto l = Load(collections_, collection);
    if (!l) {
        return l.error();
    }
    auto rs = ex.Query("SELECT 1 FROM " + Q(l->collection->name) + " WHERE \"id\" = ?", {std::string(id)});
    if (!rs) {
        return rs.error();
    }
    return !rs->rows.empty();
}

Result<void> RecordService::ExpandOne(
    std::string_view collection, json::object& record, std::string_view expand, const Access& access
) const {
    if (expand.empty()) {
        return Ok();
    }
    auto l = Load(collections_, collection);
    if (!l) {
        return l.error();
    }
    std::vector<json::object*> ptrs{&record};
    return Expand(*l->collection, *l->snapshot, ptrs, expand, access);
}

// A manager (manageRule) sees the email of the auth records it manages, public or not.
json::object RecordService::WithManagedEmail(
    const schema::Collection& c, json::object record, const db::ResultSet& rs, const Access& access
) const {
    const auto& rule = c.Options().manage_rule;
    if (c.type != schema::CollectionType::kAuth || access.superuser || record.contains("email") || !rule ||
        !access.request.auth) {
        return record;
    }
    const auto* id = record.if_contains("id");
    const int email = rs.ColumnIndex("email");
    if (id == nullptr || !id->is_string() || email < 0) {
        return record;
    }
    if (auto ok = Satisfies(c, id->as_string(), *rule, access); ok && *ok) {
        record["email"] = db::AsString(rs.rows[0][static_cast<std::size_t>(email)]);
    }
    return record;
}

Result<json::object> RecordService::ViewPlain(std::string_view collection, std::string_view id, const Access& access)
    const {
    auto l = Load(collections_, collection);
    if (!l) {
        return l.error();
    }
    const schema::Collection& c = *l->collection;
    if (!ScopeAllows(access, c, "view")) {
        return ScopeForbidden();
    }
    if (!access.superuser && !c.view_rule) {
        return Forbidden();
    }
    if (access.superuser || c.view_rule->empty()) {
        // No rule to apply: the plain indexed read.
        auto rs = db_.Read("SELECT * FROM " + Q(c.name) + " WHERE \"id\" = ? LIMIT 1", {std::string(id)});
        if (!rs) {
            return rs.error();
        }
        if (rs->rows.empty()) {
            return NotFound();
        }
        return WithManagedEmail(c, RecordJson(c, *rs, 0, SeesHidden(access), SelfId(c, access)), *rs, access);
    }
    query::Compiler compiler(c, *l->snapshot, Options(access, clock_));
    if (auto r = ApplyRule(compiler, c.view_rule, access); !r) {
        return r.error();
    }
    const auto f = compiler.Build();
    Sql s = FromWhere(c, f, Q(c.name) + ".\"id\" = ?", {std::string(id)});
    auto rs = db_.Read(SelectList(c, !f.joins.empty()) + s.text + " LIMIT 1", s.params);
    if (!rs) {
        return rs.error();
    }
    if (rs->rows.empty()) {
        return NotFound();
    }
    return WithManagedEmail(c, RecordJson(c, *rs, 0, SeesHidden(access), SelfId(c, access)), *rs, access);
}

Result<PreparedWrite> RecordService::PrepareCreate(
    std::string_view collection,
    const json::object& body,
    const Access& access,
    const AuthInput& auth,
    const std::vector<std::string>& uploaded
) const {
    auto l = LoadForWrite(collections_, collection, access, &schema::Collection::create_rule);
    if (!l) {
        return l.error();
    }
    const schema::Collection& c = *l->collection;
    std::vector<FieldError> errors;
    std::vector<std::pair<const schema::Field*, db::Value>> values;
    const std::string now = FormatDateTime(clock_.Now());
    std::string id;
    const json::object effective = HasModifiers(c, body) ? ApplyModifiers(c, body, nullptr, errors) : json::object();
    const json::object& input = HasModifiers(c, body) ? effective : body;
    const bool is_auth = c.type == schema::CollectionType::kAuth;
    for (const auto& f : c.fields) {
        const json::value* in = input.if_contains(f.name);
        if (is_auth && f.type == FieldType::kPassword) {
            if (!auth.password_hash) {
                errors.push_back({f.name, "validation_required", "Cannot be blank."});
            }
            values.emplace_back(&f, auth.password_hash.value_or(""));
            continue;
        }
        if (is_auth && f.name == "tokenKey") {
            values.emplace_back(&f, SecureRandomString(50, kAlphanumeric));
            continue;
        }
        if (is_auth && f.name == "verified" && !auth.manage && in != nullptr && !(in->is_bool() && !in->as_bool()) &&
            !in->is_null()) {
            errors.push_back({"verified", "validation_values_mismatch", "Values don't match."});
            continue;
        }
        if (f.hidden && !SeesHidden(access)) {
            in = nullptr;  // clients cannot set hidden fields
        }
        if (f.name == "id") {
            if (in != nullptr && in->is_string() && !in->as_string().empty()) {
                id = std::string(in->as_string());
                if (!IsValidRecordId(id)) {
                    errors.push_back({"id", "validation_invalid_format", "Must be 15 characters of a-z and 0-9."});
                }
            } else if (in != nullptr && !in->is_null() && !(in->is_string() && in->as_string().empty())) {
                errors.push_back({"id", "validation_invalid_value", "Must be a string."});
            } else {
                id = NewRecordId();
            }
            values.emplace_back(&f, id);
            continue;
        }
        if (f.type == FieldType::kAutodate) {
            values.emplace_back(&f, f.Options().on_create ? now : std::string());
            continue;
        }
        values.emplace_back(&f, ColumnValue(f, in, errors));
    }
    std::vector<std::string> dropped;  // none: a new record held nothing
    CheckFileNames(values, nullptr, uploaded, errors, dropped);
    if (!errors.empty()) {
        return ValidationError("Failed to create record.", std::move(errors));
    }
    std::string sql = "INSERT INTO " + Q(c.name) + " (";
    std::string marks;
    std::vector<db::Value> params;
    for (std::size_t i = 0; i < values.size(); ++i) {
        sql += (i > 0 ? ", " : "") + Q(values[i].first->name);
        marks += i > 0 ? ", ?" : "?";
        params.push_back(values[i].second);
    }
    sql += ") VALUES (" + marks + ")";

    // The INSERT names every column, so the stored row is exactly `values`: the answer and the
    // outbox payload are built here, on the caller's thread, instead of reading the row back on the
    // writer thread (which serialises every write; this halved what a create costs it).
    db::ResultSet stored;
    stored.rows.emplace_back();
    for (const auto& [f, v] : values) {
        stored.columns.push_back(f->name);
        stored.rows[0].push_back(v);
    }
    std::string payload = json::serialize(RecordJson(c, stored, 0, /*include_hidden=*/true));

    PreparedWrite w;
    w.record = std::make_shared<json::object>(RecordJson(c, stored, 0, SeesHidden(access), SelfId(c, access)));
    auto snapshot = l->snapshot;
    const schema::Collection* cp = l->collection;
    const std::optional<std::string> rule = access.superuser ? std::nullopt : c.create_rule;
    w.fn = [snapshot,
            cp,
            values = std::move(values),
            sql = std::move(sql),
            params = std::move(params),
            payload = std::move(payload),
            id,
            rule,
            access,
            now,
            &clock = clock_](db::Executor& ex) -> Result<void> {
        if (auto r = CheckRelations(ex, *cp, *snapshot, values); !r) {
            Error e = r.error();
            e.message = "Failed to create record.";
            return e;
        }
        if (auto r = ex.Exec(sql, params); !r) {
            return WriteFailure(r.error(), *cp, "Failed to create record.");
        }
        if (rule && !rule->empty()) {
            // The rule sees the new record as stored; failing it undoes the insert (our savepoint).
            auto ok = RuleMatches(ex, *cp, *snapshot, *rule, access, clock, id);
            if (!ok) {
                return ok.error();
            }
            if (!*ok) {
                return MakeError(ErrorCode::kInvalidArgument, "Failed to create record.");
            }
        }
        return events::Append(ex, now, cp->id, cp->name, id, "create", payload);
    };
    Track(w);
    return w;
}

namespace {

// The UPDATE for the submitted (modifier-free) body: the fields it names, autodates with onUpdate.
struct UpdatePlan {
    std::vector<std::pair<const schema::Field*, db::Value>> values;
    std::string sql;
    std::vector<db::Value> params;
};

UpdatePlan PlanUpdate(
    const schema::Collection& c,
    const json::object& body,
    bool superuser,
    const AuthInput& auth,
    const std::string& now,
    const std::string& id,
    std::vector<FieldError>& errors
) {
    UpdatePlan plan;
    const bool is_auth = c.type == schema::CollectionType::kAuth;
    for (const auto& f : c.fields) {
        if (f.name == "id") {
            continue;
        }
        if (is_auth && (f.type == FieldType::kPassword || f.name == "tokenKey")) {
            // A new password comes with a new tokenKey: every earlier token of the record dies.
            if (auth.password_hash) {
                plan.values.emplace_back(
                    &f, f.type == FieldType::kPassword ? *auth.password_hash : SecureRandomString(50, kAlphanumeric)
                );
            }
            continue;
        }
        if (f.type == FieldType::kAutodate) {
            if (f.Options().on_update) {
                plan.values.emplace_back(&f, now);
            }
            continue;
        }
        const json::value* in = body.if_contains(f.name);
        if (in == nullptr || (f.hidden && !superuser)) {
            continue;  // not submitted: keeps its stored value
        }
        plan.values.emplace_back(&f, ColumnValue(f, in, errors));
    }
    plan.sql = "UPDATE " + Q(c.name) + " SET ";
    for (std::size_t i = 0; i < plan.values.size(); ++i) {
        plan.sql += (i > 0 ? ", " : "") + Q(plan.values[i].first->name) + " = ?";
        plan.params.push_back(plan.values[i].second);
    }
    plan.sql += " WHERE \"id\" = ?";
    plan.params.emplace_back(id);
    return plan;
}

}  // namespace

Result<PreparedWrite> RecordService::PrepareUpdate(
    std::string_view collection,
    std::string_view id,
    const json::object& body,
    const Access& access,
    const AuthInput& auth,
    const std::vector<std::string>& uploaded
) const {
    auto l = LoadForWrite(collections_, collection, access, &schema::Collection::update_rule);
    if (!l) {
        return l.error();
    }
    const schema::Collection& c = *l->collection;
    const std::string now = FormatDateTime(clock_.Now());
    const bool modifiers = HasModifiers(c, body);
    // Without modifiers the body is validated here; with them it needs the stored values, which
    // are read inside the write (the writer serialises, so `views+` never loses an increment).
    std::optional<UpdatePlan> ready;
    if (!modifiers) {
        std::vector<FieldError> errors;
        ready = PlanUpdate(c, body, SeesHidden(access), auth, now, std::string(id), errors);
        if (!errors.empty()) {
            return ValidationError("Failed to update record.", std::move(errors));
        }
    }

    PreparedWrite w;
    w.record = std::make_shared<json::object>();
    auto snapshot = l->snapshot;
    const schema::Collection* cp = l->collection;
    const std::optional<std::string> rule = access.superuser ? std::nullopt : c.update_rule;
    w.fn = [snapshot,
            cp,
            ready = std::move(ready),
            body,
            now,
            id = std::string(id),
            rule,
            access,
            auth,
            out = w.record,
            hooks = auth_hooks_,
            uploaded,
            files = storage_,
            &clock = clock_](db::Executor& ex) -> Result<void> {
        // The rule is checked against the record as it is now (with @request.body the submitted data).
        if (rule && !rule->empty()) {
            auto ok = RuleMatches(ex, *cp, *snapshot, *rule, access, clock, id);
            if (!ok) {
                return ok.error();
            }
            if (!*ok) {
                return NotFound();
            }
        }
        auto current = ReadCurrent(ex, *cp, id);
        if (!current) {
            return current.error();
        }
        UpdatePlan plan;
        if (ready) {
            plan = *ready;
        } else {
            std::vector<FieldError> errors;
            const json::object effective = ApplyModifiers(*cp, body, &*current, errors);
            plan = PlanUpdate(*cp, effective, SeesHidden(access), auth, now, id, errors);
            if (!errors.empty()) {
                return ValidationError("Failed to update record.", std::move(errors));
            }
        }
        std::vector<FieldError> file_errors;
        std::vector<std::string> dropped;
        CheckFileNames(plan.values, &*current, uploaded, file_errors, dropped);
        if (!file_errors.empty()) {
            return ValidationError("Failed to update record.", std::move(file_errors));
        }
        if (auto r = CheckRelations(ex, *cp, *snapshot, plan.values); !r) {
            Error e = r.error();
            e.message = "Failed to update record.";
            return e;
        }
        if (files != nullptr && !dropped.empty()) {
            ex.AfterCommit([files, prefix = cp->id + "/" + id + "/", dropped = std::move(dropped)] {
                for (const auto& name : dropped) {
                    (void)files->Delete(prefix + name);
                }
            });
        }
        if (!plan.values.empty()) {
            if (auto r = ex.Exec(plan.sql, plan.params); !r) {
                return WriteFailure(r.error(), *cp, "Failed to update record.");
            }
        }
        if (auth.password_hash) {
            // A password change is an auth event of its own, next to the record's update.
            if (auto e = AppendPasswordChangeEvent(ex, *cp, id, now); !e) {
                return e;
            }
        }
        // The record's event first, then what follows from it (session revocations).
        if (auto r = Settle(ex, *cp, id, access, "update", now, *out); !r) {
            return r;
        }
        if (hooks != nullptr && cp->type == schema::CollectionType::kAuth) {
            // A new password (with a new tokenKey) or email ends every token and session of the
            // record, in this transaction; any other change refreshes cached principals.
            bool credentials = auth.password_hash.has_value();
            if (const auto* email = body.if_contains("email"); email != nullptr && email->is_string()) {
                const auto* was = current->if_contains("email");
                credentials = credentials || was == nullptr || !was->is_string() ||
                              !EqualsIgnoreCase(was->as_string(), email->as_string());
            }
            const AuthChange change = credentials ? AuthChange::kCredentialsChanged : AuthChange::kUpdated;
            if (auto r = hooks->OnChange(ex, *cp, id, change, now); !r) {
                return r;
            }
        }
        return Ok();
    };
    Track(w);
    return w;
}

Result<bool> RecordService::Satisfies(
    const schema::Collection& c, std::string_view id, std::string_view rule, const Access& access
) const {
    if (rule.empty()) {
        return true;
    }
    const auto snapshot = collections_.Current();
    const schema::Collection* current = snapshot->Find(c.id);
    if (current == nullptr) {
        return false;
    }
    bool ok = false;
    auto r = db_.ReadTx([&](db::Executor& ex) -> Result<void> {
        auto m = RuleMatches(ex, *current, *snapshot, std::string(rule), access, clock_, std::string(id));
        if (!m) {
            return m.error();
        }
        ok = *m;
        return Ok();
    });
    if (!r) {
        return r.error();
    }
    return ok;
}

Result<bool> RecordService::CanManage(const schema::Collection& c, std::string_view id, const Access& access) const {
    if (access.superuser) {
        return true;
    }
    const auto& rule = c.Options().manage_rule;
    if (!rule) {
        return false;
    }
    return Satisfies(c, id, *rule, access);
}

Result<json::object> RecordService::Plain(
    const schema::Collection& c, std::string_view id, bool include_hidden, std::string_view self_id
) const {
    auto rs = db_.Read("SELECT * FROM " + Q(c.name) + " WHERE \"id\" = ? LIMIT 1", {std::string(id)});
    if (!rs) {
        return rs.error();
    }
    if (rs->rows.empty()) {
        return NotFound();
    }
    return RecordJson(c, *rs, 0, include_hidden, self_id);
}

Result<bool> RecordService::CanSeeEvent(
    const schema::Collection& c, std::string_view record_json, std::string_view id, bool list, const Access& access
) const {
    if (!ScopeAllows(access, c, list ? "list" : "view")) {
        return false;
    }
    if (access.superuser) {
        return true;
    }
    const std::optional<std::string>& rule = list ? c.list_rule : c.view_rule;
    if (!rule) {
        return false;
    }
    if (rule->empty()) {
        return true;
    }
    const auto snapshot = collections_.Current();
    query::Compiler compiler(c, *snapshot, Options(access, clock_));
    if (auto r = compiler.AddRule(*rule); !r) {
        return false;  // an invalid rule admits nobody
    }
    const auto f = compiler.Build();
    // The event's state stands in for the table: a CTE of the same name shadows it in this statement.
    // Its columns come from the JSON (?1): `->` keeps JSON text for json and multi-value columns.
    std::string cte = "WITH " + Q(c.name) + " AS (SELECT ";
    bool first = true;
    for (const auto& fd : c.fields) {
        if (!first) {
            cte += ", ";
        }
        first = false;
        const schema::ValueShape shape = fd.Shape();
        const bool json_text = shape == schema::ValueShape::kJson || shape == schema::ValueShape::kGeoPoint ||
                               shape == schema::ValueShape::kList;
        cte += "?1 " + std::string(json_text ? "->" : "->>") + " '$." + fd.name + "' AS " + Q(fd.name);
    }
    cte += ")";
    Sql s = FromWhere(c, f, Q(c.name) + ".\"id\" = ?", {std::string(id)});
    std::vector<db::Value> params{std::string(record_json)};
    params.insert(params.end(), s.params.begin(), s.params.end());
    auto rs = db_.Read(cte + " SELECT 1" + s.text + " LIMIT 1", params);
    if (!rs) {
        return rs.error();
    }
    return !rs->rows.empty();
}

json::object RecordService::EventRecordFor(
    const schema::Collection& c, const json::object& record, const Access& access
) {
    json::object out = record;
    if (SeesHidden(access)) {
        return out;
    }
    for (const auto& f : c.fields) {
        if (f.hidden) {
            out.erase(f.name);
        }
    }
    if (c.type == schema::CollectionType::kAuth) {
        const auto* vis = record.if_contains("emailVisibility");
        const bool shown =
            (vis != nullptr && vis->is_bool() && vis->as_bool()) ||
            (out.contains("id") && out.at("id").is_string() && out.at("id").as_string() == SelfId(c, access));
        if (!shown) {
            out.erase("email");
        }
    }
    return out;
}

Result<void> AppendPasswordChangeEvent(
    db::Executor& ex, const schema::Collection& c, const std::string& id, const std::string& now
) {
    const std::string payload = json::serialize(json::object{{"collectionId", c.id}, {"recordId", id}});
    return events::Append(ex, now, c.id, c.name, id, "auth.passwordChange", payload);
}

namespace {

constexpr std::size_t kMaxCascade = 10000;

// Deletes record `id` of `c` with an event for every record the deletion touches, in this
// transaction: records that cascade (single relations with cascadeDelete, which the foreign key
// would delete silently, and multiple relations with it, which have no foreign key) are deleted
// first, recursively, each with its delete event; records whose relation is cleared (the foreign
// key's SET NULL, or the id dropped from a multiple relation) get an update event after the change.
Result<void> DeleteCascading(
    db::Executor& ex,
    const collections::Snapshot& snap,
    const schema::Collection& c,
    const std::string& id,
    const std::string& now,
    const AuthRecordHooks* hooks,
    storage::Storage* files,
    std::set<std::string>& seen
) {
    if (!seen.insert(c.id + "/" + id).second) {
        return Ok();  // a cycle: already being deleted
    }
    if (seen.size() > kMaxCascade) {
        return MakeError(ErrorCode::kInvalidArgument, "Failed to delete record: the cascade is too large.");
    }
    std::vector<std::pair<const schema::Collection*, std::string>> cleared;
    for (const auto& other : snap.All()) {
        if (other.type == schema::CollectionType::kView) {
            continue;
        }
        for (const auto& f : other.fields) {
            if (f.type != FieldType::kRelation || f.CollectionId() != c.id) {
                continue;
            }
            const std::string col = Q(other.name) + "." + Q(f.name);
            const std::string holds =
                f.IsMultiple() ? "EXISTS (SELECT 1 FROM json_each(" + col + ") WHERE json_each.\"value\" = ?)"
                               : col + " = ?";
            auto rs = ex.Query("SELECT \"id\" FROM " + Q(other.name) + " WHERE " + holds, {id});
            if (!rs) {
                return WriteFailure(rs.error(), c, "Failed to delete record.");
            }
            const bool cascade = f.Options().cascade_delete;
            for (const auto& row : rs->rows) {
                const std::string other_id = db::AsString(row[0]);
                if (cascade) {
                    if (auto r = DeleteCascading(ex, snap, other, other_id, now, hooks, files, seen); !r) {
                        return r;
                    }
                } else if (!(other.id == c.id && other_id == id)) {
                    cleared.emplace_back(&other, other_id);
                }
            }
            if (!cascade && f.IsMultiple() && !rs->rows.empty()) {
                // No foreign key for multiple relations: drop the id here.
                auto n = ex.Exec(
                    "UPDATE " + Q(other.name) + " SET " + Q(f.name) +
                        " = (SELECT json_group_array(json_each.\"value\") FROM json_each(" + col +
                        ") WHERE json_each.\"value\" != ?) WHERE " + holds,
                    {id, id}
                );
                if (!n) {
                    return WriteFailure(n.error(), c, "Failed to delete record.");
                }
            }
        }
    }
    // The event carries the record as it was: written before the delete, in the same savepoint.
    if (auto e = AppendRecordEvent(ex, c, id, "delete", now); !e) {
        return e.error().code == ErrorCode::kNotFound ? Result<void>(NotFound()) : e;
    }
    if (hooks != nullptr && c.type == schema::CollectionType::kAuth) {
        // Its sessions, keys, external auths, OTPs, MFAs and TOTP go in the same transaction.
        if (auto r = hooks->OnChange(ex, c, id, AuthChange::kDeleted, now); !r) {
            return r;
        }
    }
    auto n = ex.Exec("DELETE FROM " + Q(c.name) + " WHERE \"id\" = ?", {id});
    if (!n) {
        return WriteFailure(
            n.error(),
            c,
            "Failed to delete record. Make sure that the record is not part of a required relation reference."
        );
    }
    if (*n == 0) {
        return NotFound();
    }
    const bool has_files = std::any_of(c.fields.begin(), c.fields.end(), [](const schema::Field& f) {
        return f.type == FieldType::kFile;
    });
    if (files != nullptr && has_files) {
        // The record's folder (its files and their thumbs) goes once the delete is durable.
        ex.AfterCommit([files, folder = c.id + "/" + id] { (void)files->DeletePrefix(folder); });
    }
    std::set<std::string> updated;
    for (const auto& [other, other_id] : cleared) {
        const std::string key = other->id + "/" + other_id;
        if (seen.count(key) != 0 || !updated.insert(key).second) {
            continue;  // deleted too, or already reported
        }
        if (auto e = AppendRecordEvent(ex, *other, other_id, "update", now);
            !e && e.error().code != ErrorCode::kNotFound) {
            return e;
        }
    }
    return Ok();
}

}  // namespace

Result<PreparedWrite> RecordService::PrepareDelete(
    std::string_view collection, std::string_view id, const Access& access
) const {
    auto l = LoadForWrite(collections_, collection, access, &schema::Collection::delete_rule);
    if (!l) {
        return l.error();
    }
    PreparedWrite w;
    auto snapshot = l->snapshot;
    const schema::Collection* cp = l->collection;
    const std::optional<std::string> rule = access.superuser ? std::nullopt : cp->delete_rule;
    const std::string now = FormatDateTime(clock_.Now());
    w.fn =
        [snapshot, cp, id = std::string(id), rule, access, now, hooks = auth_hooks_, files = storage_, &clock = clock_](
            db::Executor& ex
        ) -> Result<void> {
        if (rule && !rule->empty()) {
            auto ok = RuleMatches(ex, *cp, *snapshot, *rule, access, clock, id);
            if (!ok) {
                return ok.error();
            }
            if (!*ok) {
                return NotFound();
            }
        }
        std::set<std::string> seen;
        return DeleteCascading(ex, *snapshot, *cp, id, now, hooks, files, seen);
    };
    Track(w);
    return w;
}

}  // namespace basalt::records

namespace basalt::records {

namespace {

struct ExpandNode {
    std::map<std::string, ExpandNode> children;
};

Result<ExpandNode> ParseExpand(std::string_view text) {
    ExpandNode root;
    if (text.size() > 1000) {
        return MakeError(ErrorCode::kInvalidArgument, "expand is too long", "expand");
    }
    std::size_t start = 0;
    while (start <= text.size()) {
        const auto comma = text.find(',', start);
        std::string_view item = text.substr(start, comma == std::string_view::npos ? comma : comma - start);
        while (!item.empty() && item.front() == ' ') {
            item.remove_prefix(1);
        }
        while (!item.empty() && item.back() == ' ') {
            item.remove_suffix(1);
        }
        if (!item.empty()) {
            ExpandNode* node = &root;
            std::size_t depth = 0;
            std::size_t s = 0;
            for (;;) {
                const auto dot = item.find('.', s);
                const std::string seg(item.substr(s, dot == std::string_view::npos ? dot : dot - s));
                if (seg.empty() || ++depth > kMaxExpandDepth) {
                    return MakeError(
                        ErrorCode::kInvalidArgument,
                        "expand paths have at most " + std::to_string(kMaxExpandDepth) + " levels",
                        "expand"
                    );
                }
                node = &node->children[seg];
                if (dot == std::string_view::npos) {
                    break;
                }
                s = dot + 1;
            }
        }
        if (comma == std::string_view::npos) {
            break;
        }
        start = comma + 1;
    }
    return root;
}

// Values of a relation in a record's JSON: a string or an array of strings.
std::vector<std::string> IdsOf(const json::value* v) {
    std::vector<std::string> out;
    if (v == nullptr) {
        return out;
    }
    if (v->is_string() && !v->as_string().empty()) {
        out.emplace_back(v->as_string());
    } else if (v->is_array()) {
        for (const auto& i : v->as_array()) {
            if (i.is_string() && !i.as_string().empty()) {
                out.emplace_back(i.as_string());
            }
        }
    }
    return out;
}

}  // namespace

Result<void> RecordService::Expand(
    const schema::Collection& c,
    const collections::Snapshot& snap,
    std::vector<json::object*>& records,
    std::string_view expand,
    const Access& access
) const {
    auto tree = ParseExpand(expand);
    if (!tree) {
        return tree.error();
    }
    // Fetches the records of `target` matching `where` (+ its view rule) as JSON objects.
    auto fetch = [&](const schema::Collection& target,
                     const std::string& where,
                     const std::vector<db::Value>& params,
                     std::size_t limit) -> Result<std::vector<json::object>> {
        if ((!access.superuser && !target.view_rule) || !ScopeAllows(access, target, "view")) {
            return std::vector<json::object>{};  // hidden: silently left out
        }
        query::Compiler compiler(target, snap, Options(access, clock_));
        if (!access.superuser && !target.view_rule->empty()) {
            if (auto r = compiler.AddRule(*target.view_rule); !r) {
                return std::vector<json::object>{};
            }
        }
        const auto f = compiler.Build();
        Sql s = FromWhere(target, f, where, params);
        auto rs = db_.Read(SelectList(target, !f.joins.empty()) + s.text + " LIMIT " + std::to_string(limit), s.params);
        if (!rs) {
            return rs.error();
        }
        std::vector<json::object> out;
        for (std::size_t i = 0; i < rs->rows.size(); ++i) {
            out.push_back(RecordJson(target, *rs, i, SeesHidden(access), SelfId(target, access)));
        }
        return out;
    };
    std::function<Result<void>(const schema::Collection&, std::vector<json::object*>&, const ExpandNode&)> walk;
    walk = [&](const schema::Collection& coll, std::vector<json::object*>& recs, const ExpandNode& node
           ) -> Result<void> {
        for (const auto& [seg, child] : node.children) {
            const schema::Field* f = coll.FindField(seg);
            std::vector<json::object> fetched;
            const schema::Collection* target = nullptr;
            bool back = false;
            const schema::Field* back_field = nullptr;
            if (f != nullptr && f->type == FieldType::kRelation && (!f->hidden || SeesHidden(access))) {
                target = snap.Find(f->CollectionId());
                std::vector<std::string> ids;
                for (auto* r : recs) {
                    for (auto& id : IdsOf(r->if_contains(f->name))) {
                        ids.push_back(std::move(id));
                    }
                }
                if (target == nullptr || ids.empty()) {
                    continue;
                }
                std::string where = Q(target->name) + ".\"id\" IN (";
                std::vector<db::Value> params;
                for (std::size_t i = 0; i < ids.size(); ++i) {
                    where += i > 0 ? ", ?" : "?";
                    params.emplace_back(ids[i]);
                }
                where += ")";
                auto got = fetch(*target, where, params, ids.size());
                if (!got) {
                    return got.error();
                }
                fetched = std::move(*got);
            } else if (const auto via = seg.rfind("_via_"); via != std::string::npos) {
                target = snap.Find(seg.substr(0, via));
                back_field = target != nullptr ? target->FindField(seg.substr(via + 5)) : nullptr;
                if (back_field == nullptr || back_field->type != FieldType::kRelation ||
                    back_field->CollectionId() != coll.id || (back_field->hidden && !SeesHidden(access))) {
                    return MakeError(ErrorCode::kInvalidArgument, "cannot expand '" + seg + "'", "expand");
                }
                back = true;
                std::vector<db::Value> params;
                std::string in;
                for (auto* r : recs) {
                    if (const auto* id = r->if_contains("id"); id != nullptr && id->is_string()) {
                        in += params.empty() ? "?" : ", ?";
                        params.emplace_back(std::string(id->as_string()));
                    }
                }
                if (params.empty()) {
                    continue;
                }
                const std::string col = Q(target->name) + "." + Q(back_field->name);
                const std::string where = back_field->IsMultiple() ? "EXISTS (SELECT 1 FROM json_each(" + col +
                                                                         ") WHERE json_each.\"value\" IN (" + in + "))"
                                                                   : col + " IN (" + in + ")";
                auto got = fetch(*target, where, params, kMaxBackRelationExpand);
                if (!got) {
                    return got.error();
                }
                fetched = std::move(*got);
            } else {
                return MakeError(ErrorCode::kInvalidArgument, "cannot expand '" + seg + "'", "expand");
            }
            if (!child.children.empty() && !fetched.empty()) {
                std::vector<json::object*> next;
                next.reserve(fetched.size());
                for (auto& o : fetched) {
                    next.push_back(&o);
                }
                if (auto r = walk(*target, next, child); !r) {
                    return r;
                }
            }
            std::map<std::string, const json::object*> by_id;
            for (const auto& o : fetched) {
                by_id[std::string(o.at("id").as_string())] = &o;
            }
            for (auto* r : recs) {
                json::value value;
                if (back) {
                    json::array items;
                    const std::string id(r->at("id").as_string());
                    for (const auto& o : fetched) {
                        if (IdsOf(o.if_contains(back_field->name)) == std::vector<std::string>{id} ||
                            (back_field->IsMultiple() && [&] {
                                for (const auto& x : IdsOf(o.if_contains(back_field->name))) {
                                    if (x == id) {
                                        return true;
                                    }
                                }
                                return false;
                            }())) {
                            items.push_back(o);
                        }
                    }
                    if (items.empty()) {
                        continue;
                    }
                    value = std::move(items);
                } else if (f->IsMultiple()) {
                    json::array items;
                    for (const auto& id : IdsOf(r->if_contains(f->name))) {
                        if (auto it = by_id.find(id); it != by_id.end()) {
                            items.push_back(*it->second);
                        }
                    }
                    if (items.empty()) {
                        continue;
                    }
                    value = std::move(items);
                } else {
                    const auto ids = IdsOf(r->if_contains(f->name));
                    auto it = ids.empty() ? by_id.end() : by_id.find(ids.front());
                    if (it == by_id.end()) {
                        continue;
                    }
                    value = *it->second;
                }
                json::value& ex = (*r)["expand"];
                if (!ex.is_object()) {
                    ex = json::object{};
                }
                ex.as_object()[seg] = std::move(value);
            }
        }
        return Ok();
    };
    return walk(c, records, *tree);
}

}  // namespace basalt::records
