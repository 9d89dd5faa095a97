// SPDX-License-Identifier: MIT
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "core/result.hpp"
#include "db/database.hpp"
#include "schema/collection.hpp"
#include "schema/field_values.hpp"

namespace basalt::records {

/// Converts a submitted value for `field` into its column value (the kind's `normalize`), validating
/// it against the field's type and options (required, min/max, values, maxSelect, formats). `in` == nullptr means "not
/// submitted" and yields the zero value. Appends PocketBase-coded errors under the field's name.
/// Relation ids are only checked for shape here; their existence is checked in the write.
db::Value NormalizeValue(const schema::Field& field, const boost::json::value* in, std::vector<FieldError>& errors);

// Moved to the schema with the field kinds; callers here keep their names.
using schema::kDefaultPasswordMax;
using schema::NormalizeDate;
using schema::PasswordLengthError;

/// The SQL expression (for SQLite's json_object) that gives the record JSON of `field` from its
/// column `col` (quoted) in the outbox row, as ColumnToJson would.
std::string OutboxJsonExpr(const schema::Field& field, const std::string& col);

/// The JSON value of a stored column for the record JSON (zero values as PocketBase writes them).
boost::json::value ColumnToJson(const schema::Field& field, const db::Value& column);

/// Appends the same JSON as ColumnToJson, as text, without building a DOM. Stored JSON columns
/// (written by basalt, always valid JSON) are copied as they are.
void AppendColumnJson(std::string& out, const schema::Field& field, const db::Value& column);

/// The same, reading the column in place from a streamed row.
void AppendColumnJson(std::string& out, const schema::Field& field, const db::RowView& row, int column);

/// True when `body` uses PocketBase's body modifiers (`field+`, `+field`, `field-`) for a field of
/// `collection`.
bool HasModifiers(const schema::Collection& collection, const boost::json::object& body);

/// Resolves the body modifiers against `current` (the stored record's JSON, or nullptr on create):
/// number `f+`/`f-` add/subtract; select/relation `+f` prepends, `f+` appends, `f-` removes values.
/// Returns the body with plain keys only. Malformed modifier values give field errors.
boost::json::object ApplyModifiers(
    const schema::Collection& collection,
    const boost::json::object& body,
    const boost::json::object* current,
    std::vector<FieldError>& errors
);

/// The ids of a relation column value (single or multiple), without empties.
std::vector<std::string> RelationIds(const schema::Field& field, const db::Value& column);

}  // namespace basalt::records
