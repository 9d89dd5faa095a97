// SPDX-License-Identifier: MIT
#include "collections/store.hpp"

#include <cctype>
#include <set>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "collections/auth_collection.hpp"
#include "collections/ddl.hpp"
#include "collections/view.hpp"
#include "core/ids.hpp"
#include "core/text.hpp"
#include "query/compiler.hpp"

namespace basalt::collections {

namespace {

namespace json = boost::json;
using schema::FieldType;

std::optional<std::string> RuleFromJson(const json::object& body, std::string_view key, bool& bad) {
    const auto* v = body.if_contains(key);
    if (v == nullptr || v->is_null()) {
        return std::nullopt;
    }
    if (!v->is_string()) {
        bad = true;
        return std::nullopt;
    }
    return std::string(v->as_string());
}

// Fills the type's default options so the JSON always has them, as PocketBase's does.
void FillDefaults(schema::Field& f) {
    auto def = [&f](std::string_view k, json::value v) {
        if (!f.options.contains(k)) {
            f.options[k] = std::move(v);
        }
    };
    def("required", false);
    switch (f.type) {
        case FieldType::kText:
            def("min", 0);
            def("max", 0);
            def("pattern", "");
            def("autogeneratePattern", "");
            def("primaryKey", false);
            break;
        case FieldType::kNumber:
            def("min", nullptr);
            def("max", nullptr);
            def("onlyInt", false);
            break;
        case FieldType::kEmail:
        case FieldType::kUrl:
            def("exceptDomains", nullptr);
            def("onlyDomains", nullptr);
            break;
        case FieldType::kEditor:
            def("maxSize", 0);
            def("convertURLs", false);
            break;
        case FieldType::kDate:
            def("min", "");
            def("max", "");
            break;
        case FieldType::kAutodate:
            f.options.erase("required");
            def("onCreate", true);
            def("onUpdate", false);
            break;
        case FieldType::kSelect:
            def("values", json::array{});
            def("maxSelect", 1);
            break;
        case FieldType::kRelation:
            def("cascadeDelete", false);
            def("minSelect", 0);
            def("maxSelect", 1);
            break;
        case FieldType::kJson:
            def("maxSize", 0);
            break;
        default:
            break;
    }
}

// Field names PocketBase excludes (filter literals and the record JSON's own keys), and the ones
// reserved in auth collections for the password form.
const std::set<std::string, std::less<>> kExcludedFieldNames{
    "null", "true", "false", "_rowid_", "collectionId", "collectionName", "expand"};
const std::set<std::string, std::less<>> kReservedAuthFieldNames{"passwordConfirm", "oldPassword"};

bool ContainsVia(std::string_view name) {
    return ToLower(name).find("_via_") != std::string::npos;
}

// ozzo-validation's Length(min, max) failure, as PocketBase reports it for names.
FieldError LengthOutOfRange(std::string key, int min, int max) {
    return {
        std::move(key),
        "validation_length_out_of_range",
        "The length must be between " + std::to_string(min) + " and " + std::to_string(max) + ".",
        {},
        R"({"max":)" + std::to_string(max) + R"(,"min":)" + std::to_string(min) + "}"};
}

// Validates `f` (at index i) in the context of the collection being built.
void ValidateField(
    schema::Field& f,
    std::size_t i,
    const schema::Collection& self,
    const schema::Catalog& targets,
    std::vector<FieldError>& errors
) {
    const std::string at = "fields." + std::to_string(i) + ".";
    if (f.system) {
        return;  // defined by basalt itself (auth fields, id)
    }
    // PocketBase's order: length, pattern, excluded names, `_via_`; then the auth form's names.
    if (f.name.size() > 100) {
        errors.push_back(LengthOutOfRange(at + "name", 1, 100));
        return;
    }
    if (!IsWord(f.name)) {
        errors.push_back({at + "name", "validation_match_invalid", "Must be in a valid format."});
        return;
    }
    if (kExcludedFieldNames.contains(f.name)) {
        errors.push_back({at + "name", "validation_not_in_invalid", "Must not be in list."});
    } else if (ContainsVia(f.name)) {
        errors.push_back({at + "name", "validation_found_via", "The value cannot contain \"_via_\"."});
    } else if (self.type == schema::CollectionType::kAuth && kReservedAuthFieldNames.contains(f.name)) {
        errors.push_back(
            {at + "name", "validation_reserved_field_name", "The field name is reserved and cannot be used."}
        );
    }
    if (f.type == FieldType::kFile || f.type == FieldType::kPassword) {
        errors.push_back({at + "type", "validation_field_type_unsupported", "This field type is not supported yet."});
        return;
    }
    if (f.name == "id" && (f.type != FieldType::kText || !f.BoolOption("primaryKey"))) {
        errors.push_back({at + "name", "validation_invalid_id_field", "The id field must be a primary key text field."}
        );
    }
    if (f.type == FieldType::kSelect) {
        const auto* values = f.options.if_contains("values");
        bool ok = values != nullptr && values->is_array() && !values->as_array().empty();
        if (ok) {
            for (const auto& v : values->as_array()) {
                ok = ok && v.is_string() && !v.as_string().empty();
            }
        }
        if (!ok) {
            errors.push_back({at + "values", "validation_required", "Add at least one value."});
        }
    }
    if (f.type == FieldType::kSelect || f.type == FieldType::kRelation) {
        if (f.MaxSelect() < 0 || f.MaxSelect() > 10000) {
            errors.push_back({at + "maxSelect", "validation_invalid_value", "Must be between 0 and 10000."});
        }
    }
    if (f.type == FieldType::kRelation) {
        const std::string target = f.CollectionId();
        const bool to_self = target == self.id || (!target.empty() && EqualsIgnoreCase(target, self.name));
        const schema::Collection* t = to_self ? &self : targets.Find(target);
        if (t == nullptr) {
            errors.push_back(
                {at + "collectionId",
                 "validation_field_relation_missing_collection",
                 "The relation collection doesn't exist."}
            );
        } else {
            f.options["collectionId"] = t->id;  // stored by id, even when given by name
        }
    }
}

// Builds and validates a collection from the request body: a new one, or (`existing` set) the next
// version of an existing one, where keys absent from the body keep their current values. `snap` is
// the catalog as the change has made it so far; `targets` also knows collections an import is about
// to create (relations may point at them). A view's fields and rules are checked once its query has
// been compiled (ChangeSet::Finish).
ChangeResult BuildCollection(
    const json::object& body,
    const Snapshot& snap,
    const schema::Catalog& targets,
    const std::string& now,
    const schema::Collection* existing,
    const std::function<bool(std::string_view)>& has_table,
    bool allow_system
) {
    ChangeResult out;
    auto& errors = out.errors;
    const std::string failed = existing != nullptr ? "Failed to update collection." : "Failed to create collection.";
    schema::Collection c;
    const auto* name = body.if_contains("name");
    c.name = name != nullptr && name->is_string() ? std::string(name->as_string()) : "";
    if (existing != nullptr && name == nullptr) {
        c.name = existing->name;
    }
    const schema::Collection* same_name = c.name.empty() ? nullptr : snap.Find(c.name);
    // PocketBase's order of checks: required, length, `_via_`, pattern, a system collection's name,
    // unique among collections, not an internal table of its own (basalt's `_sessions`, ...).
    if (existing != nullptr && c.name == existing->name) {
        // unchanged
    } else if (c.name.empty()) {
        errors.push_back({"name", "validation_required", "Cannot be blank."});
    } else if (c.name.size() > 255) {
        errors.push_back(LengthOutOfRange("name", 1, 255));
    } else if (ContainsVia(c.name)) {
        errors.push_back({"name", "validation_found_via", "The value cannot contain \"_via_\"."});
    } else if (!IsWord(c.name)) {
        errors.push_back({"name", "validation_match_invalid", "Must be in a valid format."});
    } else if (existing != nullptr && existing->system) {
        errors.push_back(
            {"name", "validation_collection_system_name_change", "System collection name cannot be changed."}
        );
    } else if (same_name != nullptr && (existing == nullptr || same_name->id != existing->id)) {
        errors.push_back(
            {"name", "validation_collection_name_exists", "Collection name must be unique (case insensitive)."}
        );
    } else if (ToLower(c.name).rfind("sqlite_", 0) == 0 || (same_name == nullptr && has_table(c.name))) {
        errors.push_back(
            {"name", "validation_collection_name_invalid", "The name shouldn't match with an existing internal table."}
        );
    }
    const auto* type = body.if_contains("type");
    const std::string type_name = type != nullptr && type->is_string() ? std::string(type->as_string()) : "base";
    if (existing == nullptr && allow_system) {
        if (const auto* sys = body.if_contains("system"); sys != nullptr && sys->is_bool()) {
            c.system = sys->as_bool();  // system migrations only; clients cannot create system collections
        }
    }
    if (existing != nullptr) {
        c.type = existing->type;
        c.system = existing->system;
        c.options = existing->options;
        if (type != nullptr && type_name != schema::CollectionTypeName(existing->type)) {
            errors.push_back(
                {"type", "validation_collection_type_change", "The type of a collection cannot be changed."}
            );
        }
    } else if (auto t = schema::ParseCollectionType(type_name); !t) {
        errors.push_back({"type", "validation_in_invalid", "Must be a valid value."});
    } else {
        c.type = *t;
    }
    const bool view = c.type == schema::CollectionType::kView;
    const bool auth = c.type == schema::CollectionType::kAuth;
    if (view) {
        const auto* q = body.if_contains("viewQuery");
        if (q != nullptr && q->is_string()) {
            c.options["viewQuery"] = NormalizeViewQuery(q->as_string());
        } else if (q != nullptr && !q->is_null()) {
            errors.push_back({"viewQuery", "validation_invalid_value", "Must be a string."});
        }
        if (c.options.if_contains("viewQuery") == nullptr || c.options.at("viewQuery").as_string().empty()) {
            errors.push_back({"viewQuery", "validation_required", "Cannot be blank."});
        }
    }
    if (existing != nullptr) {
        c.id = existing->id;
    } else if (const auto* id = body.if_contains("id"); id != nullptr && id->is_string() && !id->as_string().empty()) {
        c.id = std::string(id->as_string());
        if (!IsWord(c.id) || c.id.size() > 100) {
            errors.push_back({"id", "validation_invalid_value", "Must contain only letters, digits and _."});
        } else if (snap.Find(c.id) != nullptr) {
            errors.push_back({"id", "validation_not_unique", "Value must be unique."});
        }
    } else if (!c.name.empty()) {
        c.id = CollectionIdFor(type_name, c.name);
        for (int n = 2; snap.Find(c.id) != nullptr; ++n) {
            c.id = CollectionIdFor(type_name, c.name) + std::to_string(n);
        }
    }
    if (const auto* fields = body.if_contains("fields"); fields != nullptr && !view) {
        if (!fields->is_array()) {
            errors.push_back({"fields", "validation_invalid_value", "Must be an array of fields."});
        } else {
            std::size_t i = 0;
            for (const auto& fv : fields->as_array()) {
                if (!fv.is_object()) {
                    errors.push_back({"fields." + std::to_string(i), "validation_invalid_value", "Must be an object."});
                } else if (auto f = schema::FieldFromJson(fv.as_object()); !f) {
                    if (f.error().field == "name") {
                        errors.push_back(
                            {"fields." + std::to_string(i) + ".name", "validation_required", "Cannot be blank."}
                        );
                    } else {
                        errors.push_back(
                            {"fields." + std::to_string(i) + "." + f.error().field,
                             "validation_invalid_value",
                             Sentenize(f.error().message)}
                        );
                    }
                } else {
                    c.fields.push_back(std::move(*f));
                }
                ++i;
            }
        }
    }
    if (existing != nullptr && (body.if_contains("fields") == nullptr || view)) {
        c.fields = existing->fields;
    }
    if (auth) {
        EnsureAuthFields(c);
    }
    if (existing != nullptr && !view) {
        // Existing fields are matched by id: system fields keep their name and type.
        for (const auto& old : existing->fields) {
            const schema::Field* now_f = nullptr;
            for (const auto& f : c.fields) {
                if (f.id == old.id || (f.id.empty() && f.name == old.name)) {
                    now_f = &f;
                }
            }
            if (old.system && (now_f == nullptr || now_f->name != old.name || now_f->type != old.type)) {
                errors.push_back(
                    {"fields", "validation_system_field_change", "System fields cannot be removed or changed."}
                );
                break;
            }
        }
        for (auto& f : c.fields) {
            for (const auto& old : existing->fields) {
                if (f.id.empty() && f.name == old.name) {
                    f.id = old.id;  // a field given by name only keeps its identity
                }
                if (f.id == old.id) {
                    f.system = old.system;
                }
            }
        }
    }
    if (c.FindField("id") == nullptr && !view) {
        c.fields.insert(c.fields.begin(), schema::IdField());
    }
    std::set<std::string> names;
    std::set<std::string> ids;
    for (std::size_t i = 0; i < c.fields.size() && !view; ++i) {
        schema::Field& f = c.fields[i];
        std::string lower = f.name;
        for (char& ch : lower) {
            ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        }
        if (!names.insert(lower).second) {
            errors.push_back(
                {"fields." + std::to_string(i) + ".name", "validation_duplicated_field_name", "Duplicated field name."}
            );
        }
        if (f.id.empty()) {
            f.id = FieldIdFor(schema::FieldTypeName(f.type), f.name);
        }
        if (!ids.insert(f.id).second) {
            errors.push_back(
                {"fields." + std::to_string(i) + ".id", "validation_duplicated_field_id", "Duplicated field id."}
            );
        }
        FillDefaults(f);
        ValidateField(f, i, c, targets, errors);
    }
    bool bad_rule = false;
    auto rule_of = [&](std::string_view key, const std::optional<std::string>& current) {
        if (existing != nullptr && !body.contains(key)) {
            return current;
        }
        return RuleFromJson(body, key, bad_rule);
    };
    const std::optional<std::string> none;
    c.list_rule = rule_of("listRule", existing != nullptr ? existing->list_rule : none);
    c.view_rule = rule_of("viewRule", existing != nullptr ? existing->view_rule : none);
    c.create_rule = rule_of("createRule", existing != nullptr ? existing->create_rule : none);
    c.update_rule = rule_of("updateRule", existing != nullptr ? existing->update_rule : none);
    c.delete_rule = rule_of("deleteRule", existing != nullptr ? existing->delete_rule : none);
    if (bad_rule) {
        errors.push_back({"listRule", "validation_invalid_rule", "Rules must be strings or null."});
    }
    if (view) {
        const std::pair<const char*, const std::optional<std::string>*> writes[] = {
            {"createRule", &c.create_rule}, {"updateRule", &c.update_rule}, {"deleteRule", &c.delete_rule}};
        for (const auto& [key, rule] : writes) {
            if (*rule) {
                errors.push_back({key, "validation_nil", "Must be null: view collections are read-only."});
            }
        }
    }
    if (!errors.empty()) {
        out.message = failed;
        return out;
    }
    // Rules must compile against the new collection (with everything else in the catalog).
    std::vector<schema::Collection> all;
    for (const auto& other : snap.All()) {
        if (existing == nullptr || other.id != existing->id) {
            all.push_back(other);
        }
    }
    all.push_back(c);
    const schema::StaticCatalog with_new(std::move(all));
    const std::pair<const char*, const std::optional<std::string>*> rules[] = {
        {"listRule", &c.list_rule},
        {"viewRule", &c.view_rule},
        {"createRule", &c.create_rule},
        {"updateRule", &c.update_rule},
        {"deleteRule", &c.delete_rule},
    };
    for (const auto& [key, rule] : rules) {
        if (!*rule || (*rule)->empty() || view) {
            continue;
        }
        query::CompileOptions opt;
        opt.allow_hidden = true;
        opt.allow_request = true;
        query::Compiler compiler(*with_new.Find(c.id), with_new, opt);
        if (auto r = compiler.AddFilter(**rule); !r) {
            errors.push_back({key, "validation_invalid_rule", "Invalid rule: " + r.error().message + "."});
        }
    }
    json::array current_indexes;
    if (existing != nullptr && !body.contains("indexes")) {
        for (const auto& text : existing->indexes) {
            // Kept indexes follow a rename of their table.
            std::string t = text;
            const std::string from = "ON `" + existing->name + "`";
            if (const auto pos = t.find(from); pos != std::string::npos) {
                t.replace(pos, from.size(), "ON `" + c.name + "`");
            }
            current_indexes.emplace_back(t);
        }
    }
    const json::value* idx = body.if_contains("indexes");
    const json::value kept(current_indexes);
    if (idx == nullptr && existing != nullptr) {
        idx = &kept;
    }
    if (view && idx != nullptr && idx->is_array() && !idx->as_array().empty()) {
        errors.push_back({"indexes", "validation_indexes_not_supported", "View collections don't support indexes."});
    } else if (idx != nullptr && idx->is_array()) {
        std::set<std::string> index_names;
        std::size_t i = 0;
        for (const auto& iv : idx->as_array()) {
            const std::string key = "indexes." + std::to_string(i++);
            if (!iv.is_string()) {
                errors.push_back({key, "validation_invalid_index_expression", "Invalid CREATE INDEX expression."});
                continue;
            }
            auto def = ParseIndex(iv.as_string(), c);
            if (!def) {
                errors.push_back({key, "validation_invalid_index_expression", Sentenize(def.error().message)});
                continue;
            }
            if (!index_names.insert(def->name).second) {
                errors.push_back({key, "validation_duplicated_index_name", "Duplicated index name."});
                continue;
            }
            c.indexes.push_back(IndexText(*def, c.name));
        }
    }
    if (auth && errors.empty()) {
        EnsureAuthIndexes(c);
        ApplyAuthOptions(body, existing, c, errors);
        // authRule, manageRule and the MFA rule compile like the API rules.
        const auto* mfa = c.options.if_contains("mfa");
        const auto* mfa_rule = mfa != nullptr && mfa->is_object() ? mfa->as_object().if_contains("rule") : nullptr;
        const std::pair<std::string, const json::value*> auth_rules[] = {
            {"authRule", c.options.if_contains("authRule")},
            {"manageRule", c.options.if_contains("manageRule")},
            {"mfa.rule", mfa_rule}};
        std::vector<schema::Collection> all_now;
        for (const auto& other : snap.All()) {
            if (other.id != c.id) {
                all_now.push_back(other);
            }
        }
        all_now.push_back(c);
        const schema::StaticCatalog catalog_now(std::move(all_now));
        for (const auto& [key, v] : auth_rules) {
            if (v == nullptr || !v->is_string() || v->as_string().empty()) {
                continue;
            }
            query::CompileOptions opt;
            opt.allow_hidden = true;
            opt.allow_request = true;
            query::Compiler compiler(*catalog_now.Find(c.id), catalog_now, opt);
            if (auto r = compiler.AddFilter(std::string_view(v->as_string())); !r) {
                errors.push_back({key, "validation_invalid_rule", "Invalid rule: " + r.error().message + "."});
            }
        }
    }
    if (!errors.empty()) {
        out.message = failed;
        return out;
    }
    c.created = existing != nullptr ? existing->created : now;
    c.updated = now;
    out.collection = std::move(c);
    return out;
}

std::string ToStoredJson(const std::vector<schema::Field>& fields) {
    json::array a;
    for (const auto& f : fields) {
        a.emplace_back(schema::FieldToJson(f));
    }
    return json::serialize(a);
}

std::string ToStoredJson(const std::vector<std::string>& indexes) {
    json::array a;
    for (const auto& i : indexes) {
        a.emplace_back(i);
    }
    return json::serialize(a);
}

db::Value RuleValue(const std::optional<std::string>& r) {
    return r ? db::Value(*r) : db::Value(nullptr);
}

// Writes a collection's definition row (insert or replace).
Result<void> SaveDefinition(db::Executor& ex, const schema::Collection& c) {
    auto r = ex.Exec(
        "INSERT INTO _collections (id, system, type, name, fields, indexes, listRule, viewRule, createRule, "
        "updateRule, deleteRule, options, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET name = excluded.name, fields = excluded.fields, indexes = excluded.indexes, "
        "listRule = excluded.listRule, viewRule = excluded.viewRule, createRule = excluded.createRule, "
        "updateRule = excluded.updateRule, deleteRule = excluded.deleteRule, options = excluded.options, "
        "updated = excluded.updated",
        {c.id,
         static_cast<std::int64_t>(c.system ? 1 : 0),
         std::string(schema::CollectionTypeName(c.type)),
         c.name,
         ToStoredJson(c.fields),
         ToStoredJson(c.indexes),
         RuleValue(c.list_rule),
         RuleValue(c.view_rule),
         RuleValue(c.create_rule),
         RuleValue(c.update_rule),
         RuleValue(c.delete_rule),
         json::serialize(c.options),
         c.created,
         c.updated}
    );
    if (!r) {
        return r.error();
    }
    return Ok();
}

// Every schema change is recorded with the definition it produced, so that history can be replayed
// or exported (`basalt migrate`).
Result<void> RecordHistory(
    db::Executor& ex, std::string_view action, const schema::Collection& c, const std::string& now
) {
    auto r = ex.Exec(
        "INSERT INTO _schema_history (created, action, collection_id, collection_name, definition) VALUES (?, ?, ?, ?, "
        "?)",
        {now, std::string(action), c.id, c.name, json::serialize(schema::CollectionToJson(c))}
    );
    if (!r) {
        return r.error();
    }
    return Ok();
}

// A schema change whose write failed: a constraint conflict is the client's (400 with
// `conflict_message`), anything else keeps its code and message.
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
    if (now.type == FieldType::kRelation) {
        return "NULLIF(" + last + ", '')";
    }
    return "COALESCE(" + last + ", '')";
}

bool IsView(const schema::Collection& c) {
    return c.type == schema::CollectionType::kView;
}

}  // namespace

// One schema change as it is applied inside the writer's transaction (foreign keys off): the
// catalog as it becomes, DDL run as each step is planned, definitions and history written at the
// end. Views are dropped first and recreated last from their queries, with their fields derived
// again, since their tables depend on everything else.
class ChangeSet {
public:
    ChangeSet(db::Executor& ex, const Snapshot& before, std::string now)
        : ex_(ex),
          before_(before),
          all_(before.All()),
          now_(std::move(now)) {}

    // Collections an import is about to create: relations may point at them before they exist.
    void SetPending(std::vector<schema::Collection> pending) { pending_ = std::move(pending); }

    bool Begin(ChangeResult& out) {
        for (const auto& c : before_.All()) {
            if (IsView(c) && !Run({"DROP VIEW IF EXISTS " + query::QuoteIdent(c.name)}, out, "")) {
                return false;
            }
        }
        return true;
    }

    /// `allow_system`: the body's `system` flag is honoured (system migrations, never clients).
    bool Create(const json::object& body, ChangeResult& out, bool allow_system = false) {
        const schema::StaticCatalog working(all_);
        ChangeResult built = BuildCollection(body, working, Targets(), now_, nullptr, HasTableFn(), allow_system);
        if (!built.collection) {
            out = std::move(built);
            return false;
        }
        const schema::Collection& c = *built.collection;
        all_.push_back(c);
        if (!IsView(c)) {
            const schema::StaticCatalog with_new = Targets();
            std::vector<std::string> ddl{CreateTableSql(c, with_new)};
            for (const auto& text : c.indexes) {
                ddl.push_back(IndexSql(*ParseIndex(text, c), c.name));
            }
            if (!Run(ddl, out, "Failed to create collection.")) {
                if (out.message == "Failed to create collection.") {
                    out.errors.push_back(
                        {"name", "validation_collection_name_exists", "Collection name must be unique."}
                    );
                }
                return false;
            }
        }
        log_.push_back({"create", c.id, {}});
        out = std::move(built);
        return true;
    }

    bool Update(const schema::Collection& old, const json::object& body, ChangeResult& out) {
        ChangeResult built;
        {
            const schema::StaticCatalog working(all_);
            built = BuildCollection(body, working, Targets(), now_, &old, HasTableFn(), false);
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
        if (!IsView(c) && !AlterTable(old, c, built)) {
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

    bool Delete(const schema::Collection& c, ChangeResult& out) {
        if (c.system) {
            out.message = "System collections cannot be deleted.";
            return false;
        }
        std::vector<std::string> ddl;
        if (!IsView(c)) {
            ddl.push_back("DROP TABLE " + query::QuoteIdent(c.name));
        }
        if (!Run(ddl, out, "") || !Run({"DELETE FROM _collections WHERE id = ?"}, out, "", {c.id})) {
            return false;
        }
        log_.push_back({"delete", c.id, c});
        std::erase_if(all_, [&](const schema::Collection& other) { return other.id == c.id; });
        return true;
    }

    // Recreates the views, checks that every relation still has its collection, writes the changed
    // definitions and the history.
    bool Finish(ChangeResult& out) {
        for (std::size_t i = 0; i < all_.size(); ++i) {
            if (IsView(all_[i]) && !RecreateView(i, out)) {
                return false;
            }
        }
        const schema::StaticCatalog final_catalog(all_);
        for (const auto& c : all_) {
            for (const auto& f : c.fields) {
                if (!IsView(c) && f.type == FieldType::kRelation && final_catalog.Find(f.CollectionId()) == nullptr) {
                    out.message = "The relation " + c.name + "." + f.name + " points at a collection that is gone.";
                    return false;
                }
            }
        }
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
        if (out.collection) {
            if (const auto* c = final_catalog.Find(out.collection->id); c != nullptr) {
                out.collection = *c;  // a view's fields are known only now
            }
        }
        return true;
    }

    const schema::Collection* Find(std::string_view id_or_name) const {
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

    std::vector<schema::Collection> Take() { return std::move(all_); }

private:
    struct Entry {
        std::string action;
        std::string id;
        schema::Collection removed;  // deletes only
    };

    // Whether a table or view of that name (case-insensitively) exists, as this change has left
    // the database: basalt's own tables (`_sessions`, ...) cannot become collections.
    std::function<bool(std::string_view)> HasTableFn() const {
        return [this](std::string_view name) {
            auto rs = ex_.Query(
                "SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND name = ? COLLATE NOCASE LIMIT 1",
                {std::string(name)}
            );
            return !rs || !rs->rows.empty();  // when in doubt, refuse the name
        };
    }

    schema::StaticCatalog Targets() const {
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

    bool Run(
        const std::vector<std::string>& ddl,
        ChangeResult& out,
        const std::string& conflict_message,
        std::initializer_list<db::Value> params = {}
    ) {
        for (const auto& sql : ddl) {
            if (auto r = ex_.Exec(sql, params); !r) {
                out = WriteFailed(r.error(), conflict_message);
                return false;
            }
        }
        return true;
    }

    // The table follows a base collection's change: renamed, its columns renamed, dropped and added
    // in place; rebuilt (copied into a new table) when a column's constraint changes (a single
    // relation dropped, single <-> multiple values, a relation's delete behaviour).
    bool AlterTable(const schema::Collection& old, const schema::Collection& c, ChangeResult& built) {
        const std::string table = query::QuoteIdent(c.name);
        std::vector<std::string> ddl;
        if (c.name != old.name) {
            ddl.push_back("ALTER TABLE " + query::QuoteIdent(old.name) + " RENAME TO " + table);
        }
        for (const auto& text : old.indexes) {
            ddl.push_back("DROP INDEX IF EXISTS " + query::QuoteIdent(IndexName(text)));
        }
        bool rebuild = false;
        std::vector<std::pair<const schema::Field*, const schema::Field*>> pairs;  // now, before (or null)
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
                built.errors.push_back(
                    {"fields." + std::to_string(i), "validation_field_type_change", "Field type cannot be changed."}
                );
                continue;
            }
            if (f.type == FieldType::kRelation && f.CollectionId() != before->CollectionId()) {
                built.errors.push_back(
                    {"fields." + std::to_string(i) + ".collectionId",
                     "validation_field_relation_change",
                     "The relation collection cannot be changed."}
                );
                continue;
            }
            const bool single_relation = f.type == FieldType::kRelation && !f.IsMultiple();
            rebuild = rebuild || f.IsMultiple() != before->IsMultiple() ||
                      (single_relation && (f.BoolOption("cascadeDelete") != before->BoolOption("cascadeDelete") ||
                                           f.BoolOption("required") != before->BoolOption("required")));
        }
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
        const schema::StaticCatalog targets = Targets();
        if (rebuild) {
            schema::Collection next = c;
            next.name = "_basalt_rebuild";
            ddl.push_back(CreateTableSql(next, targets));
            std::string cols;
            std::string exprs;
            for (const auto& [now_f, before] : pairs) {
                if (before != nullptr) {
                    cols += (cols.empty() ? "" : ", ") + query::QuoteIdent(now_f->name);
                    exprs += (exprs.empty() ? "" : ", ") + CopyExpr(*now_f, *before);
                }
            }
            // Columns basalt keeps beside a system collection's fields (`_otps.attempts`) survive.
            auto extra = ex_.Query(
                "SELECT name, type, \"notnull\", dflt_value FROM pragma_table_info(?)", {std::string(old.name)}
            );
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

    // Creates the view of all_[i] again from its query and derives its fields; a view whose query
    // no longer works fails the change.
    bool RecreateView(std::size_t i, ChangeResult& out) {
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
        const std::string query = v.options.if_contains("viewQuery") != nullptr && v.options.at("viewQuery").is_string()
                                      ? std::string(v.options.at("viewQuery").as_string())
                                      : std::string();
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
        if (ToStoredJson(shape.fields) != ToStoredJson(v.fields)) {
            v.fields = std::move(shape.fields);
            if (!changed_now) {
                v.updated = now_;
                log_.push_back({"update", v.id, {}});
            }
        }
        if (!changed_now) {
            return true;
        }
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

    db::Executor& ex_;
    const Snapshot& before_;
    std::vector<schema::Collection> all_;
    std::vector<schema::Collection> pending_;
    std::string now_;
    std::vector<Entry> log_;
};

std::shared_ptr<const Snapshot> CollectionStore::Current() const {
    std::lock_guard lock(snapshot_mu_);
    return snapshot_;
}

namespace {

// Every definition, read with `read` (a reader connection, or the executor of a running write).
Result<std::vector<schema::Collection>> ReadDefinitions(
    const std::function<Result<db::ResultSet>(std::string_view)>& read
) {
    auto rs = read(
        "SELECT id, system, type, name, fields, indexes, listRule, viewRule, createRule, updateRule, deleteRule, "
        "options, created, updated FROM _collections ORDER BY rowid"
    );
    if (!rs) {
        return rs.error();
    }
    std::vector<schema::Collection> out;
    for (const auto& row : rs->rows) {
        json::object o;
        o["id"] = db::AsString(row[0]);
        o["system"] = db::AsInt(row[1]) != 0;
        o["type"] = db::AsString(row[2]);
        o["name"] = db::AsString(row[3]);
        boost::system::error_code ec;
        o["fields"] = json::parse(db::AsString(row[4], "[]"), ec);
        o["indexes"] = ec ? json::value(json::array{}) : json::parse(db::AsString(row[5], "[]"), ec);
        const char* rules[] = {"listRule", "viewRule", "createRule", "updateRule", "deleteRule"};
        for (std::size_t i = 0; i < 5; ++i) {
            const auto& v = row[6 + i];
            o[rules[i]] = db::IsNull(v) ? json::value(nullptr) : json::value(db::AsString(v));
        }
        o["options"] = ec ? json::value(json::object{}) : json::parse(db::AsString(row[11], "{}"), ec);
        o["created"] = db::AsString(row[12]);
        o["updated"] = db::AsString(row[13]);
        if (ec) {
            return MakeError(ErrorCode::kInternal, "collection " + db::AsString(row[3]) + " has a corrupt definition");
        }
        auto c = schema::CollectionFromJson(o);
        if (!c) {
            return MakeError(ErrorCode::kInternal, "collection " + db::AsString(row[3]) + ": " + c.error().message);
        }
        out.push_back(std::move(*c));
    }
    return out;
}

}  // namespace

namespace {

// `_collections` as the collections list's filter and sort see it: only the columns PocketBase's
// collections API resolves (its SimpleFieldResolver over id, created, updated, name, system, type).
const schema::StaticCatalog& CollectionsTable() {
    static const schema::StaticCatalog catalog = [] {
        schema::Collection c;
        c.id = "_collections";
        c.name = "_collections";
        c.list_rule = "";
        auto add = [&c](FieldType type, std::string name) {
            schema::Field f;
            f.type = type;
            f.id = name;
            f.name = std::move(name);
            c.fields.push_back(std::move(f));
        };
        add(FieldType::kText, "id");
        add(FieldType::kAutodate, "created");
        add(FieldType::kAutodate, "updated");
        add(FieldType::kText, "name");
        add(FieldType::kBool, "system");
        add(FieldType::kText, "type");
        return schema::StaticCatalog({c});
    }();
    return catalog;
}

}  // namespace

Result<CollectionPage> CollectionStore::List(const CollectionQuery& q) const {
    const schema::StaticCatalog& catalog = CollectionsTable();
    query::CompileOptions options;
    options.now = clock_.Now();
    query::Compiler compiler(*catalog.Find("_collections"), catalog, options);
    if (auto r = compiler.AddFilter(q.filter); !r) {
        return r.error();
    }
    if (auto r = compiler.SetSort(q.sort); !r) {
        return r.error();
    }
    const query::CompiledFilter f = compiler.Build();
    std::string from = " FROM \"_collections\"";
    for (const auto& j : f.joins) {
        from += " " + j;  // none: the table has no relations
    }
    std::vector<db::Value> params = f.join_params;
    if (!f.where.empty()) {
        from += " WHERE " + f.where;
        params.insert(params.end(), f.params.begin(), f.params.end());
    }
    std::string page_sql = "SELECT \"_collections\".\"id\"" + from + " ORDER BY ";
    std::vector<db::Value> page_params = params;
    if (f.order_by.empty()) {
        page_sql += "\"_collections\".\"_rowid_\"";
    } else {
        page_sql += f.order_by;
        page_params.insert(page_params.end(), f.order_params.begin(), f.order_params.end());
    }
    page_sql += " LIMIT ? OFFSET ?";
    page_params.emplace_back(q.per_page);
    page_params.emplace_back((q.page - 1) * q.per_page);
    std::vector<std::string> ids;
    CollectionPage out;
    auto r = db_.ReadTx([&](db::Executor& ex) -> Result<void> {
        auto rs = ex.Query(page_sql, page_params);
        if (!rs) {
            return rs.error();
        }
        for (const auto& row : rs->rows) {
            ids.push_back(db::AsString(row[0]));
        }
        if (!q.skip_total) {
            auto count = ex.Query("SELECT COUNT(*)" + from, params);
            if (!count) {
                return count.error();
            }
            out.total_items = db::AsInt(count->rows[0][0]);
        }
        return Ok();
    });
    if (!r) {
        return r.error();
    }
    // The definitions as this process serves them (the table and the snapshot agree but for a
    // change committing this very moment).
    const auto snap = Current();
    for (const auto& id : ids) {
        if (const schema::Collection* c = snap->Find(id); c != nullptr && c->id == id) {
            out.items.push_back(*c);
        }
    }
    return out;
}

Result<std::vector<schema::Collection>> CollectionStore::ReadAll() const {
    return ReadDefinitions([this](std::string_view sql) { return db_.Read(sql); });
}

Result<void> CreateCollectionIn(
    db::Executor& ex, const boost::json::object& body, const std::string& now, ChangeResult& out
) {
    auto all = ReadDefinitions([&ex](std::string_view sql) { return ex.Query(sql); });
    if (!all) {
        return all.error();
    }
    const Snapshot snap(std::move(*all));
    ChangeSet cs(ex, snap, now);
    if (!cs.Begin(out) || !cs.Create(body, out, /*allow_system=*/true) || !cs.Finish(out)) {
        std::string why = out.message;
        for (const auto& e : out.errors) {
            why += " " + e.field + ": " + e.message;
        }
        return MakeError(ErrorCode::kInvalidArgument, why);
    }
    return Ok();
}

Result<void> CollectionStore::Load() {
    std::lock_guard change(change_mu_);  // not in the middle of a schema change of our own
    auto all = ReadAll();
    if (!all) {
        return all.error();
    }
    std::lock_guard lock(snapshot_mu_);
    snapshot_ = std::make_shared<Snapshot>(std::move(*all));
    return Ok();
}

ChangeResult CollectionStore::Apply(const std::function<bool(ChangeSet&, ChangeResult&)>& plan) {
    std::lock_guard change(change_mu_);
    const auto snap = Current();
    ChangeResult out;
    std::vector<schema::Collection> after;
    bool planned = false;
    auto written = db_.WriteSchema([&](db::Executor& ex) -> Result<void> {
        out = ChangeResult{};
        ChangeSet cs(ex, *snap, FormatDateTime(clock_.Now()));
        planned = cs.Begin(out) && plan(cs, out) && cs.Finish(out);
        if (!planned) {
            return MakeError(ErrorCode::kInvalidArgument, "schema change refused");
        }
        after = cs.Take();
        return Ok();
    });
    if (!written) {
        if (planned) {
            out = WriteFailed(written.error(), "The existing records do not fit the new definition.");
            out.message =
                Sentenize(written.error().code == ErrorCode::kConflict ? written.error().message : out.message);
        }
        out.collection.reset();
        if (out.message.empty() && out.errors.empty()) {
            out.message = "Failed to change the collections.";
        }
        return out;
    }
    BumpDataVersion();
    {
        std::lock_guard lock(snapshot_mu_);
        snapshot_ = std::make_shared<Snapshot>(std::move(after));
    }
    return out;
}

ChangeResult CollectionStore::Create(const boost::json::object& body) {
    return Apply([&](ChangeSet& cs, ChangeResult& out) { return cs.Create(body, out); });
}

ChangeResult CollectionStore::Update(std::string_view id_or_name, const boost::json::object& body) {
    return Apply([&](ChangeSet& cs, ChangeResult& out) {
        const schema::Collection* old = cs.Find(id_or_name);
        if (old == nullptr) {
            out.code = ErrorCode::kNotFound;
            out.message = "The requested resource wasn't found.";
            return false;
        }
        const schema::Collection copy = *old;
        return cs.Update(copy, body, out);
    });
}

Result<void> CollectionStore::Delete(std::string_view id_or_name) {
    ChangeResult r = Apply([&](ChangeSet& cs, ChangeResult& out) {
        const schema::Collection* c = cs.Find(id_or_name);
        if (c == nullptr) {
            out.code = ErrorCode::kNotFound;
            out.message = "collection not found";
            return false;
        }
        const auto snap = Current();
        for (const auto& other : snap->All()) {
            for (const auto& f : other.fields) {
                if (other.id != c->id && !IsView(other) && f.type == FieldType::kRelation &&
                    f.CollectionId() == c->id) {
                    out.message = "The collection is referenced by " + other.name + "." + f.name +
                                  "; remove that relation first.";
                    return false;
                }
            }
        }
        const schema::Collection copy = *c;
        return cs.Delete(copy, out);
    });
    if (!r.message.empty() || !r.errors.empty()) {
        return MakeError(r.code, r.message.empty() ? "Failed to delete collection." : r.message);
    }
    return Ok();
}

ChangeResult CollectionStore::Import(const boost::json::array& collections, bool delete_missing) {
    ChangeResult failed;
    failed.message = "Failed to import collections.";
    if (collections.empty()) {
        failed.errors.push_back({"collections", "validation_required", "Cannot be blank."});
        return failed;
    }
    const auto snap = Current();
    // Each entry becomes the body of a create or an update. Entries are matched to existing
    // collections by id, then by name; new ones get their id now so relations can point at them.
    struct Item {
        json::object body;
        std::optional<std::string> existing_id;
    };
    std::vector<Item> items;
    std::vector<schema::Collection> pending;
    std::set<std::string> imported_ids;
    for (std::size_t i = 0; i < collections.size(); ++i) {
        const auto& v = collections[i];
        if (!v.is_object()) {
            failed.errors.push_back(
                {"collections",
                 "validation_collections_import_failure",
                 "Entry " + std::to_string(i) + " is not an object."}
            );
            return failed;
        }
        Item item{v.as_object(), std::nullopt};
        const auto* id = item.body.if_contains("id");
        const auto* name = item.body.if_contains("name");
        const std::string ident = id != nullptr && id->is_string() && !id->as_string().empty()
                                      ? std::string(id->as_string())
                                  : name != nullptr && name->is_string() ? std::string(name->as_string())
                                                                         : std::string();
        const schema::Collection* existing = ident.empty() ? nullptr : snap->Find(ident);
        if (existing != nullptr) {
            item.existing_id = existing->id;
            item.body.erase("id");
            auto* fields = item.body.if_contains("fields");
            if (fields == nullptr && delete_missing) {
                item.body["fields"] = json::array{};
                fields = item.body.if_contains("fields");
            }
            if (fields != nullptr && fields->is_array()) {
                // Fields the import leaves out are kept (system fields always); a field given by
                // name with the same type keeps its column.
                auto& arr = fields->as_array();
                for (const auto& f : existing->fields) {
                    bool present = false;
                    for (auto& fv : arr) {
                        if (!fv.is_object()) {
                            continue;
                        }
                        auto& fo = fv.as_object();
                        const auto* fid = fo.if_contains("id");
                        const auto* fname = fo.if_contains("name");
                        const auto* ftype = fo.if_contains("type");
                        if (fid != nullptr && fid->is_string() && fid->as_string() == f.id) {
                            present = true;
                        } else if ((fid == nullptr || !fid->is_string() || fid->as_string().empty() ||
                                    existing->FindField(fname != nullptr && fname->is_string() ? std::string_view(fname->as_string()) : "") == &f) &&
                                   fname != nullptr && fname->is_string() && fname->as_string() == f.name &&
                                   ftype != nullptr && ftype->is_string() &&
                                   ftype->as_string() == schema::FieldTypeName(f.type)) {
                            fo["id"] = f.id;
                            present = true;
                        }
                    }
                    if (!present && (f.system || !delete_missing)) {
                        arr.emplace_back(schema::FieldToJson(f));
                    }
                }
            }
        } else {
            const std::string type = item.body.contains("type") && item.body.at("type").is_string()
                                         ? std::string(item.body.at("type").as_string())
                                         : "base";
            if (id == nullptr || !id->is_string() || id->as_string().empty()) {
                item.body["id"] = CollectionIdFor(type, ident);
            }
            json::object raw = item.body;
            raw.erase("fields");  // only the name and id are needed to point relations at it
            if (auto c = schema::CollectionFromJson(raw); c) {
                pending.push_back(std::move(*c));
            }
        }
        imported_ids.insert(item.existing_id ? *item.existing_id : std::string(item.body.at("id").as_string()));
        items.push_back(std::move(item));
    }
    // Views last: their queries read the other collections.
    std::stable_sort(items.begin(), items.end(), [](const Item& a, const Item& b) {
        auto is_view = [](const Item& i) {
            const auto* t = i.body.if_contains("type");
            return t != nullptr && t->is_string() && t->as_string() == "view";
        };
        return !is_view(a) && is_view(b);
    });
    ChangeResult result = Apply([&](ChangeSet& cs, ChangeResult& out) {
        cs.SetPending(pending);
        if (delete_missing) {
            for (const auto& c : snap->All()) {
                if (!c.system && !imported_ids.contains(c.id) && !cs.Delete(c, out)) {
                    return false;
                }
            }
        }
        for (const auto& item : items) {
            ChangeResult one;
            const schema::Collection* existing = item.existing_id ? cs.Find(*item.existing_id) : nullptr;
            const bool ok = existing != nullptr ? cs.Update(schema::Collection(*existing), item.body, one)
                                                : cs.Create(item.body, one);
            if (!ok) {
                const auto* name = item.body.if_contains("name");
                std::string detail = one.message;
                for (const auto& e : one.errors) {
                    detail += " " + e.field + ": " + e.message;
                }
                out.message = "Failed to import collections.";
                out.errors.push_back(
                    {"collections",
                     "validation_collections_import_failure",
                     "Data validations failed for collection \"" +
                         (name != nullptr && name->is_string() ? std::string(name->as_string()) : std::string()) +
                         "\": " + detail}
                );
                return false;
            }
        }
        return true;
    });
    if (!result.errors.empty() || !result.message.empty()) {
        if (result.errors.empty()) {
            result.errors.push_back({"collections", "validation_collections_import_failure", result.message});
            result.message = "Failed to import collections.";
        }
        return result;
    }
    return result;
}

Result<void> CollectionStore::Truncate(std::string_view id_or_name) {
    const auto snap = Current();
    const schema::Collection* c = snap->Find(id_or_name);
    if (c == nullptr) {
        return MakeError(ErrorCode::kNotFound, "collection not found");
    }
    if (IsView(*c)) {
        return MakeError(
            ErrorCode::kInvalidArgument,
            "View collections cannot be truncated since they don't store their own records."
        );
    }
    const std::string sql = "DELETE FROM " + query::QuoteIdent(c->name);
    BumpDataVersion();
    auto r = db_.Write([sql](db::Executor& ex) -> Result<void> {
        auto deleted = ex.Exec(sql);
        if (!deleted) {
            return deleted.error();
        }
        return Ok();
    });
    BumpDataVersion();
    return r;
}

}  // namespace basalt::collections
