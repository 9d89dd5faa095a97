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

Result<ListResult> RecordService::List(std::string_view collection, const ListParams& p, const Access& access) const {
    auto l = LoadCollection(collections_, collection);
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
        query::Compiler compiler(c, *l->snapshot, CompileOptionsFor(access, clock_));
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
        count_sql = (distinct ? "SELECT COUNT(DISTINCT " + query::QuoteIdent(c.name) +
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

}  // namespace basalt::records
