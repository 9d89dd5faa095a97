// SPDX-License-Identifier: MIT
#include "collections/change_set.hpp"

#include <algorithm>

#include "collections/ddl.hpp"
#include "collections/definitions.hpp"
#include "collections/validation.hpp"
#include "collections/view.hpp"
#include "core/text.hpp"
#include "query/compiler.hpp"

namespace basalt::collections {

namespace {

namespace json = boost::json;
using schema::FieldType;
using FieldPairs = std::vector<std::pair<const schema::Field*, const schema::Field*>>;  // now, before (or null)

// The name of an index from its canonical text.
std::string IndexName(const std::string& text) {
    const auto start = text.find('`');
    const auto end = start == std::string::npos ? start : text.find('`', start + 1);
    return end == std::string::npos ? std::string() : text.substr(start + 1, end - start - 1);
}

// The SQL that copies a field's values into a rebuilt table, converting single <-> multiple.
std::string CopyExpr(const schema::Field& now, const schema::Field& before) {
    std::string col = query::QuoteIdent(before.name);
    if (now.IsMultiple() == before.IsMultiple()) {
        return col;
    }
    if (now.IsMultiple()) {
        return "CASE WHEN " + col + " IS NULL OR " + col + " = '' THEN '[]' ELSE json_array(" + col + ") END";
    }
    // Several values to one: the last one, as PocketBase keeps.
    const std::string last = "CASE WHEN json_valid(" + col + ") THEN json_extract(" + col + ", '$[#-1]') END";
    if (now.Kind().shape == schema::ValueShape::kRelation) {  // no value is NULL there
        return "NULLIF(" + last + ", '')";
    }
    return "COALESCE(" + last + ", '')";
}

// Pairs each field of `c` with its current version in `old` (by id). Refuses type and relation
// target changes (field errors); true in `rebuild` when a column's constraint changes.
FieldPairs PairFields(
    const schema::Collection& old, const schema::Collection& c, bool& rebuild, std::vector<FieldError>& errors
) {
    FieldPairs pairs;
    for (std::size_t i = 0; i < c.fields.size(); ++i) {
        const schema::Field& f = c.fields[i];
        const schema::Field* before = nullptr;
        for (const auto& o : old.fields) {
            before = o.id == f.id ? &o : before;
        }
        pairs.emplace_back(&f, before);
        if (before == nullptr) {
            continue;
        }
        if (f.type != before->type) {
            errors.push_back(
                {"fields." + std::to_string(i), "validation_field_type_change", "Field type cannot be changed."}
            );
            continue;
        }
        if (f.type == FieldType::kRelation && f.CollectionId() != before->CollectionId()) {
            errors.push_back(
                {"fields." + std::to_string(i) + ".collectionId",
                 "validation_field_relation_change",
                 "The relation collection cannot be changed."}
            );
            continue;
        }
        const bool single_relation = f.type == FieldType::kRelation && !f.IsMultiple();
        rebuild = rebuild || f.IsMultiple() != before->IsMultiple() ||
                  (single_relation && (f.Options().cascade_delete != before->Options().cascade_delete ||
                                       f.Options().required != before->Options().required));
    }
    return pairs;
}

}  // namespace

ChangeResult WriteFailed(const Error& e, std::string conflict_message) {
    ChangeResult failed;
    const bool conflict = e.code == ErrorCode::kConflict;
    failed.code = conflict ? ErrorCode::kInvalidArgument : e.code;
    if (conflict) {
        failed.message = std::move(conflict_message);
    } else {
        failed.message = e.message;
    }
    return failed;
}

bool ChangeSet::Begin(ChangeResult& out) {
    for (const auto& c : before_.All()) {
        if (c.IsView() && !Run({"DROP VIEW IF EXISTS " + query::QuoteIdent(c.name)}, out, "")) {
            return false;
        }
    }
    return true;
}

bool ChangeSet::Create(const json::object& body, ChangeResult& out, bool allow_system) {
    ChangeResult built;
    {
        const schema::StaticCatalog working(all_);
        const schema::StaticCatalog targets = Targets();
        built = BuildCollection(body, {working, targets, now_, nullptr, HasTableFn(), allow_system});
    }
    if (!built.collection) {
        out = std::move(built);
        return false;
    }
    const schema::Collection& c = *built.collection;
    all_.push_back(c);
    if (!c.IsView()) {
        const schema::StaticCatalog with_new = Targets();
        std::vector<std::string> ddl{CreateTableSql(c, with_new)};
        for (const auto& text : c.indexes) {
            ddl.push_back(IndexSql(*ParseIndex(text, c), c.name));
        }
        if (!Run(ddl, out, "Failed to create collection.")) {
            if (out.message == "Failed to create collection.") {
                out.errors.push_back({"name", "validation_collection_name_exists", "Collection name must be unique."});
            }
            return false;
        }
    }
    log_.push_back({"create", c.id, {}});
    out = std::move(built);
    return true;
}

bool ChangeSet::Update(const schema::Collection& old, const json::object& body, ChangeResult& out) {
    ChangeResult built;
    {
        const schema::StaticCatalog working(all_);
        const schema::StaticCatalog targets = Targets();
        built = BuildCollection(body, {working, targets, now_, &old, HasTableFn(), false});
    }
    if (!built.collection) {
        out = std::move(built);
        return false;
    }
    const schema::Collection& c = *built.collection;
    for (auto& other : all_) {
        if (other.id == c.id) {
            other = c;
        }
    }
    if (!c.IsView() && !AlterTable(old, c, built)) {
        built.collection.reset();
        if (built.message.empty()) {
            built.message = "Failed to update collection.";
        }
        out = std::move(built);
        return false;
    }
    log_.push_back({"update", c.id, {}});
    out = std::move(built);
    return true;
}

bool ChangeSet::Delete(const schema::Collection& c, ChangeResult& out) {
    if (c.system) {
        out.message = "System collections cannot be deleted.";
        return false;
    }
    std::vector<std::string> ddl;
    if (!c.IsView()) {
        ddl.push_back("DROP TABLE " + query::QuoteIdent(c.name));
    }
    if (!Run(ddl, out, "") || !Run({"DELETE FROM _collections WHERE id = ?"}, out, "", {c.id})) {
        return false;
    }
    log_.push_back({"delete", c.id, c});
    std::erase_if(all_, [&](const schema::Collection& other) { return other.id == c.id; });
    return true;
}

bool ChangeSet::Finish(ChangeResult& out) {
    for (std::size_t i = 0; i < all_.size(); ++i) {
        if (all_[i].IsView() && !RecreateView(i, out)) {
            return false;
        }
    }
    const schema::StaticCatalog final_catalog(all_);
    if (!CheckRelations(final_catalog, out) || !WriteLog(final_catalog, out)) {
        return false;
    }
    if (out.collection) {
        if (const auto* c = final_catalog.Find(out.collection->id); c != nullptr) {
            out.collection = *c;  // a view's fields are known only now
        }
    }
    return true;
}

bool ChangeSet::CheckRelations(const schema::StaticCatalog& final_catalog, ChangeResult& out) const {
    for (const auto& c : all_) {
        for (const auto& f : c.fields) {
            if (!c.IsView() && f.type == FieldType::kRelation && final_catalog.Find(f.CollectionId()) == nullptr) {
                out.message = "The relation " + c.name + "." + f.name + " points at a collection that is gone.";
                return false;
            }
        }
    }
    return true;
}

bool ChangeSet::WriteLog(const schema::StaticCatalog& final_catalog, ChangeResult& out) {
    for (const auto& entry : log_) {
        const schema::Collection* c = entry.action == "delete" ? &entry.removed : final_catalog.Find(entry.id);
        if (c == nullptr) {
            continue;  // created and deleted again in the same change
        }
        if (entry.action != "delete") {
            if (auto r = SaveDefinition(ex_, *c); !r) {
                out = WriteFailed(r.error(), "");
                return false;
            }
        }
        if (auto r = RecordHistory(ex_, entry.action, *c, now_); !r) {
            out = WriteFailed(r.error(), "");
            return false;
        }
    }
    return true;
}

std::vector<SchemaChange> ChangeSet::Changes() const {
    auto by_id = [](const std::vector<schema::Collection>& all,
                    const std::string& id) -> std::optional<schema::Collection> {
        for (const auto& c : all) {
            if (c.id == id) {
                return c;
            }
        }
        return std::nullopt;
    };
    std::vector<SchemaChange> out;
    std::vector<std::string> seen;
    for (const auto& entry : log_) {
        if (std::find(seen.begin(), seen.end(), entry.id) != seen.end()) {
            continue;
        }
        seen.push_back(entry.id);
        SchemaChange change{by_id(before_.All(), entry.id), by_id(all_, entry.id)};
        if (change.before || change.after) {
            out.push_back(std::move(change));
        }
    }
    return out;
}

const schema::Collection* ChangeSet::Find(std::string_view id_or_name) const {
    for (const auto& c : all_) {
        if (c.id == id_or_name) {
            return &c;
        }
    }
    for (const auto& c : all_) {
        if (EqualsIgnoreCase(c.name, id_or_name)) {
            return &c;
        }
    }
    return nullptr;
}

// Whether a table or view of that name (case-insensitively) exists, as this change has left the
// database: basalt's own tables (`_sessions`, ...) cannot become collections.
std::function<bool(std::string_view)> ChangeSet::HasTableFn() const {
    return [this](std::string_view name) {
        auto rs = ex_.Query(
            "SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND name = ? COLLATE NOCASE LIMIT 1",
            {std::string(name)}
        );
        return !rs || !rs->rows.empty();  // when in doubt, refuse the name
    };
}

schema::StaticCatalog ChangeSet::Targets() const {
    std::vector<schema::Collection> all = all_;
    for (const auto& p : pending_) {
        const bool present =
            std::any_of(all_.begin(), all_.end(), [&](const schema::Collection& c) { return c.id == p.id; });
        if (!present) {
            all.push_back(p);
        }
    }
    return schema::StaticCatalog(std::move(all));
}

bool ChangeSet::Run(
    const std::vector<std::string>& ddl,
    ChangeResult& out,
    const std::string& conflict_message,
    std::initializer_list<db::Value> params
) {
    for (const auto& sql : ddl) {
        if (auto r = ex_.Exec(sql, params); !r) {
            out = WriteFailed(r.error(), conflict_message);
            return false;
        }
    }
    return true;
}

// The table follows a base collection's change: renamed, its columns renamed, dropped and added in
// place; rebuilt (copied into a new table) when a column's constraint changes (a single relation
// dropped, single <-> multiple values, a relation's delete behaviour).
bool ChangeSet::AlterTable(const schema::Collection& old, const schema::Collection& c, ChangeResult& built) {
    const std::string table = query::QuoteIdent(c.name);
    std::vector<std::string> ddl;
    if (c.name != old.name) {
        ddl.push_back("ALTER TABLE " + query::QuoteIdent(old.name) + " RENAME TO " + table);
    }
    for (const auto& text : old.indexes) {
        ddl.push_back("DROP INDEX IF EXISTS " + query::QuoteIdent(IndexName(text)));
    }
    bool rebuild = false;
    const FieldPairs pairs = PairFields(old, c, rebuild, built.errors);
    std::vector<const schema::Field*> dropped;
    for (const auto& o : old.fields) {
        if (std::none_of(c.fields.begin(), c.fields.end(), [&](const auto& f) { return f.id == o.id; })) {
            dropped.push_back(&o);
            rebuild = rebuild || (o.type == FieldType::kRelation && !o.IsMultiple());
        }
    }
    if (!built.errors.empty()) {
        return false;
    }
    if (rebuild) {
        if (!RebuildTable(old, c, pairs, ddl, built)) {
            return false;
        }
    } else {
        for (const auto& [now_f, before] : pairs) {
            if (before != nullptr && now_f->name != before->name) {
                ddl.push_back(
                    "ALTER TABLE " + table + " RENAME COLUMN " + query::QuoteIdent(before->name) + " TO " +
                    query::QuoteIdent(now_f->name)
                );
            }
        }
        for (const auto* o : dropped) {
            ddl.push_back("ALTER TABLE " + table + " DROP COLUMN " + query::QuoteIdent(o->name));
        }
        const schema::StaticCatalog targets = Targets();
        for (const auto& [now_f, before] : pairs) {
            if (before == nullptr) {
                ddl.push_back("ALTER TABLE " + table + " ADD COLUMN " + ColumnSql(*now_f, targets));
            }
        }
    }
    for (const auto& text : c.indexes) {
        ddl.push_back(IndexSql(*ParseIndex(text, c), c.name));
    }
    return Run(ddl, built, "Failed to update collection: the existing records do not fit the new definition.");
}

// Appends the DDL that rebuilds the table of `old` as `c`: a new table, the rows copied with their
// conversions, columns basalt keeps beside a system collection's fields carried over.
bool ChangeSet::RebuildTable(
    const schema::Collection& old,
    const schema::Collection& c,
    const FieldPairs& pairs,
    std::vector<std::string>& ddl,
    ChangeResult& built
) {
    const std::string table = query::QuoteIdent(c.name);
    schema::Collection next = c;
    next.name = "_basalt_rebuild";
    ddl.push_back(CreateTableSql(next, Targets()));
    std::string cols;
    std::string exprs;
    for (const auto& [now_f, before] : pairs) {
        if (before != nullptr) {
            cols += (cols.empty() ? "" : ", ") + query::QuoteIdent(now_f->name);
            exprs += (exprs.empty() ? "" : ", ") + CopyExpr(*now_f, *before);
        }
    }
    // Columns basalt keeps beside a system collection's fields (`_otps.attempts`) survive.
    auto extra =
        ex_.Query("SELECT name, type, \"notnull\", dflt_value FROM pragma_table_info(?)", {std::string(old.name)});
    if (!extra) {
        built = WriteFailed(extra.error(), "");
        return false;
    }
    for (const auto& row : extra->rows) {
        const std::string name = db::AsString(row[0]);
        if (old.FindField(name) != nullptr) {
            continue;
        }
        std::string column = query::QuoteIdent(name) + " " + db::AsString(row[1]);
        if (db::AsInt(row[2]) != 0) {
            column += " NOT NULL";
        }
        if (!db::IsNull(row[3])) {
            column += " DEFAULT " + db::AsString(row[3]);  // SQLite's own text of the default
        }
        ddl.push_back("ALTER TABLE \"_basalt_rebuild\" ADD COLUMN " + column);
        cols += ", " + query::QuoteIdent(name);
        exprs += ", " + query::QuoteIdent(name);
    }
    ddl.push_back("INSERT INTO \"_basalt_rebuild\" (" + cols + ") SELECT " + exprs + " FROM " + table);
    ddl.push_back("DROP TABLE " + table);
    ddl.push_back("ALTER TABLE \"_basalt_rebuild\" RENAME TO " + table);
    return true;
}

// Creates the view of all_[i] again from its query and derives its fields; a view whose query no
// longer works fails the change.
bool ChangeSet::RecreateView(std::size_t i, ChangeResult& out) {
    schema::Collection& v = all_[i];
    const bool changed_now = std::any_of(log_.begin(), log_.end(), [&](const Entry& e) { return e.id == v.id; });
    auto fail = [&](const Error& e) {
        const std::string why = e.message.substr(0, 500);
        out.collection.reset();
        if (changed_now) {
            out.message = "Failed to save the view collection.";
            out.errors.push_back({"viewQuery", "validation_invalid_view_query", "Invalid query - " + why});
        } else {
            out.message = "The view collection " + v.name + " no longer works with this change: " + why;
        }
        return false;
    };
    const std::string query = v.Options().view_query;
    ViewShape shape;
    {
        const schema::StaticCatalog working(all_);
        auto described = DescribeView(ex_, query, working, v.fields);
        if (!described) {
            return fail(described.error());
        }
        shape = std::move(*described);
    }
    if (auto r = ex_.Exec("CREATE VIEW " + query::QuoteIdent(v.name) + " AS " + shape.select_sql); !r) {
        return fail(r.error());
    }
    if (FieldsJson(shape.fields) != FieldsJson(v.fields)) {
        v.fields = std::move(shape.fields);
        if (!changed_now) {
            v.updated = now_;
            log_.push_back({"update", v.id, {}});
        }
    }
    return !changed_now || CheckViewRules(v, out);
}

// A view changed by this change: its list and view rules must compile against its derived fields.
bool ChangeSet::CheckViewRules(const schema::Collection& v, ChangeResult& out) const {
    const schema::StaticCatalog working(all_);
    const std::pair<const char*, const std::optional<std::string>*> rules[] = {
        {"listRule", &v.list_rule}, {"viewRule", &v.view_rule}};
    for (const auto& [key, rule] : rules) {
        if (!*rule || (*rule)->empty()) {
            continue;
        }
        query::CompileOptions opt;
        opt.allow_hidden = true;
        opt.allow_request = true;
        query::Compiler compiler(*working.Find(v.id), working, opt);
        if (auto r = compiler.AddFilter(**rule); !r) {
            out.errors.push_back({key, "validation_invalid_rule", "Invalid rule: " + r.error().message + "."});
        }
    }
    if (!out.errors.empty()) {
        out.collection.reset();
        out.message = "Failed to save the view collection.";
        return false;
    }
    return true;
}

}  // namespace basalt::collections
