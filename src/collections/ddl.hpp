// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <vector>

#include "core/result.hpp"
#include "schema/collection.hpp"

namespace basalt::collections {

/// The column definition of a field (SQLite): typed, NOT NULL with PocketBase's zero value as the
/// default; single relations are real foreign keys (NULL when empty; ON DELETE CASCADE with
/// cascadeDelete, RESTRICT when required, SET NULL otherwise).
std::string ColumnSql(const schema::Field& field, const schema::Catalog& catalog);

/// CREATE TABLE for a collection (columns in field order).
std::string CreateTableSql(const schema::Collection& collection, const schema::Catalog& catalog);

/// A parsed index definition: only `CREATE [UNIQUE] INDEX name ON table (col [COLLATE x] [ASC|DESC], ...)`
/// over the collection's own fields, optionally partial with `WHERE col != ''` (auth collections'
/// email index: unique where set).
struct IndexDef {
    bool unique = false;
    std::string name;
    std::vector<std::string> columns;  // canonical "`col` COLLATE NOCASE DESC" pieces, validated
    std::string where_not_empty;       // the column of `WHERE col != ''`, or empty
};

/// Parses an index definition for `collection` and checks every name. kInvalidArgument names the
/// problem (another table, unknown column, a WHERE clause, an expression, ...).
Result<IndexDef> ParseIndex(std::string_view sql, const schema::Collection& collection);

/// The canonical text of an index (what is stored and returned): CREATE [UNIQUE] INDEX `name` ON `table` (...).
std::string IndexText(const IndexDef& index, std::string_view table);
/// The same as SQL to execute (double-quoted identifiers).
std::string IndexSql(const IndexDef& index, std::string_view table);

}  // namespace basalt::collections
