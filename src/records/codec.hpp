// SPDX-License-Identifier: MIT
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

#include "core/result.hpp"
#include "db/database.hpp"
#include "schema/collection.hpp"

namespace basalt::records {

/// Converts a submitted value for `field` into its column value, validating it against the field's
/// type and options (required, min/max, values, maxSelect, formats). `in` == nullptr means "not
/// submitted" and yields the zero value. Appends PocketBase-coded errors under the field's name.
/// Relation ids are only checked for shape here; their existence is checked in the write.
db::Value NormalizeValue(const schema::Field& field, const boost::json::value* in, std::vector<FieldError>& errors);

/// PocketBase's password length limit when a password field's max is 0 (bcrypt's 72 bytes, less one).
inline constexpr std::int64_t kDefaultPasswordMax = 71;

/// PocketBase's length checks for a new plain password of `field` (an auth collection's `password`,
/// `_otps.password`; null: the defaults): at least its `min` characters, at most its `max` (71 when
/// 0), counted in code points. The error is reported under `name`, without params, as PocketBase's.
std::optional<FieldError> PasswordLengthError(
    const schema::Field* field, std::string_view plain, std::string_view name = "password"
);

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

/// Parses the datetime formats PocketBase accepts (RFC 3339, "YYYY-MM-DD HH:MM:SS[.sss][Z]",
/// "YYYY-MM-DD") into the wire format "YYYY-MM-DD HH:MM:SS.sssZ" (UTC). nullopt when invalid.
std::optional<std::string> NormalizeDate(std::string_view text);

/// The ids of a relation column value (single or multiple), without empties.
std::vector<std::string> RelationIds(const schema::Field& field, const db::Value& column);

}  // namespace basalt::records
