// SPDX-License-Identifier: MIT
#include <algorithm>

#include <boost/json/serialize.hpp>

#include "records/service.hpp"
#include "records/service_internal.hpp"

namespace basalt::records {

namespace json = boost::json;

namespace {

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

// The key of a cached plan: the collection, who reads, the rule, filter and sort, and for a rule
// with @request.auth.* the auth record's JSON object (by address: the cache keeps it alive).
std::string PlanKey(
    const schema::Collection& c,
    const std::string& applied_rule,
    const ListParams& p,
    const Access& access,
    bool keyed_by_auth
) {
    std::string key =
        c.id + '\x1f' + (access.superuser ? "s" : "g") + '\x1f' + applied_rule + '\x1f' + p.filter + '\x1f' + p.sort;
    if (keyed_by_auth) {
        key += '\x1f' + std::to_string(reinterpret_cast<std::uintptr_t>(access.request.auth.get()));
    }
    return key;
}

// The list rule, filter and sort of a list compiled together.
Result<query::CompiledFilter> CompileListPlan(
    const schema::Collection& c,
    const collections::Snapshot& snap,
    const ListParams& p,
    const Access& access,
    const Clock& clock
) {
    query::Compiler compiler(c, snap, CompileOptionsFor(access, clock));
    BASALT_TRY(ApplyRule(compiler, c.list_rule, access));
    BASALT_TRY(compiler.AddFilter(p.filter));
    BASALT_TRY(compiler.SetSort(p.sort));
    return compiler.Build();
}

constexpr std::size_t kMaxCachedCounts = 4096;

}  // namespace

// The SQL of one list page: the page itself and (unless skip_total) its total, with the total
// when the count cache has it for the data version read before the data.
struct ListQueries {
    std::string page_sql;
    std::vector<db::Value> page_params;
    std::string count_sql;
    std::vector<db::Value> count_params;
    std::string count_key;  // empty for system collections (their totals are not cached)
    std::optional<std::int64_t> cached_total;
    std::uint64_t version = 0;
    // The page sorted by rowid in place of its last sort key (a column in the table's rowid order):
    // the token that said so, the column, and the page as sorted before, for when the token changed
    // before the read (Database::RowOrderToken).
    std::uint64_t row_order = 0;
    std::string row_order_column;
    std::string plain_page_sql;
};

namespace {

// The page and count statements of the plan `f` on `c` for the page `out` describes; sorted by rowid
// in place of the last sort key when `row_order` (its column's token) is not 0.
ListQueries ListQueriesFor(
    const schema::Collection& c,
    const query::CompiledFilter& f,
    const ListParams& p,
    const ListResult& out,
    std::uint64_t row_order
) {
    ListQueries q;
    const bool distinct = !f.joins.empty();
    Sql base = FromWhere(c, f, "", {});
    q.page_sql = SelectList(c, distinct) + base.text;
    q.page_params = base.params;
    if (!f.order_by.empty()) {
        if (row_order != 0) {
            q.row_order = row_order;
            q.row_order_column = f.order_last_column;
            q.plain_page_sql = q.page_sql + " ORDER BY " + f.order_by + " LIMIT ? OFFSET ?";
            q.page_sql += " ORDER BY " + f.order_by.substr(0, f.order_last_offset) + query::QuoteIdent(c.name) +
                          ".\"_rowid_\"" + (f.order_last_descending ? " DESC" : " ASC");
        } else {
            q.page_sql += " ORDER BY " + f.order_by;
        }
        q.page_params.insert(q.page_params.end(), f.order_params.begin(), f.order_params.end());
    }
    q.page_sql += " LIMIT ? OFFSET ?";
    q.page_params.emplace_back(out.per_page);
    q.page_params.emplace_back((out.page - 1) * out.per_page);
    if (!p.skip_total) {
        q.count_sql = (distinct ? "SELECT COUNT(DISTINCT " + query::QuoteIdent(c.name) +
                                      (c.type == schema::CollectionType::kView ? ".\"id\")" : ".\"_rowid_\")")
                                : std::string("SELECT COUNT(*)")) +
                      base.text;
        q.count_params = std::move(base.params);
    }
    return q;
}

// The records of a list with expand as JSON text: expanded, then serialized.
Result<std::string> ExpandedItemsJson(
    const RecordService& service,
    const schema::Collection& c,
    const collections::Snapshot& snap,
    std::vector<json::object>& records,
    const ListParams& p,
    const Access& access
) {
    std::vector<json::object*> ptrs;
    ptrs.reserve(records.size());
    for (auto& o : records) {
        ptrs.push_back(&o);
    }
    BASALT_TRY(service.Expand(c, snap, ptrs, p.expand, access));
    json::array with_expand;
    for (auto& o : records) {
        with_expand.emplace_back(std::move(o));
    }
    return json::serialize(with_expand);
}

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

Result<query::CompiledFilter> RecordService::ListPlan(
    const schema::Collection& c,
    const std::shared_ptr<const collections::Snapshot>& snapshot,
    const ListParams& p,
    const Access& access
) const {
    const std::string applied_rule = access.superuser ? std::string() : *c.list_rule;
    // A plan is reused while the schema is the same. Texts with macros or @request.* values change
    // per request and are compiled each time, except @request.auth.*: those values are fixed for one
    // auth record's JSON (shared by its requests until the record changes), so the plan is keyed by
    // that object, which the cache keeps alive (its address cannot be reused while cached).
    const bool auth_only_rule = OnlyAuthReferences(applied_rule);
    const bool cacheable =
        auth_only_rule && p.filter.find('@') == std::string::npos && p.sort.find('@') == std::string::npos;
    if (!cacheable) {
        return CompileListPlan(c, *snapshot, p, access, clock_);
    }
    const bool keyed_by_auth = applied_rule.find('@') != std::string::npos;
    std::string plan_key = PlanKey(c, applied_rule, p, access, keyed_by_auth);
    if (auto cached = CachedPlan(plan_key, snapshot.get())) {
        return *std::move(cached);
    }
    auto plan = CompileListPlan(c, *snapshot, p, access, clock_);
    if (!plan) {
        return plan.error();
    }
    StorePlan(
        std::move(plan_key), snapshot, *plan, keyed_by_auth ? std::shared_ptr<const void>(access.request.auth) : nullptr
    );
    return plan;
}

// The token of the list's last sort key when it is a column whose values follow the table's rowid
// order, else 0. Asked for the columns that do when records are created through basalt: autodates
// set on create only (`created`; see CreatedStamps in write.cpp).
std::uint64_t RecordService::RowOrderToken(const schema::Collection& c, const query::CompiledFilter& f) const {
    if (f.order_last_column.empty() || !f.joins.empty()) {
        return 0;
    }
    const schema::Field* field = c.FindField(f.order_last_column);
    if (field == nullptr) {
        return 0;
    }
    const bool created =
        field->type == schema::FieldType::kAutodate && field->Options().on_create && !field->Options().on_update;
    if (!created) {
        return 0;
    }
    return db_.RowOrderToken(c.name, field->name);
}

Result<void> RecordService::CountListTotal(
    db::Executor& ex, const schema::Collection& c, ListQueries& q, ListResult& out
) const {
    if (q.cached_total) {
        out.total_items = *q.cached_total;
        return Ok();
    }
    BASALT_ASSIGN_OR_RETURN(auto count, ex.Query(q.count_sql, q.count_params));
    out.total_items = db::AsInt(count.rows[0][0]);
    if (!c.system) {
        StoreCount(std::move(q.count_key), q.version, out.total_items);
    }
    return Ok();
}

Result<void> RecordService::ReadListPage(
    const schema::Collection& c,
    const ListParams& p,
    const Access& access,
    ListQueries& q,
    ListResult& out,
    std::vector<json::object>& expanded
) const {
    const bool include_hidden = SeesHidden(access);
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
    // Read in rowid order, the page is read again as sorted when a write may have broken that order
    // before the read began (the token moved; see Database::RowOrderToken).
    const auto order_broke = [&] {
        if (q.row_order == 0 || db_.RowOrderToken(c.name, q.row_order_column) == q.row_order) {
            return false;
        }
        q.page_sql = std::move(q.plain_page_sql);
        q.row_order = 0;
        items.resize(1);
        first = true;
        expanded.clear();
        return true;
    };
    Result<void> r = Ok();
    if (p.expand.empty() && (p.skip_total || q.cached_total)) {
        // One statement: no read transaction needed.
        r = db_.ReadEach(q.page_sql, q.page_params, stream);
        if (r && order_broke()) {
            r = db_.ReadEach(q.page_sql, q.page_params, stream);
        }
        if (q.cached_total) {
            out.total_items = *q.cached_total;
        }
    } else {
        r = db_.ReadTx([&](db::Executor& ex) -> Result<void> {
            const auto read_page = [&]() -> Result<void> {
                if (p.expand.empty()) {
                    return ex.QueryEach(q.page_sql, q.page_params, stream);
                }
                // With expand: records as DOM objects.
                BASALT_ASSIGN_OR_RETURN(auto rs, ex.Query(q.page_sql, q.page_params));
                for (std::size_t i = 0; i < rs.rows.size(); ++i) {
                    expanded.push_back(RecordJson(c, rs, i, include_hidden, SelfId(c, access)));
                }
                return Ok();
            };
            BASALT_TRY(read_page());
            if (order_broke()) {
                BASALT_TRY(read_page());
            }
            if (p.skip_total) {
                return Ok();
            }
            return CountListTotal(ex, c, q, out);
        });
    }
    if (!r) {
        return r;
    }
    items.push_back(']');
    out.items_json = std::move(items);
    return Ok();
}

Result<ListResult> RecordService::List(std::string_view collection, const ListParams& p, const Access& access) const {
    BASALT_ASSIGN_OR_RETURN(auto l, LoadCollection(collections_, collection));
    const schema::Collection& c = *l.collection;
    if (!ScopeAllows(access, c, "list")) {
        return ScopeForbidden();
    }
    if (!access.superuser && !c.list_rule) {
        return Forbidden();
    }
    BASALT_ASSIGN_OR_RETURN(auto plan, ListPlan(c, l.snapshot, p, access));
    ListResult out;
    out.page = std::clamp<std::int64_t>(p.page, 1, kMaxPage);
    out.per_page = p.per_page < 1 ? 30 : std::min(p.per_page, kMaxPerPage);
    ListQueries q = ListQueriesFor(c, plan, p, out, RowOrderToken(c, plan));
    q.version = collections_.DataVersion();  // read before the data
    if (!p.skip_total && !c.system) {
        q.count_key = CountKey(q.count_sql, q.count_params);
        q.cached_total = CachedCount(q.count_key, q.version);
    }
    std::vector<json::object> expanded;
    BASALT_TRY(ReadListPage(c, p, access, q, out, expanded));
    if (!p.skip_total) {
        out.total_pages = (out.total_items + out.per_page - 1) / out.per_page;
    }
    if (!p.expand.empty()) {
        BASALT_ASSIGN_OR_RETURN(auto items, ExpandedItemsJson(*this, c, *l.snapshot, expanded, p, access));
        out.items_json = std::move(items);
    }
    return out;
}

}  // namespace basalt::records
