// SPDX-License-Identifier: MIT
#include "collections/validation.hpp"

#include <cctype>
#include <set>
#include <span>

#include <boost/json/array.hpp>

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

using RuleRef = std::pair<const char*, const std::optional<std::string>*>;

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

json::value DefaultValue(schema::OptionDefault::Kind kind) {
    using K = schema::OptionDefault::Kind;
    switch (kind) {
        case K::kNull:
            break;
        case K::kFalse:
            return false;
        case K::kTrue:
            return true;
        case K::kZero:
            return 0;
        case K::kOne:
            return 1;
        case K::kEmptyText:
            return "";
        case K::kEmptyList:
            return json::array{};
    }
    return nullptr;
}

// Fills the kind's default options so the JSON always has them, as PocketBase's does (in its order:
// `required` first, unless the kind has none).
void FillDefaults(schema::Field& f) {
    json::object options = f.OptionsJson();
    auto def = [&options](std::string_view k, json::value v) {
        if (!options.contains(k)) {
            options[k] = std::move(v);
        }
    };
    def("required", false);
    if (!f.Kind().has_required) {
        options.erase("required");
    }
    for (const auto& d : f.Kind().defaults) {
        def(d.key, DefaultValue(d.value));
    }
    f.SetOptions(std::move(options));
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

std::string FieldKey(std::size_t i, std::string_view what = {}) {
    std::string key = "fields." + std::to_string(i);
    if (!what.empty()) {
        key += ".";
        key += what;
    }
    return key;
}

// A field's name, in PocketBase's order: length, pattern, excluded names, `_via_`; then the auth
// form's names. False when the checks after it would only repeat the problem.
bool ValidateFieldName(
    const schema::Field& f, const std::string& at, const schema::Collection& self, std::vector<FieldError>& errors
) {
    if (f.name.size() > 100) {
        errors.push_back(LengthOutOfRange(at + "name", 1, 100));
        return false;
    }
    if (!IsWord(f.name)) {
        errors.push_back({at + "name", "validation_match_invalid", "Must be in a valid format."});
        return false;
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
    return true;
}

// A relation's target must exist (itself, the catalog, or a collection the import creates); it is
// stored by id, even when given by name.
void ResolveRelationTarget(
    schema::Field& f,
    const std::string& at,
    const schema::Collection& self,
    const schema::Catalog& targets,
    std::vector<FieldError>& errors
) {
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
        f.SetOption("collectionId", boost::json::string(t->id));
    }
}

// Validates `f` (at index i) in the context of the collection being built.
void ValidateField(
    schema::Field& f,
    std::size_t i,
    const schema::Collection& self,
    const schema::Catalog& targets,
    std::vector<FieldError>& errors
) {
    const std::string at = FieldKey(i) + ".";
    if (f.system) {
        return;  // defined by basalt itself (auth fields, id)
    }
    if (!ValidateFieldName(f, at, self, errors)) {
        return;
    }
    if (!f.Kind().definable) {
        errors.push_back({at + "type", "validation_field_type_unsupported", "This field type is not supported yet."});
        return;
    }
    if (f.name == "id" && (f.type != FieldType::kText || !f.Options().primary_key)) {
        errors.push_back({at + "name", "validation_invalid_id_field", "The id field must be a primary key text field."}
        );
    }
    if (f.Kind().validate_options != nullptr) {
        f.Kind().validate_options(f, at, errors);
    }
    if (f.type == FieldType::kRelation) {
        ResolveRelationTarget(f, at, self, targets, errors);
    }
}

// Compiles each non-empty rule of `rules` against `self` in `catalog`; a failure is a field error
// under the rule's key.
void CompileRules(
    const schema::Collection& self,
    const schema::Catalog& catalog,
    std::span<const std::pair<std::string, std::string_view>> rules,
    std::vector<FieldError>& errors
) {
    for (const auto& [key, rule] : rules) {
        if (rule.empty()) {
            continue;
        }
        query::CompileOptions opt;
        opt.allow_hidden = true;
        opt.allow_request = true;
        query::Compiler compiler(*catalog.Find(self.id), catalog, opt);
        if (auto r = compiler.AddFilter(rule); !r) {
            errors.push_back({key, "validation_invalid_rule", "Invalid rule: " + r.error().message + "."});
        }
    }
}

// The catalog with `c` in place of its current version (or added).
schema::StaticCatalog CatalogWith(const Snapshot& snap, const schema::Collection& c) {
    std::vector<schema::Collection> all;
    for (const auto& other : snap.All()) {
        if (other.id != c.id) {
            all.push_back(other);
        }
    }
    all.push_back(c);
    return schema::StaticCatalog(std::move(all));
}

// The steps of BuildCollection, in PocketBase's order; each appends to `errors_`.
class CollectionBuilder {
public:
    CollectionBuilder(const json::object& body, const BuildContext& ctx)
        : body_(body),
          ctx_(ctx),
          existing_(ctx.existing) {}

    ChangeResult Build() {
        ChangeResult out;
        CheckName();
        ResolveType();
        if (IsView()) {
            CheckViewQuery();
        }
        ResolveId();
        if (!IsView()) {
            ParseFields();
        }
        MergeFields();
        if (!IsView()) {
            CheckFields();
        }
        ParseRules();
        if (errors_.empty()) {
            CompileApiRules();
            ParseIndexes();
        }
        if (c_.type == schema::CollectionType::kAuth && errors_.empty()) {
            ApplyAuth();
        }
        if (!errors_.empty()) {
            out.errors = std::move(errors_);
            out.message = existing_ != nullptr ? "Failed to update collection." : "Failed to create collection.";
            return out;
        }
        c_.created = existing_ != nullptr ? existing_->created : ctx_.now;
        c_.updated = ctx_.now;
        out.collection = std::move(c_);
        return out;
    }

private:
    bool IsView() const { return c_.type == schema::CollectionType::kView; }

    void AddError(std::string key, std::string code, std::string message) {
        errors_.push_back({std::move(key), std::move(code), std::move(message)});
    }

    // PocketBase's order of checks: required, length, `_via_`, pattern, a system collection's name,
    // unique among collections, not an internal table of its own (basalt's `_sessions`, ...).
    void CheckName() {
        const auto* name = body_.if_contains("name");
        c_.name = name != nullptr && name->is_string() ? std::string(name->as_string()) : "";
        if (existing_ != nullptr && name == nullptr) {
            c_.name = existing_->name;
        }
        const schema::Collection* same_name = c_.name.empty() ? nullptr : ctx_.snap.Find(c_.name);
        if (existing_ != nullptr && c_.name == existing_->name) {
            return;  // unchanged
        }
        if (c_.name.empty()) {
            AddError("name", "validation_required", "Cannot be blank.");
        } else if (c_.name.size() > 255) {
            errors_.push_back(LengthOutOfRange("name", 1, 255));
        } else if (ContainsVia(c_.name)) {
            AddError("name", "validation_found_via", "The value cannot contain \"_via_\".");
        } else if (!IsWord(c_.name)) {
            AddError("name", "validation_match_invalid", "Must be in a valid format.");
        } else if (existing_ != nullptr && existing_->system) {
            AddError("name", "validation_collection_system_name_change", "System collection name cannot be changed.");
        } else if (same_name != nullptr && (existing_ == nullptr || same_name->id != existing_->id)) {
            AddError("name", "validation_collection_name_exists", "Collection name must be unique (case insensitive).");
        } else if (ToLower(c_.name).rfind("sqlite_", 0) == 0 || (same_name == nullptr && ctx_.has_table(c_.name))) {
            AddError(
                "name",
                "validation_collection_name_invalid",
                "The name shouldn't match with an existing internal table."
            );
        }
    }

    void ResolveType() {
        const auto* type = body_.if_contains("type");
        type_name_ = type != nullptr && type->is_string() ? std::string(type->as_string()) : "base";
        if (existing_ == nullptr && ctx_.allow_system) {
            if (const auto* sys = body_.if_contains("system"); sys != nullptr && sys->is_bool()) {
                c_.system = sys->as_bool();  // system migrations only; clients cannot create system collections
            }
        }
        if (existing_ != nullptr) {
            c_.type = existing_->type;
            c_.system = existing_->system;
            c_.SetOptions(existing_->options);
            if (type != nullptr && type_name_ != schema::CollectionTypeName(existing_->type)) {
                AddError("type", "validation_collection_type_change", "The type of a collection cannot be changed.");
            }
        } else if (auto t = schema::ParseCollectionType(type_name_); !t) {
            AddError("type", "validation_in_invalid", "Must be a valid value.");
        } else {
            c_.type = *t;
        }
    }

    void CheckViewQuery() {
        const auto* q = body_.if_contains("viewQuery");
        if (q != nullptr && q->is_string()) {
            json::object options = c_.options;
            options["viewQuery"] = NormalizeViewQuery(q->as_string());
            c_.SetOptions(std::move(options));
        } else if (q != nullptr && !q->is_null()) {
            AddError("viewQuery", "validation_invalid_value", "Must be a string.");
        }
        if (c_.Options().view_query.empty()) {
            AddError("viewQuery", "validation_required", "Cannot be blank.");
        }
    }

    void ResolveId() {
        const auto* id = body_.if_contains("id");
        if (existing_ != nullptr) {
            c_.id = existing_->id;
        } else if (id != nullptr && id->is_string() && !id->as_string().empty()) {
            c_.id = std::string(id->as_string());
            if (!IsWord(c_.id) || c_.id.size() > 100) {
                AddError("id", "validation_invalid_value", "Must contain only letters, digits and _.");
            } else if (ctx_.snap.Find(c_.id) != nullptr) {
                AddError("id", "validation_not_unique", "Value must be unique.");
            }
        } else if (!c_.name.empty()) {
            c_.id = CollectionIdFor(type_name_, c_.name);
            for (int n = 2; ctx_.snap.Find(c_.id) != nullptr; ++n) {
                c_.id = CollectionIdFor(type_name_, c_.name) + std::to_string(n);
            }
        }
    }

    void ParseFields() {
        const auto* fields = body_.if_contains("fields");
        if (fields == nullptr) {
            return;
        }
        if (!fields->is_array()) {
            AddError("fields", "validation_invalid_value", "Must be an array of fields.");
            return;
        }
        std::size_t i = 0;
        for (const auto& fv : fields->as_array()) {
            if (!fv.is_object()) {
                AddError(FieldKey(i), "validation_invalid_value", "Must be an object.");
            } else if (auto f = schema::FieldFromJson(fv.as_object()); !f) {
                if (f.error().field == "name") {
                    AddError(FieldKey(i, "name"), "validation_required", "Cannot be blank.");
                } else {
                    AddError(FieldKey(i, f.error().field), "validation_invalid_value", Sentenize(f.error().message));
                }
            } else {
                c_.fields.push_back(std::move(*f));
            }
            ++i;
        }
    }

    // The fields of an update: the body's list (or the current one), matched to the current fields
    // by id; then an auth collection's system fields and the `id` field.
    void MergeFields() {
        if (existing_ != nullptr && (body_.if_contains("fields") == nullptr || IsView())) {
            c_.fields = existing_->fields;
        }
        if (c_.type == schema::CollectionType::kAuth) {
            EnsureAuthFields(c_);
        }
        if (existing_ != nullptr && !IsView()) {
            CheckSystemFieldsKept();
            InheritFieldIds();
        }
        if (c_.FindField("id") == nullptr && !IsView()) {
            c_.fields.insert(c_.fields.begin(), schema::IdField());
        }
    }

    // Existing fields are matched by id: system fields keep their name and type.
    void CheckSystemFieldsKept() {
        for (const auto& old : existing_->fields) {
            const schema::Field* now_f = nullptr;
            for (const auto& f : c_.fields) {
                if (f.id == old.id || (f.id.empty() && f.name == old.name)) {
                    now_f = &f;
                }
            }
            if (old.system && (now_f == nullptr || now_f->name != old.name || now_f->type != old.type)) {
                AddError("fields", "validation_system_field_change", "System fields cannot be removed or changed.");
                return;
            }
        }
    }

    void InheritFieldIds() {
        for (auto& f : c_.fields) {
            for (const auto& old : existing_->fields) {
                if (f.id.empty() && f.name == old.name) {
                    f.id = old.id;  // a field given by name only keeps its identity
                }
                if (f.id == old.id) {
                    f.system = old.system;
                }
            }
        }
    }

    void CheckFields() {
        std::set<std::string> names;
        std::set<std::string> ids;
        for (std::size_t i = 0; i < c_.fields.size(); ++i) {
            schema::Field& f = c_.fields[i];
            if (!names.insert(ToLower(f.name)).second) {
                AddError(FieldKey(i, "name"), "validation_duplicated_field_name", "Duplicated field name.");
            }
            if (f.id.empty()) {
                f.id = FieldIdFor(schema::FieldTypeName(f.type), f.name);
            }
            if (!ids.insert(f.id).second) {
                AddError(FieldKey(i, "id"), "validation_duplicated_field_id", "Duplicated field id.");
            }
            FillDefaults(f);
            ValidateField(f, i, c_, ctx_.targets, errors_);
        }
    }

    void ParseRules() {
        bool bad_rule = false;
        auto rule_of = [&](std::string_view key, std::optional<std::string> schema::Collection::*member) {
            if (existing_ != nullptr && !body_.contains(key)) {
                return existing_->*member;
            }
            return RuleFromJson(body_, key, bad_rule);
        };
        c_.list_rule = rule_of("listRule", &schema::Collection::list_rule);
        c_.view_rule = rule_of("viewRule", &schema::Collection::view_rule);
        c_.create_rule = rule_of("createRule", &schema::Collection::create_rule);
        c_.update_rule = rule_of("updateRule", &schema::Collection::update_rule);
        c_.delete_rule = rule_of("deleteRule", &schema::Collection::delete_rule);
        if (bad_rule) {
            AddError("listRule", "validation_invalid_rule", "Rules must be strings or null.");
        }
        if (IsView()) {
            const RuleRef writes[] = {
                {"createRule", &c_.create_rule}, {"updateRule", &c_.update_rule}, {"deleteRule", &c_.delete_rule}};
            for (const auto& [key, rule] : writes) {
                if (*rule) {
                    AddError(key, "validation_nil", "Must be null: view collections are read-only.");
                }
            }
        }
    }

    // Rules must compile against the new collection (with everything else in the catalog); a view's
    // once its fields are known.
    void CompileApiRules() {
        if (IsView()) {
            return;
        }
        const schema::StaticCatalog with_new = CatalogWith(ctx_.snap, c_);
        std::vector<std::pair<std::string, std::string_view>> rules;
        const RuleRef all[] = {
            {"listRule", &c_.list_rule},
            {"viewRule", &c_.view_rule},
            {"createRule", &c_.create_rule},
            {"updateRule", &c_.update_rule},
            {"deleteRule", &c_.delete_rule},
        };
        for (const auto& [key, rule] : all) {
            if (*rule) {
                rules.emplace_back(key, **rule);
            }
        }
        CompileRules(c_, with_new, rules, errors_);
    }

    // The current indexes of an update that sends none: kept, following a rename of their table.
    json::array KeptIndexes() const {
        json::array kept;
        for (const auto& text : existing_->indexes) {
            std::string t = text;
            const std::string from = "ON `" + existing_->name + "`";
            if (const auto pos = t.find(from); pos != std::string::npos) {
                t.replace(pos, from.size(), "ON `" + c_.name + "`");
            }
            kept.emplace_back(t);
        }
        return kept;
    }

    void ParseIndexes() {
        const json::value* idx = body_.if_contains("indexes");
        json::value kept;
        if (idx == nullptr && existing_ != nullptr) {
            kept = KeptIndexes();
            idx = &kept;
        }
        if (idx == nullptr || !idx->is_array()) {
            return;
        }
        if (IsView() && !idx->as_array().empty()) {
            AddError("indexes", "validation_indexes_not_supported", "View collections don't support indexes.");
            return;
        }
        std::set<std::string> index_names;
        std::size_t i = 0;
        for (const auto& iv : idx->as_array()) {
            const std::string key = "indexes." + std::to_string(i++);
            if (!iv.is_string()) {
                AddError(key, "validation_invalid_index_expression", "Invalid CREATE INDEX expression.");
                continue;
            }
            auto def = ParseIndex(iv.as_string(), c_);
            if (!def) {
                AddError(key, "validation_invalid_index_expression", Sentenize(def.error().message));
            } else if (!index_names.insert(def->name).second) {
                AddError(key, "validation_duplicated_index_name", "Duplicated index name.");
            } else {
                c_.indexes.push_back(IndexText(*def, c_.name));
            }
        }
    }

    // Auth collections: their indexes and options; authRule, manageRule and the MFA rule compile like
    // the API rules.
    void ApplyAuth() {
        EnsureAuthIndexes(c_);
        ApplyAuthOptions(body_, existing_, c_, errors_);
        const schema::CollectionOptions& o = c_.Options();
        std::vector<std::pair<std::string, std::string_view>> rules;
        // Views into the options themselves (value_or would give temporaries).
        rules.emplace_back("authRule", o.auth_rule ? std::string_view(*o.auth_rule) : std::string_view());
        rules.emplace_back("manageRule", o.manage_rule ? std::string_view(*o.manage_rule) : std::string_view());
        rules.emplace_back("mfa.rule", o.mfa_rule);
        CompileRules(c_, CatalogWith(ctx_.snap, c_), rules, errors_);
    }

    const json::object& body_;
    const BuildContext& ctx_;
    const schema::Collection* existing_;
    schema::Collection c_;
    std::string type_name_;
    std::vector<FieldError> errors_;
};

}  // namespace

ChangeResult BuildCollection(const json::object& body, const BuildContext& ctx) {
    return CollectionBuilder(body, ctx).Build();
}

}  // namespace basalt::collections
