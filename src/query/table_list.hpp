// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "db/database.hpp"
#include "schema/collection.hpp"

namespace basalt::query {

/// A filter and sort over one system table with no relations (PocketBase's SimpleFieldResolver:
/// the collections list, the logs API), described by a collection of the table's name whose
/// fields are the columns a client may name.
struct TableQuery {
    std::string_view filter;
    std::string_view sort;
    std::int64_t page = 1;
    std::int64_t per_page = 30;
    SystemTime now{};  // for datetime macros
};

/// Such a table's description: a collection named `name` with one field per column.
schema::Collection TableOf(
    std::string name, std::initializer_list<std::pair<schema::FieldType, std::string_view>> columns
);

/// " WHERE …" (or "") and its parameters.
struct TableWhere {
    std::string sql;
    std::vector<db::Value> params;
};

/// The SQL of one page of such a list (`SELECT <columns> FROM <table> … ORDER BY … LIMIT ? OFFSET ?`,
/// in rowid order without a sort) and of its total.
struct TableListSql {
    std::string page;
    std::vector<db::Value> page_params;
    std::string count;
    std::vector<db::Value> count_params;
};

/// Compiles the filter of `q` (its sort and paging are ignored). kInvalidArgument as Compiler.
Result<TableWhere> CompileTableWhere(const schema::Collection& table, const TableQuery& q);

/// Compiles the page and count statements. `columns` is the select list, written by the caller.
Result<TableListSql> CompileTableList(const schema::Collection& table, std::string_view columns, const TableQuery& q);

}  // namespace basalt::query
