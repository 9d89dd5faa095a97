// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/value.hpp>

#include "core/result.hpp"
#include "schema/field_kind.hpp"

namespace basalt::schema {

/// A submitted value as a number, as PocketBase's cast.ToFloat64 reads it: numbers, numeric text
/// (Go's ParseFloat: "NaN"/"Inf" spelled out come back as they are), bools, null and "" as 0.
/// nullopt for what does not read as a number.
std::optional<double> ValueAsNumber(const boost::json::value& v);

/// The submitted values of a select/relation field as a list: a single string is one item, null
/// none; empties and repeats are dropped. nullopt when it is neither a string nor a list of them.
std::optional<std::vector<std::string>> ValueAsList(const boost::json::value& v);

/// A number as its column value: integral values (|d| < 9e15) as integers, others as doubles.
ColumnValue NumberColumn(double d);

/// Parses the datetime formats PocketBase accepts (RFC 3339, "YYYY-MM-DD HH:MM:SS[.sss][Z]",
/// "YYYY-MM-DD") into the wire format "YYYY-MM-DD HH:MM:SS.sssZ" (UTC). nullopt when invalid.
std::optional<std::string> NormalizeDate(std::string_view text);

/// PocketBase's password length limit when a password field's max is 0 (bcrypt's 72 bytes, less one).
inline constexpr std::int64_t kDefaultPasswordMax = 71;

/// PocketBase's length checks for a new plain password of `field` (an auth collection's `password`,
/// `_otps.password`; null: the defaults): at least its `min` characters, at most its `max` (71 when
/// 0), counted in code points. The error is reported under `name`, without params, as PocketBase's.
std::optional<FieldError> PasswordLengthError(
    const Field* field, std::string_view plain, std::string_view name = "password"
);

}  // namespace basalt::schema
