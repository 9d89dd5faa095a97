// SPDX-License-Identifier: MIT
#include <map>
#include <optional>

#include "records/service.hpp"
#include "records/service_internal.hpp"

namespace basalt::records {

namespace json = boost::json;
using schema::FieldType;

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

// Does the relation `field` of `o` name `id`? A single relation holds exactly it; a multiple one
// holds it among others.
bool ReferencesId(const json::object& o, const schema::Field& field, const std::string& id) {
    const auto ids = IdsOf(o.if_contains(field.name));
    if (ids == std::vector<std::string>{id}) {
        return true;
    }
    if (!field.IsMultiple()) {
        return false;
    }
    for (const auto& x : ids) {
        if (x == id) {
            return true;
        }
    }
    return false;
}

// One segment of an expand path, resolved and fetched: the related records and how they attach to
// their parents (through the parents' `relation`, or back through the targets' `back_field`).
struct ExpandedSegment {
    const schema::Collection* target = nullptr;
    const schema::Field* relation = nullptr;
    const schema::Field* back_field = nullptr;
    std::vector<json::object> fetched;
};

// The expand tree of one request, walked level by level: each level's related records are fetched
// in one query under their collection's view rule, then attached to the records of the level above.
class Expander {
public:
    Expander(db::Database& db, const Clock& clock, const collections::Snapshot& snap, const Access& access)
        : db_(db),
          clock_(clock),
          snap_(snap),
          access_(access) {}

    Result<void> Walk(const schema::Collection& coll, std::vector<json::object*>& recs, const ExpandNode& node) const {
        for (const auto& [seg, child] : node.children) {
            BASALT_ASSIGN_OR_RETURN(auto segment, FetchSegment(coll, seg, recs));
            if (!segment) {
                continue;  // nothing to expand on this level
            }
            auto& s = *segment;
            if (!child.children.empty() && !s.fetched.empty()) {
                std::vector<json::object*> next;
                next.reserve(s.fetched.size());
                for (auto& o : s.fetched) {
                    next.push_back(&o);
                }
                if (auto r = Walk(*s.target, next, child); !r) {
                    return r;
                }
            }
            Attach(seg, s, recs);
        }
        return Ok();
    }

private:
    // A relation field of `coll` (forward), or <collection>_via_<field> (back); anything else fails.
    // nullopt when there is nothing to fetch.
    Result<std::optional<ExpandedSegment>> FetchSegment(
        const schema::Collection& coll, const std::string& seg, const std::vector<json::object*>& recs
    ) const {
        const schema::Field* f = coll.FindField(seg);
        if (f != nullptr && f->type == FieldType::kRelation && (!f->hidden || SeesHidden(access_))) {
            return FetchForward(*f, recs);
        }
        if (const auto via = seg.rfind("_via_"); via != std::string::npos) {
            return FetchBack(coll, seg, via, recs);
        }
        return MakeError(ErrorCode::kInvalidArgument, "cannot expand '" + seg + "'", "expand");
    }

    // The records the relation `f` of `recs` points to.
    Result<std::optional<ExpandedSegment>> FetchForward(const schema::Field& f, const std::vector<json::object*>& recs)
        const {
        ExpandedSegment s;
        s.relation = &f;
        s.target = snap_.Find(f.CollectionId());
        std::vector<std::string> ids;
        for (auto* r : recs) {
            for (auto& id : IdsOf(r->if_contains(f.name))) {
                ids.push_back(std::move(id));
            }
        }
        if (s.target == nullptr || ids.empty()) {
            return std::optional<ExpandedSegment>{};
        }
        std::string where = query::QuoteIdent(s.target->name) + ".\"id\" IN (";
        std::vector<db::Value> params;
        for (std::size_t i = 0; i < ids.size(); ++i) {
            where += i > 0 ? ", ?" : "?";
            params.emplace_back(ids[i]);
        }
        where += ")";
        BASALT_ASSIGN_OR_RETURN(auto got, Fetch(*s.target, where, params, ids.size()));
        s.fetched = std::move(got);
        return std::optional<ExpandedSegment>{std::move(s)};
    }

    // The records of <collection> whose relation <field> points to one of `recs` (`via` is where
    // "_via_" starts in `seg`).
    Result<std::optional<ExpandedSegment>> FetchBack(
        const schema::Collection& coll, const std::string& seg, std::size_t via, const std::vector<json::object*>& recs
    ) const {
        ExpandedSegment s;
        s.target = snap_.Find(seg.substr(0, via));
        s.back_field = s.target != nullptr ? s.target->FindField(seg.substr(via + 5)) : nullptr;
        const schema::Field* back = s.back_field;
        if (back == nullptr || back->type != FieldType::kRelation || back->CollectionId() != coll.id ||
            (back->hidden && !SeesHidden(access_))) {
            return MakeError(ErrorCode::kInvalidArgument, "cannot expand '" + seg + "'", "expand");
        }
        std::vector<db::Value> params;
        std::string in;
        for (auto* r : recs) {
            if (const auto* id = r->if_contains("id"); id != nullptr && id->is_string()) {
                in += params.empty() ? "?" : ", ?";
                params.emplace_back(std::string(id->as_string()));
            }
        }
        if (params.empty()) {
            return std::optional<ExpandedSegment>{};
        }
        const std::string col = query::QuoteIdent(s.target->name) + "." + query::QuoteIdent(back->name);
        const std::string where = back->IsMultiple() ? "EXISTS (SELECT 1 FROM json_each(" + col +
                                                           ") WHERE json_each.\"value\" IN (" + in + "))"
                                                     : col + " IN (" + in + ")";
        BASALT_ASSIGN_OR_RETURN(auto got, Fetch(*s.target, where, params, kMaxBackRelationExpand));
        s.fetched = std::move(got);
        return std::optional<ExpandedSegment>{std::move(s)};
    }

    // Fetches the records of `target` matching `where` (+ its view rule) as JSON objects.
    Result<std::vector<json::object>> Fetch(
        const schema::Collection& target,
        const std::string& where,
        const std::vector<db::Value>& params,
        std::size_t limit
    ) const {
        if ((!access_.superuser && !target.view_rule) || !ScopeAllows(access_, target, "view")) {
            return std::vector<json::object>{};  // hidden: silently left out
        }
        query::Compiler compiler(target, snap_, CompileOptionsFor(access_, clock_));
        if (!access_.superuser && !target.view_rule->empty()) {
            if (auto r = compiler.AddRule(*target.view_rule); !r) {
                return std::vector<json::object>{};
            }
        }
        const auto f = compiler.Build();
        Sql s = FromWhere(target, f, where, params);
        BASALT_ASSIGN_OR_RETURN(
            auto rs,
            db_.Read(SelectList(target, !f.joins.empty()) + s.text + " LIMIT " + std::to_string(limit), s.params)
        );
        std::vector<json::object> out;
        for (std::size_t i = 0; i < rs.rows.size(); ++i) {
            out.push_back(RecordJson(target, rs, i, SeesHidden(access_), SelfId(target, access_)));
        }
        return out;
    }

    // Sets expand[seg] on each of `recs` that has related records in `s`.
    static void Attach(const std::string& seg, const ExpandedSegment& s, std::vector<json::object*>& recs) {
        std::map<std::string, const json::object*> by_id;
        for (const auto& o : s.fetched) {
            by_id[std::string(o.at("id").as_string())] = &o;
        }
        for (auto* r : recs) {
            auto value = s.back_field != nullptr ? BackValue(*r, s) : ForwardValue(*r, *s.relation, by_id);
            if (!value) {
                continue;
            }
            json::value& ex = (*r)["expand"];
            if (!ex.is_object()) {
                ex = json::object{};
            }
            ex.as_object()[seg] = std::move(*value);
        }
    }

    // The fetched records pointing back to `r`, as an array (nullopt when none does).
    static std::optional<json::value> BackValue(const json::object& r, const ExpandedSegment& s) {
        json::array items;
        const std::string id(r.at("id").as_string());
        for (const auto& o : s.fetched) {
            if (ReferencesId(o, *s.back_field, id)) {
                items.push_back(o);
            }
        }
        if (items.empty()) {
            return std::nullopt;
        }
        return json::value(std::move(items));
    }

    // The fetched records `r`'s relation points to: an array for a multiple relation, else one
    // object (nullopt when none was fetched).
    static std::optional<json::value> ForwardValue(
        const json::object& r, const schema::Field& relation, const std::map<std::string, const json::object*>& by_id
    ) {
        const auto ids = IdsOf(r.if_contains(relation.name));
        if (relation.IsMultiple()) {
            json::array items;
            for (const auto& id : ids) {
                if (auto it = by_id.find(id); it != by_id.end()) {
                    items.push_back(*it->second);
                }
            }
            if (items.empty()) {
                return std::nullopt;
            }
            return json::value(std::move(items));
        }
        auto it = ids.empty() ? by_id.end() : by_id.find(ids.front());
        if (it == by_id.end()) {
            return std::nullopt;
        }
        return json::value(*it->second);
    }

    db::Database& db_;
    const Clock& clock_;
    const collections::Snapshot& snap_;
    const Access& access_;
};

}  // namespace

Result<void> RecordService::Expand(
    const schema::Collection& c,
    const collections::Snapshot& snap,
    std::vector<json::object*>& records,
    std::string_view expand,
    const Access& access
) const {
    BASALT_ASSIGN_OR_RETURN(auto tree, ParseExpand(expand));
    return Expander(db_, clock_, snap, access).Walk(c, records, tree);
}

}  // namespace basalt::records
