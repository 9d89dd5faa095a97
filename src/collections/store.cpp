// SPDX-License-Identifier: MIT
#include "collections/store.hpp"

#include <cctype>
#include <set>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "collections/ddl.hpp"
#include "core/ids.hpp"
#include "core/text.hpp"
#include "query/compiler.hpp"

namespace basalt::collections {

namespace {

namespace json = boost::json;
using schema::FieldType;

Result<void> ExecAll(db::Executor& ex, const std::vector<std::string>& statements) {
    for (const auto& sql : statements) {
        auto r = ex.Exec(sql);
        if (!r) {
            return r.error();
        }
    }
    return Ok();
}

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

const std::set<std::string, std::less<>> kReservedFieldNames{"expand", "collectionId", "collectionName"};

// Validates `f` (at index i) in the context of the collection being built.
void ValidateField(
    schema::Field& f,
    std::size_t i,
    const schema::Collection& self,
    const schema::Catalog& catalog,
    std::vector<FieldError>& errors
) {
    const std::string at = "fields." + std::to_string(i) + ".";
    if (f.system) {
        return;  // defined by basalt itself (auth fields, id)
    }
    if (!IsWord(f.name)) {
        errors.push_back({at + "name", "validation_invalid_name", "Must contain only letters, digits and _."});
        return;
    }
    if (kReservedFieldNames.contains(f.name)) {
        errors.push_back({at + "name", "validation_field_name_reserved", "The name is reserved."});
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
        const schema::Collection* t = to_self ? &self : catalog.Find(target);
        if (t == nullptr) {
            errors.push_back(
                {at + "collectionId", "validation_missing_collection", "The related collection is missing."}
            );
        } else {
            f.options["collectionId"] = t->id;  // stored by id, even when given by name
        }
    }
}

// Builds and validates a new collection from the request body.
// Builds and validates a collection from the request body: a new one, or (`existing` set) the next
// version of an existing one, where keys absent from the body keep their current values.
ChangeResult BuildCollection(
    const json::object& body, const Snapshot& snap, const std::string& now, const schema::Collection* existing
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
    if (existing != nullptr && existing->system && c.name != existing->name) {
        errors.push_back({"name", "validation_system_collection", "System collections cannot be renamed."});
    } else if (existing != nullptr && c.name == existing->name) {
        // unchanged
    } else if (c.name.empty()) {
        errors.push_back({"name", "validation_required", "Cannot be blank."});
    } else if (!IsWord(c.name)) {
        errors.push_back({"name", "validation_invalid_name", "Must contain only letters, digits and _."});
    } else if (c.name.front() == '_' || c.name.rfind("sqlite_", 0) == 0) {
        errors.push_back({"name", "validation_invalid_name", "Names starting with _ or sqlite_ are reserved."});
    } else if (same_name != nullptr && (existing == nullptr || same_name->id != existing->id)) {
        errors.push_back(
            {"name", "validation_collection_name_exists", "Collection name must be unique (case insensitive)."}
        );
    }
    const auto* type = body.if_contains("type");
    const std::string type_name = type != nullptr && type->is_string() ? std::string(type->as_string()) : "base";
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
    } else if (*t != schema::CollectionType::kBase) {
        errors.push_back({"type", "validation_unsupported", "Only base collections can be created so far."});
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
    if (const auto* fields = body.if_contains("fields"); fields != nullptr) {
        if (!fields->is_array()) {
            errors.push_back({"fields", "validation_invalid_value", "Must be an array of fields."});
        } else {
            std::size_t i = 0;
            for (const auto& fv : fields->as_array()) {
                if (!fv.is_object()) {
                    errors.push_back({"fields." + std::to_string(i), "validation_invalid_value", "Must be an object."});
                } else if (auto f = schema::FieldFromJson(fv.as_object()); !f) {
                    errors.push_back(
                        {"fields." + std::to_string(i) + "." + f.error().field,
                         "validation_invalid_value",
                         Sentenize(f.error().message)}
                    );
                } else {
                    c.fields.push_back(std::move(*f));
                }
                ++i;
            }
        }
    }
    if (existing != nullptr && body.if_contains("fields") == nullptr) {
        c.fields = existing->fields;
    }
    if (existing != nullptr) {
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
    if (c.FindField("id") == nullptr) {
        c.fields.insert(c.fields.begin(), schema::IdField());
    }
    std::set<std::string> names;
    std::set<std::string> ids;
    for (std::size_t i = 0; i < c.fields.size(); ++i) {
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
        ValidateField(f, i, c, snap, errors);
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
        if (!*rule || (*rule)->empty()) {
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
    if (idx != nullptr && idx->is_array()) {
        std::set<std::string> index_names;
        std::size_t i = 0;
        for (const auto& iv : idx->as_array()) {
            const std::string key = "indexes." + std::to_string(i++);
            if (!iv.is_string()) {
                errors.push_back({key, "validation_invalid_index", "Must be a string."});
                continue;
            }
            auto def = ParseIndex(iv.as_string(), c);
            if (!def) {
                errors.push_back({key, "validation_invalid_index", Sentenize(def.error().message)});
                continue;
            }
            if (!index_names.insert(def->name).second) {
                errors.push_back({key, "validation_duplicated_index_name", "Duplicated index name."});
                continue;
            }
            c.indexes.push_back(IndexText(*def, c.name));
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

}  // namespace

std::shared_ptr<const Snapshot> CollectionStore::Current() const {
    std::lock_guard lock(snapshot_mu_);
    return snapshot_;
}

Result<std::vector<schema::Collection>> CollectionStore::ReadAll() const {
    auto rs = db_.Read(
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

Result<void> CollectionStore::Load() {
    auto all = ReadAll();
    if (!all) {
        return all.error();
    }
    std::lock_guard lock(snapshot_mu_);
    snapshot_ = std::make_shared<Snapshot>(std::move(*all));
    return Ok();
}

ChangeResult CollectionStore::Create(const boost::json::object& body) {
    std::lock_guard change(change_mu_);
    const auto snap = Current();
    ChangeResult built = BuildCollection(body, *snap, FormatDateTime(clock_.Now()), nullptr);
    if (!built.collection) {
        return built;
    }
    const schema::Collection& c = *built.collection;
    std::vector<schema::Collection> all = snap->All();
    all.push_back(c);
    const schema::StaticCatalog with_new(all);
    std::vector<std::string> ddl{CreateTableSql(c, with_new)};
    for (const auto& text : c.indexes) {
        auto def = ParseIndex(text, c);
        ddl.push_back(IndexSql(*def, c.name));
    }
    auto written = db_.Write([&](db::Executor& ex) -> Result<void> {
        if (auto r = ExecAll(ex, ddl); !r) {
            return r;
        }
        if (auto r = SaveDefinition(ex, c); !r) {
            return r;
        }
        return RecordHistory(ex, "create", c, c.created);
    });
    if (!written) {
        ChangeResult failed = WriteFailed(written.error(), "Failed to create collection.");
        if (written.error().code == ErrorCode::kConflict) {
            failed.errors.push_back({"name", "validation_collection_name_exists", "Collection name must be unique."});
        }
        return failed;
    }
    {
        std::lock_guard lock(snapshot_mu_);
        snapshot_ = std::make_shared<Snapshot>(std::move(all));
    }
    return built;
}

ChangeResult CollectionStore::Update(std::string_view id_or_name, const boost::json::object& body) {
    std::lock_guard change(change_mu_);
    const auto snap = Current();
    const schema::Collection* old = snap->Find(id_or_name);
    if (old == nullptr) {
        ChangeResult missing;
        missing.code = ErrorCode::kNotFound;
        missing.message = "The requested resource wasn't found.";
        return missing;
    }
    ChangeResult built = BuildCollection(body, *snap, FormatDateTime(clock_.Now()), old);
    if (!built.collection) {
        return built;
    }
    const schema::Collection& c = *built.collection;
    std::vector<schema::Collection> all;
    for (const auto& other : snap->All()) {
        all.push_back(other.id == c.id ? c : other);
    }
    const schema::StaticCatalog with_new(all);

    // The table follows: rename, drop indexes, columns (rename, drop, add), indexes again.
    std::vector<std::string> ddl;
    const std::string table = query::QuoteIdent(c.name);
    if (c.name != old->name) {
        ddl.push_back("ALTER TABLE " + query::QuoteIdent(old->name) + " RENAME TO " + table);
    }
    for (const auto& text : old->indexes) {
        ddl.push_back("DROP INDEX IF EXISTS " + query::QuoteIdent(IndexName(text)));
    }
    for (std::size_t i = 0; i < c.fields.size(); ++i) {
        const schema::Field& f = c.fields[i];
        const schema::Field* before = nullptr;
        for (const auto& o : old->fields) {
            if (o.id == f.id) {
                before = &o;
            }
        }
        if (before == nullptr) {
            continue;
        }
        const bool relation_changed = f.type == FieldType::kRelation &&
                                      (f.CollectionId() != before->CollectionId() ||
                                       f.BoolOption("cascadeDelete") != before->BoolOption("cascadeDelete") ||
                                       (!f.IsMultiple() && f.BoolOption("required") != before->BoolOption("required")));
        if (f.type != before->type || f.IsMultiple() != before->IsMultiple() || relation_changed) {
            built.errors.push_back(
                {"fields." + std::to_string(i) + ".type",
                 "validation_field_type_change",
                 "Changing a field's type, single/multiple values or relation target and delete "
                 "behaviour is not supported yet; add a new field instead."}
            );
            continue;
        }
        if (f.name != before->name) {
            ddl.push_back(
                "ALTER TABLE " + table + " RENAME COLUMN " + query::QuoteIdent(before->name) + " TO " +
                query::QuoteIdent(f.name)
            );
        }
    }
    for (const auto& o : old->fields) {
        bool kept = false;
        for (const auto& f : c.fields) {
            kept = kept || f.id == o.id;
        }
        if (kept) {
            continue;
        }
        if (o.type == FieldType::kRelation && !o.IsMultiple()) {
            built.errors.push_back(
                {"fields",
                 "validation_field_drop_unsupported",
                 "Removing a single relation field (" + o.name + ") is not supported yet."}
            );
            continue;
        }
        ddl.push_back("ALTER TABLE " + table + " DROP COLUMN " + query::QuoteIdent(o.name));
    }
    for (const auto& f : c.fields) {
        bool existed = false;
        for (const auto& o : old->fields) {
            existed = existed || o.id == f.id;
        }
        if (!existed) {
            ddl.push_back("ALTER TABLE " + table + " ADD COLUMN " + ColumnSql(f, with_new));
        }
    }
    for (const auto& text : c.indexes) {
        auto def = ParseIndex(text, c);
        ddl.push_back(IndexSql(*def, c.name));
    }
    if (!built.errors.empty()) {
        built.collection.reset();
        built.message = "Failed to update collection.";
        return built;
    }
    auto written = db_.Write([&](db::Executor& ex) -> Result<void> {
        if (auto r = ExecAll(ex, ddl); !r) {
            return r;
        }
        if (auto r = SaveDefinition(ex, c); !r) {
            return r;
        }
        return RecordHistory(ex, "update", c, c.updated);
    });
    if (!written) {
        return WriteFailed(
            written.error(), "Failed to update collection: the existing records do not fit the new definition."
        );
    }
    BumpDataVersion();
    {
        std::lock_guard lock(snapshot_mu_);
        snapshot_ = std::make_shared<Snapshot>(std::move(all));
    }
    return built;
}

Result<void> CollectionStore::Delete(std::string_view id_or_name) {
    std::lock_guard change(change_mu_);
    const auto snap = Current();
    const schema::Collection* c = snap->Find(id_or_name);
    if (c == nullptr) {
        return MakeError(ErrorCode::kNotFound, "collection not found");
    }
    if (c->system) {
        return MakeError(ErrorCode::kInvalidArgument, "System collections cannot be deleted.");
    }
    for (const auto& other : snap->All()) {
        if (other.id == c->id) {
            continue;
        }
        for (const auto& f : other.fields) {
            if (f.type == FieldType::kRelation && f.CollectionId() == c->id) {
                return MakeError(
                    ErrorCode::kInvalidArgument,
                    "The collection is referenced by " + other.name + "." + f.name + "; remove that relation first."
                );
            }
        }
    }
    const std::string id = c->id;
    const std::string drop = "DROP TABLE " + query::QuoteIdent(c->name);
    const schema::Collection removed = *c;
    const std::string now = FormatDateTime(clock_.Now());
    auto written = db_.Write([&](db::Executor& ex) -> Result<void> {
        if (auto r = ex.Exec(drop); !r) {
            return r.error();
        }
        if (auto r = ex.Exec("DELETE FROM _collections WHERE id = ?", {id}); !r) {
            return r.error();
        }
        return RecordHistory(ex, "delete", removed, now);
    });
    if (!written) {
        return written.error();
    }
    BumpDataVersion();
    std::vector<schema::Collection> rest;
    for (const auto& other : snap->All()) {
        if (other.id != id) {
            rest.push_back(other);
        }
    }
    std::lock_guard lock(snapshot_mu_);
    snapshot_ = std::make_shared<Snapshot>(std::move(rest));
    return Ok();
}

Result<void> CollectionStore::Truncate(std::string_view id_or_name) {
    const auto snap = Current();
    const schema::Collection* c = snap->Find(id_or_name);
    if (c == nullptr) {
        return MakeError(ErrorCode::kNotFound, "collection not found");
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
