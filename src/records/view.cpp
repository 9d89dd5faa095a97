// SPDX-License-Identifier: MIT
#include "records/service.hpp"
#include "records/service_internal.hpp"

namespace basalt::records {

namespace json = boost::json;

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
    auto record = ViewWithoutExpand(collection, id, access);
    if (!record || expand.empty()) {
        return record;
    }
    BASALT_ASSIGN_OR_RETURN(auto l, LoadCollection(collections_, collection));
    std::vector<json::object*> ptrs{&*record};
    BASALT_TRY(Expand(*l.collection, *l.snapshot, ptrs, expand, access));
    return record;
}

Result<bool> RecordService::ExistsIn(db::Executor& ex, std::string_view collection, std::string_view id) const {
    BASALT_ASSIGN_OR_RETURN(auto l, LoadCollection(collections_, collection));
    BASALT_ASSIGN_OR_RETURN(
        auto rs,
        ex.Query("SELECT 1 FROM " + query::QuoteIdent(l.collection->name) + " WHERE \"id\" = ?", {std::string(id)})
    );
    return !rs.rows.empty();
}

Result<void> RecordService::ExpandOne(
    std::string_view collection, json::object& record, std::string_view expand, const Access& access
) const {
    if (expand.empty()) {
        return Ok();
    }
    BASALT_ASSIGN_OR_RETURN(auto l, LoadCollection(collections_, collection));
    std::vector<json::object*> ptrs{&record};
    return Expand(*l.collection, *l.snapshot, ptrs, expand, access);
}

Result<json::object> RecordService::ViewWithoutExpand(
    std::string_view collection, std::string_view id, const Access& access
) const {
    BASALT_ASSIGN_OR_RETURN(auto l, LoadCollection(collections_, collection));
    const schema::Collection& c = *l.collection;
    if (!ScopeAllows(access, c, "view")) {
        return ScopeForbidden();
    }
    if (!access.superuser && !c.view_rule) {
        return Forbidden();
    }
    if (access.superuser || c.view_rule->empty()) {
        // No rule to apply: the plain indexed read.
        BASALT_ASSIGN_OR_RETURN(
            auto rs,
            db_.Read("SELECT * FROM " + query::QuoteIdent(c.name) + " WHERE \"id\" = ? LIMIT 1", {std::string(id)})
        );
        if (rs.rows.empty()) {
            return NotFound();
        }
        return WithManagedEmail(c, RecordJson(c, rs, 0, SeesHidden(access), SelfId(c, access)), rs, access);
    }
    query::Compiler compiler(c, *l.snapshot, CompileOptionsFor(access, clock_));
    BASALT_TRY(ApplyRule(compiler, c.view_rule, access));
    const auto f = compiler.Build();
    Sql s = FromWhere(c, f, query::QuoteIdent(c.name) + ".\"id\" = ?", {std::string(id)});
    BASALT_ASSIGN_OR_RETURN(auto rs, db_.Read(SelectList(c, !f.joins.empty()) + s.text + " LIMIT 1", s.params));
    if (rs.rows.empty()) {
        return NotFound();
    }
    return WithManagedEmail(c, RecordJson(c, rs, 0, SeesHidden(access), SelfId(c, access)), rs, access);
}

}  // namespace basalt::records
