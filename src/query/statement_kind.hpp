// SPDX-License-Identifier: MIT
#pragma once

#include <string_view>

namespace basalt::query {

/// PocketBase's loose classification of a SQL console query (apis/sql.go): trimmed and upper-cased,
/// a query that does not start with the read keyword but with one of the write or schema keywords
/// (insert, create, update, delete, drop, detach, alter, replace) is a write; anything else is read
/// for its rows. Pure text: nothing is parsed or run.
bool IsWriteQuery(std::string_view query);

}  // namespace basalt::query
