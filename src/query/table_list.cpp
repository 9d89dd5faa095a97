// SPDX-License-Identifier: MIT
#include "query/table_list.hpp"

#include "query/compiler.hpp"

namespace basalt::query {

namespace {

// A catalog of the one table: the compiler resolves names through it, and nothing else exists.
class OneTable final : public schema::Catalog {
public:
    explicit OneTable(const schema::Collection& table) : table_(table) {}
    const schema::Collection* Find(std::string_view name_or_id) const override {
        return name_or_id == table_.id || name_or_id == table_.name ? &table_ : nullptr;
    }

private:
    const schema::Collection& table_;
};

Result<CompiledFilter> Compile(const schema::Collection& table, const TableQuery& q, bool with_sort) {
    const OneTable catalog(table);
    CompileOptions options;
    options.now = q.now;
    options.allow_hidden = true;
    Compiler compiler(table, catalog, options);
    BASALT_TRY(compiler.AddFilter(q.filter));
    if (with_sort) {
        BASALT_TRY(compiler.SetSort(q.sort));
    }
    return compiler.Build();
}

TableWhere WhereOf(const CompiledFilter& f) {
    TableWhere out;
    out.params = f.join_params;  // none: the table has no relations
    for (const auto& j : f.joins) {
        out.sql += " " + j;
    }
    if (!f.where.empty()) {
        out.sql += " WHERE " + f.where;
        out.params.insert(out.params.end(), f.params.begin(), f.params.end());
    }
    return out;
}

}  // namespace

schema::Collection TableOf(
    std::string name, std::initializer_list<std::pair<schema::FieldType, std::string_view>> columns
) {
    schema::Collection c;
    c.id = name;
    c.name = std::move(name);
    c.list_rule = "";
    for (const auto& [type, column] : columns) {
        schema::Field f;
        f.type = type;
        f.id = std::string(column);
        f.name = std::string(column);
        c.fields.push_back(std::move(f));
    }
    return c;
}

Result<TableWhere> CompileTableWhere(const schema::Collection& table, const TableQuery& q) {
    BASALT_ASSIGN_OR_RETURN(const CompiledFilter f, Compile(table, q, /*with_sort=*/false));
    return WhereOf(f);
}

Result<TableListSql> CompileTableList(const schema::Collection& table, std::string_view columns, const TableQuery& q) {
    BASALT_ASSIGN_OR_RETURN(const CompiledFilter f, Compile(table, q, /*with_sort=*/true));
    const TableWhere where = WhereOf(f);
    const std::string quoted = QuoteIdent(table.name);
    const std::string from = " FROM " + quoted + where.sql;
    TableListSql out;
    out.count = "SELECT COUNT(*)" + from;
    out.count_params = where.params;
    out.page = "SELECT " + std::string(columns) + from + " ORDER BY ";
    out.page_params = where.params;
    if (f.order_by.empty()) {
        out.page += quoted + ".\"_rowid_\"";
    } else {
        out.page += f.order_by;
        out.page_params.insert(out.page_params.end(), f.order_params.begin(), f.order_params.end());
    }
    out.page += " LIMIT ? OFFSET ?";
    out.page_params.emplace_back(q.per_page);
    out.page_params.emplace_back((q.page - 1) * q.per_page);
    return out;
}

}  // namespace basalt::query
