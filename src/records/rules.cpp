// SPDX-License-Identifier: MIT
#include "auth/scopes.hpp"
#include "records/service.hpp"
#include "records/service_internal.hpp"

namespace basalt::records {

Error Forbidden() {
    return MakeError(ErrorCode::kForbidden, "Only superusers can perform this action.");
}
Error NotFound() {
    return MakeError(ErrorCode::kNotFound, "The requested resource wasn't found.");
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

Result<LoadedCollection> LoadCollection(const collections::CollectionStore& store, std::string_view name) {
    LoadedCollection l;
    l.snapshot = store.Current();
    l.collection = l.snapshot->Find(name);
    if (l.collection == nullptr) {
        return MakeError(ErrorCode::kNotFound, "Missing collection context.");
    }
    return l;
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

// The collection of a create/update/delete: it must exist, be writable, and the action's rule must
// not be null for a non-superuser.
Result<LoadedCollection> LoadForWrite(
    const collections::CollectionStore& store,
    std::string_view name,
    const Access& access,
    std::optional<std::string> schema::Collection::*rule
) {
    auto l = LoadCollection(store, name);
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

// Applies the rule of one action for a non-superuser: null forbids, "" allows everything.
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

query::CompileOptions CompileOptionsFor(const Access& access, const Clock& clock) {
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

Sql FromWhere(
    const schema::Collection& c,
    const query::CompiledFilter& f,
    std::string_view extra_where,
    const std::vector<db::Value>& extra_params
) {
    Sql s;
    s.text = " FROM " + query::QuoteIdent(c.name);
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
    return std::string("SELECT ") + (distinct ? "DISTINCT " : "") + query::QuoteIdent(c.name) + ".*";
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
    query::Compiler compiler(c, snap, CompileOptionsFor(access, clock));
    if (auto r = compiler.AddRule(rule); !r) {
        return MakeError(ErrorCode::kForbidden, "The collection's API rule is invalid.");
    }
    const auto f = compiler.Build();
    Sql s = FromWhere(c, f, query::QuoteIdent(c.name) + ".\"id\" = ?", {id});
    BASALT_ASSIGN_OR_RETURN(auto rs, ex.Query("SELECT 1" + s.text + " LIMIT 1", s.params));
    return !rs.rows.empty();
}

Result<void> RequireRuleMatch(
    db::Executor& ex,
    const schema::Collection& c,
    const collections::Snapshot& snap,
    const std::optional<std::string>& rule,
    const Access& access,
    const Clock& clock,
    const std::string& id
) {
    if (!rule || rule->empty()) {
        return {};
    }
    BASALT_ASSIGN_OR_RETURN(const bool ok, RuleMatches(ex, c, snap, *rule, access, clock, id));
    if (!ok) {
        return NotFound();
    }
    return {};
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
    query::Compiler compiler(c, *snapshot, CompileOptionsFor(access, clock_));
    if (auto r = compiler.AddRule(*rule); !r) {
        return false;  // an invalid rule admits nobody
    }
    const auto f = compiler.Build();
    // The event's state stands in for the table: a CTE of the same name shadows it in this statement.
    // Its columns come from the JSON (?1): `->` keeps JSON text for json and multi-value columns.
    std::string cte = "WITH " + query::QuoteIdent(c.name) + " AS (SELECT ";
    bool first = true;
    for (const auto& fd : c.fields) {
        if (!first) {
            cte += ", ";
        }
        first = false;
        const schema::ValueShape shape = fd.Shape();
        const bool json_text = shape == schema::ValueShape::kJson || shape == schema::ValueShape::kGeoPoint ||
                               shape == schema::ValueShape::kList;
        cte += "?1 " + std::string(json_text ? "->" : "->>") + " '$." + fd.name + "' AS " + query::QuoteIdent(fd.name);
    }
    cte += ")";
    Sql s = FromWhere(c, f, query::QuoteIdent(c.name) + ".\"id\" = ?", {std::string(id)});
    std::vector<db::Value> params{std::string(record_json)};
    params.insert(params.end(), s.params.begin(), s.params.end());
    BASALT_ASSIGN_OR_RETURN(auto rs, db_.Read(cte + " SELECT 1" + s.text + " LIMIT 1", params));
    return !rs.rows.empty();
}

}  // namespace basalt::records
