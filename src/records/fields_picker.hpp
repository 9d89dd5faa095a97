// SPDX-License-Identifier: MIT
#pragma once

#include <string_view>

#include <boost/json/value.hpp>

#include "core/result.hpp"

namespace basalt::records {

/// PocketBase's `fields` query parameter: a comma list of dot paths, `*` for every key at a depth,
/// and the modifier `:excerpt(maxLength[, withEllipsis])` (text without HTML, cut to maxLength).
/// Returns the picked value; kInvalidArgument on a malformed list.
Result<boost::json::value> PickFields(const boost::json::value& value, std::string_view fields);

}  // namespace basalt::records
