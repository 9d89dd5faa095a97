// SPDX-License-Identifier: MIT
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <boost/json/value.hpp>

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

}  // namespace basalt::schema
