// SPDX-License-Identifier: MIT
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "core/result.hpp"
#include "schema/field_kind.hpp"

namespace basalt::schema {

enum class CollectionType { kBase, kAuth, kView };

std::string_view CollectionTypeName(CollectionType type);
std::optional<CollectionType> ParseCollectionType(std::string_view name);

/// The options of a field, parsed once from its JSON (PocketBase keeps them flat in the field
/// object) whenever they are set. Which ones mean something depends on the kind; the others keep
/// their zero values. A value of the wrong JSON type reads as absent, as before.
struct FieldOptions {
    bool required = false;
    std::optional<double> min;  // text and password: characters; number: the value
    std::optional<double> max;
    std::string pattern;                  // text
    bool primary_key = false;             // text
    bool only_int = false;                // number
    double max_size = 0;                  // editor, json, file: bytes (0: the default)
    std::vector<std::string> values;      // select (its string entries)
    std::int64_t max_select = 0;          // select, relation, file
    double min_select = 0;                // relation
    std::string collection_id;            // relation: the target collection's id
    bool cascade_delete = false;          // relation
    bool on_create = false;               // autodate
    bool on_update = false;               // autodate
    std::vector<std::string> mime_types;  // file: allowed types (empty: any)
    std::vector<std::string> thumbs;      // file: thumb sizes served besides 100x100
    bool protected_files = false;         // file: served only with a file token that passes viewRule
};

/// Parses FieldOptions from a field's options JSON.
FieldOptions ParseFieldOptions(const boost::json::object& json);

/// One field of a collection, in PocketBase's shape: common attributes plus the type's options.
/// The options' JSON is kept as it came (unknown keys round-trip); the typed view of it follows
/// every change, so options are only changed through SetOptions / SetOption / EraseOption.
struct Field {
    std::string id;
    std::string name;
    FieldType type = FieldType::kText;
    bool system = false;
    bool hidden = false;
    bool presentable = false;

    /// The typed options.
    const FieldOptions& Options() const { return options_; }
    /// The options as PocketBase's JSON has them (flat keys: maxSelect, collectionId, values, ...).
    const boost::json::object& OptionsJson() const { return options_json_; }
    void SetOptions(boost::json::object options);
    void SetOption(std::string_view key, boost::json::value value);
    void EraseOption(std::string_view key);

    /// The entry of this field's kind.
    const FieldKind& Kind() const { return KindOf(type); }
    /// select/file/relation hold several values when maxSelect > 1.
    bool IsMultiple() const { return Kind().multi_valued && options_.max_select > 1; }
    /// How one value of this field is stored and encoded (kList when it holds several).
    ValueShape Shape() const { return IsMultiple() ? ValueShape::kList : Kind().shape; }
    /// `maxSelect` (0 when absent).
    std::int64_t MaxSelect() const { return options_.max_select; }
    /// The related collection id of a relation field.
    const std::string& CollectionId() const { return options_.collection_id; }

private:
    boost::json::object options_json_;
    FieldOptions options_;
};

/// The options of a collection that basalt itself reads, parsed once from its options JSON (view
/// and auth options) whenever they are set. The JSON keeps every key (auth options that the auth
/// flows read, unknown ones).
struct CollectionOptions {
    std::string view_query;                    // view: the SELECT
    std::optional<std::string> auth_rule;      // auth: null = nobody but superusers
    std::optional<std::string> manage_rule;    // auth
    std::string mfa_rule;                      // auth: mfa.rule
    std::vector<std::string> identity_fields;  // auth: passwordAuth.identityFields
};

/// Parses CollectionOptions from a collection's options JSON.
CollectionOptions ParseCollectionOptions(const boost::json::object& json);

/// A collection definition: a real table named after it.
struct Collection {
    std::string id;
    std::string name;
    CollectionType type = CollectionType::kBase;
    bool system = false;
    std::vector<Field> fields;
    std::vector<std::string> indexes;
    std::optional<std::string> list_rule;
    std::optional<std::string> view_rule;
    std::optional<std::string> create_rule;
    std::optional<std::string> update_rule;
    std::optional<std::string> delete_rule;
    /// The options' JSON (auth options, view query, ...), as stored and served. Read it; change it
    /// only through SetOptions, which keeps the typed options in step.
    boost::json::object options;
    std::string created;
    std::string updated;

    bool IsView() const { return type == CollectionType::kView; }

    /// The typed options.
    const CollectionOptions& Options() const { return typed_options_; }
    void SetOptions(boost::json::object json);

    /// The field named `name` (case-sensitive, as PocketBase), or nullptr.
    const Field* FindField(std::string_view name) const;

private:
    CollectionOptions typed_options_;
};

/// Looks collections up by name or id. The query compiler resolves relations and @collection
/// through it; services implement it over their cached definitions. Thread-safe for reads.
class Catalog {
public:
    virtual ~Catalog() = default;
    /// The collection whose id or name (case-insensitive) is `name_or_id`, or nullptr.
    virtual const Collection* Find(std::string_view name_or_id) const = 0;
};

/// A Catalog over a fixed list: ids match exactly and win over names, which match case-insensitively.
class StaticCatalog final : public Catalog {
public:
    explicit StaticCatalog(std::vector<Collection> collections) : collections_(std::move(collections)) {}
    const Collection* Find(std::string_view name_or_id) const override;
    const std::vector<Collection>& All() const { return collections_; }

private:
    std::vector<Collection> collections_;
};

/// PocketBase's `id` field of a new collection: 15 characters of [a-z0-9], primary key, autogenerated.
Field IdField();

/// Parses a field from PocketBase's JSON ({"name","type",...options}). kInvalidArgument when the
/// name or type is missing or unknown.
Result<Field> FieldFromJson(const boost::json::object& json);
/// Parses a collection from PocketBase's JSON (fields, rules, indexes, options).
Result<Collection> CollectionFromJson(const boost::json::object& json);

/// PocketBase's JSON for a field: common attributes and the type's options, flat.
boost::json::object FieldToJson(const Field& field);
/// PocketBase's JSON for a collection; auth/view options are flattened into the top level.
boost::json::object CollectionToJson(const Collection& collection);

}  // namespace basalt::schema
