// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <boost/json/value.hpp>

#include "core/result.hpp"

namespace basalt::schema {

enum class FieldType : std::uint8_t {
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

struct Field;

/// A column value: the same type as db::Value (the schema module does not see db; an alias of the
/// same variant is the same type).
using ColumnValue = std::variant<std::nullptr_t, std::int64_t, double, std::string>;

/// How a value is kept in its column and written in the record JSON. Code that stores, reads or
/// encodes values (DDL, the record JSON, the outbox, filters) switches on this, not on the kind.
enum class ValueShape : std::uint8_t {
    kText,      // TEXT DEFAULT '' NOT NULL; a JSON string
    kNumber,    // NUMERIC DEFAULT 0 NOT NULL; a JSON number (0 for NULL)
    kBool,      // BOOLEAN DEFAULT FALSE NOT NULL; true/false
    kJson,      // JSON DEFAULT NULL; the stored JSON (text that is not JSON: a string), null for NULL
    kGeoPoint,  // JSON {"lon","lat"} NOT NULL; the object
    kRelation,  // TEXT DEFAULT NULL, a foreign key to the target's id; a JSON string ("" for NULL)
    kList,      // any kind holding several values (maxSelect > 1): JSON DEFAULT '[]' NOT NULL; the array
};

/// The body modifiers a kind accepts (`f+`, `+f`, `f-`).
enum class Modifiers : std::uint8_t {
    kNone,
    kNumber,  // f+ / f- add and subtract
    kList,    // +f prepends, f+ appends, f- removes values
};

/// One option PocketBase writes for every new field of a kind, with its default value.
struct OptionDefault {
    std::string_view key;
    enum class Kind : std::uint8_t { kNull, kFalse, kTrue, kZero, kOne, kEmptyText, kEmptyList } value;
};

/// Checks a submitted value for a field and converts it into its column value, appending
/// PocketBase-coded errors under the field's name. Never null.
using NormalizeFn = ColumnValue (*)(const Field& field, const boost::json::value& in, std::vector<FieldError>& errors);

/// Checks the options of a field definition beyond their types (values given, maxSelect in range);
/// errors are keyed `at` + the option's name.
using ValidateOptionsFn = void (*)(const Field& field, const std::string& at, std::vector<FieldError>& errors);

/// Everything that differs between field kinds, in one entry per kind (field_kind.cpp holds the
/// table). A new kind is one new entry (and its functions); nothing else switches on FieldType.
struct FieldKind {
    FieldType type;
    std::string_view name;  // PocketBase's type name
    ValueShape shape;       // of one value
    bool multi_valued;      // maxSelect > 1 makes its column a list (select, relation, file)
    bool definable;         // clients may define fields of it (file and password: not yet)
    Modifiers modifiers;
    std::span<const OptionDefault> defaults;  // options of a new field (besides `required`)
    bool has_required;                        // the field has a `required` option (autodate has none)
    NormalizeFn normalize;
    ValidateOptionsFn validate_options;  // nullptr: nothing beyond the types
};

/// The entry of `type`.
const FieldKind& KindOf(FieldType type);
/// Every kind, in FieldType order.
std::span<const FieldKind> AllKinds();

std::string_view FieldTypeName(FieldType type);
std::optional<FieldType> ParseFieldType(std::string_view name);

}  // namespace basalt::schema
