// SPDX-License-Identifier: MIT
#pragma once

#include <string_view>

#include <boost/json/value.hpp>

#include "api/deps.hpp"
#include "http/router.hpp"

namespace basalt::api {

/// A console cell as PocketBase answers it (every value scanned into a string): NULL -> null,
/// integers in decimal, reals as Go formats a float64, text and blobs as they are.
boost::json::value ConsoleCell(const db::Value& v);

/// POST /api/sql: the superusers' SQL console, in PocketBase's shape ({execTime, affectedRows,
/// columns, rows}). Writes run as one write of the db writer (all statements or none) and report
/// affectedRows; reads run on a reader connection off the I/O threads and return at most 1000 rows
/// of their last statement (query::IsWriteQuery tells which is which; a read that turns out to write
/// runs again as a write). Three minutes at most. After a write that may have changed the schema, the
/// collections are read again.
void RegisterSqlRoutes(http::Router& router, const Deps& deps);

}  // namespace basalt::api
