// SPDX-License-Identifier: MIT
#include "schema/collection.hpp"

#include <algorithm>
#include <utility>

#include <boost/json/value.hpp>

#include "core/ids.hpp"
#include "core/text.hpp"

namespace basalt::schema {

namespace {

std::string GetString(const boost::json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

bool GetBool(const boost::json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_bool() && v->as_bool();
}

// A number (absent, null or of another JSON type: none).
std::optional<double> GetNumber(const boost::json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (v == nullptr) {
        return std::nullopt;
    }
    if (v->is_int64()) {
        return static_cast<double>(v->as_int64());
    }
    if (v->is_uint64()) {
        return static_cast<double>(v->as_uint64());
    }
    if (v->is_double()) {
        return v->as_double();
    }
    return std::nullopt;
}

std::optional<std::string> GetRule(const boost::json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (v == nullptr || !v->is_string()) {
        return std::nullopt;
    }
    return std::string(v->as_string());
}

// The string entries of a list option (others are skipped; validation reports them).
std::vector<std::string> GetStrings(const boost::json::object& o, std::string_view key) {
    std::vector<std::string> out;
    if (const auto* values = o.if_contains(key); values != nullptr && values->is_array()) {
        for (const auto& v : values->as_array()) {
            if (v.is_string()) {
                out.emplace_back(v.as_string());
            }
        }
    }
    return out;
}

}  // namespace

std::string_view CollectionTypeName(CollectionType type) {
    switch (type) {
        case CollectionType::kBase:
            return "base";
        case CollectionType::kAuth:
            return "auth";
        case CollectionType::kView:
            return "view";
    }
    return "base";
}

std::optional<CollectionType> ParseCollectionType(std::string_view name) {
    if (name == "base") {
        return CollectionType::kBase;
    }
    if (name == "auth") {
        return CollectionType::kAuth;
    }
    if (name == "view") {
        return CollectionType::kView;
    }
    return std::nullopt;
}

FieldOptions ParseFieldOptions(const boost::json::object& o) {
    FieldOptions out;
    out.required = GetBool(o, "required");
    out.min = GetNumber(o, "min");
    out.max = GetNumber(o, "max");
    out.pattern = GetString(o, "pattern");
    out.primary_key = GetBool(o, "primaryKey");
    out.only_int = GetBool(o, "onlyInt");
    out.max_size = GetNumber(o, "maxSize").value_or(0);
    out.values = GetStrings(o, "values");
    out.mime_types = GetStrings(o, "mimeTypes");
    out.thumbs = GetStrings(o, "thumbs");
    out.protected_files = GetBool(o, "protected");
    // maxSelect truncates towards zero, as the integer it is meant to be.
    out.max_select = static_cast<std::int64_t>(std::clamp(GetNumber(o, "maxSelect").value_or(0), -1e18, 1e18));
    out.min_select = GetNumber(o, "minSelect").value_or(0);
    out.collection_id = GetString(o, "collectionId");
    out.cascade_delete = GetBool(o, "cascadeDelete");
    out.on_create = GetBool(o, "onCreate");
    out.on_update = GetBool(o, "onUpdate");
    return out;
}

void Field::SetOptions(boost::json::object options) {
    options_json_ = std::move(options);
    options_ = ParseFieldOptions(options_json_);
}

void Field::SetOption(std::string_view key, boost::json::value value) {
    options_json_[key] = std::move(value);
    options_ = ParseFieldOptions(options_json_);
}

void Field::EraseOption(std::string_view key) {
    options_json_.erase(key);
    options_ = ParseFieldOptions(options_json_);
}

CollectionOptions ParseCollectionOptions(const boost::json::object& o) {
    CollectionOptions out;
    out.view_query = GetString(o, "viewQuery");
    out.auth_rule = GetRule(o, "authRule");
    out.manage_rule = GetRule(o, "manageRule");
    if (const auto* mfa = o.if_contains("mfa"); mfa != nullptr && mfa->is_object()) {
        out.mfa_rule = GetString(mfa->as_object(), "rule");
    }
    const auto* pa = o.if_contains("passwordAuth");
    const auto* ids = pa != nullptr && pa->is_object() ? pa->as_object().if_contains("identityFields") : nullptr;
    if (ids != nullptr && ids->is_array()) {
        for (const auto& v : ids->as_array()) {
            if (v.is_string()) {
                out.identity_fields.emplace_back(v.as_string());
            }
        }
    }
    return out;
}

void Collection::SetOptions(boost::json::object json) {
    options = std::move(json);
    typed_options_ = ParseCollectionOptions(options);
}

const Field* Collection::FindField(std::string_view field_name) const {
    for (const auto& f : fields) {
        if (f.name == field_name) {
            return &f;
        }
    }
    return nullptr;
}

const Collection* StaticCatalog::Find(std::string_view name_or_id) const {
    // Ids first: an id never loses to a collection that happens to be named like it.
    for (const auto& c : collections_) {
        if (c.id == name_or_id) {
            return &c;
        }
    }
    for (const auto& c : collections_) {
        if (EqualsIgnoreCase(c.name, name_or_id)) {
            return &c;
        }
    }
    return nullptr;
}

Field IdField() {
    Field f;
    f.name = "id";
    f.type = FieldType::kText;
    f.id = FieldIdFor("text", "id");
    f.system = true;
    f.SetOptions(
        {{"primaryKey", true},
         {"required", true},
         {"min", 15},
         {"max", 15},
         {"pattern", "^[a-z0-9]+$"},
         {"autogeneratePattern", "[a-z0-9]{15}"}}
    );
    return f;
}

Result<Field> FieldFromJson(const boost::json::object& json) {
    Field f;
    f.name = GetString(json, "name");
    if (f.name.empty()) {
        return MakeError(ErrorCode::kInvalidArgument, "field name is required", "name");
    }
    auto type = ParseFieldType(GetString(json, "type"));
    if (!type) {
        return MakeError(ErrorCode::kInvalidArgument, "unknown field type", "type");
    }
    f.type = *type;
    f.id = GetString(json, "id");
    f.system = GetBool(json, "system");
    f.hidden = GetBool(json, "hidden");
    f.presentable = GetBool(json, "presentable");
    boost::json::object options;
    for (const auto& [k, v] : json) {
        if (k != "id" && k != "name" && k != "type" && k != "system" && k != "hidden" && k != "presentable") {
            options[k] = v;
        }
    }
    f.SetOptions(std::move(options));
    return f;
}

Result<Collection> CollectionFromJson(const boost::json::object& json) {
    Collection c;
    c.id = GetString(json, "id");
    c.name = GetString(json, "name");
    if (c.name.empty()) {
        return MakeError(ErrorCode::kInvalidArgument, "collection name is required", "name");
    }
    auto type = ParseCollectionType(json.contains("type") ? GetString(json, "type") : "base");
    if (!type) {
        return MakeError(ErrorCode::kInvalidArgument, "unknown collection type", "type");
    }
    c.type = *type;
    c.system = GetBool(json, "system");
    if (const auto* fields = json.if_contains("fields"); fields != nullptr && fields->is_array()) {
        for (const auto& fv : fields->as_array()) {
            if (!fv.is_object()) {
                return MakeError(ErrorCode::kInvalidArgument, "fields must be objects", "fields");
            }
            BASALT_ASSIGN_OR_RETURN(auto f, FieldFromJson(fv.as_object()));
            c.fields.push_back(std::move(f));
        }
    }
    if (const auto* idx = json.if_contains("indexes"); idx != nullptr && idx->is_array()) {
        for (const auto& iv : idx->as_array()) {
            if (iv.is_string()) {
                c.indexes.emplace_back(iv.as_string());
            }
        }
    }
    c.list_rule = GetRule(json, "listRule");
    c.view_rule = GetRule(json, "viewRule");
    c.create_rule = GetRule(json, "createRule");
    c.update_rule = GetRule(json, "updateRule");
    c.delete_rule = GetRule(json, "deleteRule");
    if (const auto* o = json.if_contains("options"); o != nullptr && o->is_object()) {
        c.SetOptions(o->as_object());
    }
    c.created = GetString(json, "created");
    c.updated = GetString(json, "updated");
    return c;
}

boost::json::object FieldToJson(const Field& f) {
    boost::json::object o;
    o["id"] = f.id;
    o["name"] = f.name;
    o["type"] = FieldTypeName(f.type);
    o["system"] = f.system;
    o["hidden"] = f.hidden;
    o["presentable"] = f.presentable;
    for (const auto& [k, v] : f.OptionsJson()) {
        o[k] = v;
    }
    return o;
}

boost::json::object CollectionToJson(const Collection& c) {
    boost::json::object o;
    o["id"] = c.id;
    o["name"] = c.name;
    o["type"] = CollectionTypeName(c.type);
    o["system"] = c.system;
    boost::json::array fields;
    for (const auto& f : c.fields) {
        fields.emplace_back(FieldToJson(f));
    }
    o["fields"] = std::move(fields);
    boost::json::array indexes;
    for (const auto& i : c.indexes) {
        indexes.emplace_back(i);
    }
    o["indexes"] = std::move(indexes);
    auto rule = [](const std::optional<std::string>& r) -> boost::json::value {
        return r ? boost::json::value(*r) : boost::json::value(nullptr);
    };
    o["listRule"] = rule(c.list_rule);
    o["viewRule"] = rule(c.view_rule);
    o["createRule"] = rule(c.create_rule);
    o["updateRule"] = rule(c.update_rule);
    o["deleteRule"] = rule(c.delete_rule);
    for (const auto& [k, v] : c.options) {
        if (k == "authToken" || k == "passwordResetToken" || k == "emailChangeToken" || k == "verificationToken" ||
            k == "fileToken") {
            // Token secrets are write-only: only the duration goes out.
            boost::json::object t;
            if (v.is_object()) {
                if (const auto* d = v.as_object().if_contains("duration")) {
                    t["duration"] = *d;
                }
            }
            o[k] = std::move(t);
        } else if (k == "oauth2" && v.is_object()) {
            // Provider client secrets are write-only too.
            boost::json::object oauth2 = v.as_object();
            if (auto* list = oauth2.if_contains("providers"); list != nullptr && list->is_array()) {
                for (auto& p : list->as_array()) {
                    if (p.is_object()) {
                        p.as_object().erase("clientSecret");
                    }
                }
            }
            o[k] = std::move(oauth2);
        } else {
            o[k] = v;
        }
    }
    o["created"] = c.created;
    o["updated"] = c.updated;
    return o;
}

}  // namespace basalt::schema
