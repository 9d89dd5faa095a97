// SPDX-License-Identifier: MIT
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "core/result.hpp"

namespace basalt::schema {

enum class FieldType {
    kText,
    kNumber,
    kBool,
    kEmail,
    kUrl,
    kEditor,
    kDate,
    kAutodate,
    kSelect,
    kJson,
    kRelation,
    kFile,
    kPassword,
    kGeoPoint,
};

std::string_view FieldTypeName(FieldType type);
std::optional<FieldType> ParseFieldType(std::string_view name);

enum class CollectionType { kBase, kAuth, kView };

std::string_view CollectionTypeName(CollectionType type);
std::optional<CollectionType> ParseCollectionType(std::string_view name);

/// One field of a collection, in PocketBase's shape: common attributes plus the type's options,
/// which PocketBase keeps flat in the field object (kept here as `options`).
struct Field {
    std::string id;
    std::string name;
    FieldType type = FieldType::kText;
    bool system = false;
    bool hidden = false;
    bool presentable = false;
    boost::json::object options;  // type-specific: maxSelect, collectionId, values, min, max, ...

    /// select/file/relation hold several values when maxSelect > 1.
    bool IsMultiple() const;
    /// `maxSelect` (0 when absent).
    std::int64_t MaxSelect() const;
    /// The related collection id of a relation field.
    std::string CollectionId() const;
    /// A string option, or empty.
    std::string StringOption(std::string_view key) const;
    bool BoolOption(std::string_view key) const;
};

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
    boost::json::object options;  // auth options, view query, ...
    std::string created;
    std::string updated;

    /// The field named `name` (case-sensitive, as PocketBase), or nullptr.
    const Field* FindField(std::string_view name) const;
};

/// Looks collections up by name or id. The query compiler resolves relations and @collection
/// through it; services implement it over their cached definitions. Thread-safe for reads.
class Catalog {
public:
    virtual ~Catalog() = default;
    /// The collection whose id or name (case-insensitive) is `name_or_id`, or nullptr.
    virtual const Collection* Find(std::string_view name_or_id) const = 0;
};

/// A Catalog over a fixed list (tests, tools).
class StaticCatalog final : public Catalog {
public:
    explicit StaticCatalog(std::vector<Collection> collections) : collections_(std::move(collections)) {}
    const Collection* Find(std::string_view name_or_id) const override;

private:
    std::vector<Collection> collections_;
};

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
