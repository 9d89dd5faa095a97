// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "db/database.hpp"
#include "schema/collection.hpp"

namespace basalt::collections {

/// A view collection's query as stored: surrounding whitespace and trailing semicolons removed.
std::string NormalizeViewQuery(std::string_view query);

/// The expressions of the top-level select list of `query`, in order (for SELECT a, count(b) AS n
/// FROM ...: "a", "count(b) AS n"). Strings, quoted identifiers, comments and parentheses are
/// respected. kInvalidArgument when there is no SELECT or a column is a wildcard.
Result<std::vector<std::string>> SelectListOf(std::string_view query);

/// What a view collection's query yields: its fields and the SELECT its view is created from.
struct ViewShape {
    std::vector<schema::Field> fields;
    std::string select_sql;  // the query wrapped; `id` cast to text unless read straight from a table
};

/// Derives a view collection's fields from its query, compiled on `ex` (inside the schema change's
/// transaction, so it sees the tables as they are about to be committed):
///  - `id` → the primary key text field (required: without an id column the query is refused);
///  - a column read straight from a collection's field → a copy of that field under the column's name
///    (a collection's `id` → a single relation to that collection);
///  - count(...) → integer number, total(...) → number, CAST(... AS int|real|text|bool) → that type;
///  - anything else → json.
/// Field ids are kept from `previous` where name and type match, so a re-derived view keeps its ids.
/// kInvalidArgument names the problem (invalid SQL, missing id, duplicate or unusable column name).
Result<ViewShape> DescribeView(
    db::Executor& ex, std::string_view query, const schema::Catalog& catalog, const std::vector<schema::Field>& previous
);

/// A view collection that was not created: what the superusers' dry run shows.
struct ViewDryRun {
    ViewShape shape;
    db::ResultSet sample;  // columns named as shape.fields
};

/// What a view collection with `query` would be, without creating anything (POST
/// /api/collections/meta/dry-run-view): its fields as DescribeView derives them (the same refusals
/// of secrets and system tables) and at most `sample_size` of its rows, read on `ex`. kInvalidArgument
/// as DescribeView, or when the sample has a record with an empty or a repeated id.
Result<ViewDryRun> DryRunView(
    db::Executor& ex, std::string_view query, const schema::Catalog& catalog, std::size_t sample_size
);

}  // namespace basalt::collections
