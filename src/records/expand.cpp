// SPDX-License-Identifier: MIT
#include <functional>
#include <map>

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
        query::Compiler compiler(target, snap, CompileOptionsFor(access, clock_));
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
                std::string where = query::QuoteIdent(target->name) + ".\"id\" IN (";
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
                const std::string col = query::QuoteIdent(target->name) + "." + query::QuoteIdent(back_field->name);
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
