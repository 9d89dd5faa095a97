// SPDX-License-Identifier: MIT
#include "collections/view.hpp"

#include <cctype>
#include <set>

#include "core/ids.hpp"
#include "core/text.hpp"
#include "query/compiler.hpp"

namespace basalt::collections {

namespace {

using schema::FieldType;

bool IsWordChar(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
}

// Index just past a quoted run or comment starting at i, or i when none starts there.
std::size_t SkipQuoted(std::string_view s, std::size_t i) {
    const char c = s[i];
    if (c == '\'' || c == '"' || c == '`' || c == '[') {
        const char close = c == '[' ? ']' : c;
        std::size_t j = i + 1;
        while (j < s.size()) {
            if (s[j] == close) {
                if (close != ']' && j + 1 < s.size() && s[j + 1] == close) {
                    j += 2;  // doubled quote
                    continue;
                }
                return j + 1;
            }
            ++j;
        }
        return s.size();
    }
    if (c == '-' && i + 1 < s.size() && s[i + 1] == '-') {
        const auto eol = s.find('\n', i);
        return eol == std::string_view::npos ? s.size() : eol + 1;
    }
    if (c == '/' && i + 1 < s.size() && s[i + 1] == '*') {
        const auto end = s.find("*/", i + 2);
        return end == std::string_view::npos ? s.size() : end + 2;
    }
    return i;
}

// The type a CAST(... AS type) expression names, lowercase, or empty.
std::string CastType(std::string_view expr) {
    const std::string low = ToLower(expr);
    std::size_t i = 0;
    if (low.rfind("cast", 0) != 0) {
        return {};
    }
    i = 4;
    while (i < low.size() && std::isspace(static_cast<unsigned char>(low[i])) != 0) {
        ++i;
    }
    if (i >= low.size() || low[i] != '(') {
        return {};
    }
    int depth = 0;
    std::size_t as_at = std::string::npos;
    for (std::size_t j = i; j < low.size(); ++j) {
        if (const auto k = SkipQuoted(low, j); k != j) {
            j = k - 1;
            continue;
        }
        if (low[j] == '(') {
            ++depth;
        } else if (low[j] == ')') {
            if (--depth == 0) {
                if (as_at == std::string::npos) {
                    return {};
                }
                return std::string(TrimSpace(std::string_view(low).substr(as_at, j - as_at)));
            }
        } else if (depth == 1 && low.compare(j, 2, "as") == 0 && j > 0 && !IsWordChar(low[j - 1]) && j + 2 < low.size() && !IsWordChar(low[j + 2])) {
            as_at = j + 2;
        }
    }
    return {};
}

const std::set<std::string, std::less<>> kListEnd{
    "from", "where", "group", "having", "window", "order", "limit", "union", "intersect", "except"};

schema::Field MakeField(FieldType type, std::string name) {
    schema::Field f;
    f.type = type;
    f.name = std::move(name);
    return f;
}

}  // namespace

std::string NormalizeViewQuery(std::string_view query) {
    std::string_view q = TrimSpace(query);
    while (!q.empty() && q.back() == ';') {
        q = TrimSpace(q.substr(0, q.size() - 1));
    }
    return std::string(q);
}

Result<std::vector<std::string>> SelectListOf(std::string_view q) {
    std::vector<std::string> out;
    int depth = 0;
    bool in_list = false;
    bool first_word = false;
    std::size_t start = 0;
    std::size_t i = 0;
    auto finish = [&](std::size_t end) {
        out.emplace_back(TrimSpace(q.substr(start, end - start)));
    };
    while (i < q.size()) {
        if (const auto k = SkipQuoted(q, i); k != i) {
            i = k;
            continue;
        }
        const char c = q[i];
        if (c == '(') {
            ++depth;
        } else if (c == ')') {
            --depth;
        } else if (c == ',' && depth == 0 && in_list) {
            finish(i);
            start = i + 1;
        } else if (IsWordChar(c)) {
            std::size_t j = i;
            while (j < q.size() && IsWordChar(q[j])) {
                ++j;
            }
            const std::string word = ToLower(q.substr(i, j - i));
            const bool opens = depth == 0 && !in_list && word == "select";
            if (opens) {
                in_list = true;
                start = j;
            } else if (depth == 0 && in_list && first_word && (word == "distinct" || word == "all")) {
                start = j;
            } else if (depth == 0 && in_list && kListEnd.contains(word)) {
                finish(i);
                in_list = false;
                break;
            }
            first_word = opens;
            i = j;
            continue;
        }
        first_word = first_word && std::isspace(static_cast<unsigned char>(c)) != 0;
        ++i;
    }
    if (in_list) {
        finish(q.size());
    }
    if (out.empty()) {
        return MakeError(ErrorCode::kInvalidArgument, "the query must be a SELECT");
    }
    for (const auto& e : out) {
        if (e == "*" || (e.size() >= 2 && e.compare(e.size() - 2, 2, ".*") == 0)) {
            return MakeError(
                ErrorCode::kInvalidArgument,
                "wildcard columns (*) are not supported: name the fields the view should have"
            );
        }
    }
    return out;
}

namespace {

// Secrets never reach a view, whatever expression wraps them: of the `_` tables only auth
// collections and collections of the superusers' own (not basalt's tables, SQLite's schema or
// the system collections of auth data: `_otps`, `_mfas`, ...), and no password or tokenKey column.
bool ViewMayRead(const schema::Catalog& catalog, std::string_view table, std::string_view column) {
    if (column == "password" || column == "tokenKey") {
        const schema::Collection* c = catalog.Find(table);
        if (c == nullptr || c->type == schema::CollectionType::kAuth) {
            return false;
        }
    }
    if (table.rfind("sqlite_", 0) == 0) {
        return false;
    }
    if (!table.empty() && table.front() == '_') {
        const schema::Collection* c = catalog.Find(table);
        return c != nullptr && c->name == table && (c->type == schema::CollectionType::kAuth || !c->system);
    }
    return true;
}

// The field of a column whose expression is CAST(... AS `cast`).
schema::Field CastField(const std::string& cast, const std::string& name) {
    if (cast == "real" || cast == "decimal" || cast == "numeric") {
        return MakeField(FieldType::kNumber, name);
    }
    if (cast == "int" || cast == "integer") {
        schema::Field f = MakeField(FieldType::kNumber, name);
        f.SetOption("onlyInt", true);
        return f;
    }
    if (cast == "text") {
        return MakeField(FieldType::kText, name);
    }
    if (cast == "bool" || cast == "boolean") {
        return MakeField(FieldType::kBool, name);
    }
    return MakeField(FieldType::kJson, name);
}

// The field of one view column: the id; a relation for another collection's id; a copy of the
// collection field it reads; a number for count()/total(); the type of a CAST; else json.
// `expr` is the column's expression, lowercased.
schema::Field ViewColumnField(const db::ColumnSource& col, const std::string& expr, const schema::Catalog& catalog) {
    const schema::Collection* source = col.table.empty() ? nullptr : catalog.Find(col.table);
    const schema::Field* source_field = source != nullptr ? source->FindField(col.column) : nullptr;
    schema::Field f;
    if (col.name == "id") {
        f = schema::IdField();
        f.SetOption("autogeneratePattern", "");
        f.SetOption("pattern", "^[a-z0-9]+$");
        f.SetOption("required", true);
    } else if (source_field != nullptr && col.column == "id") {
        f = MakeField(FieldType::kRelation, col.name);
        f.SetOptions({{"collectionId", source->id}, {"maxSelect", 1}, {"minSelect", 0}, {"cascadeDelete", false}});
    } else if (source_field != nullptr) {
        f = *source_field;
        f.name = col.name;
        f.system = false;
        f.id.clear();
    } else if (expr.rfind("count(", 0) == 0) {
        f = MakeField(FieldType::kNumber, col.name);
        f.SetOption("onlyInt", true);
    } else if (expr.rfind("total(", 0) == 0) {
        f = MakeField(FieldType::kNumber, col.name);
    } else if (const std::string cast = CastType(expr); !cast.empty()) {
        f = CastField(cast, col.name);
    } else {
        f = MakeField(FieldType::kJson, col.name);
    }
    return f;
}

// A column's field keeps the id it had (same name and type) in the view's `previous` fields.
void KeepFieldId(schema::Field& f, const std::string& column, const std::vector<schema::Field>& previous) {
    if (f.id.empty() || column != "id") {
        f.id = FieldIdFor(schema::FieldTypeName(f.type), f.name);
        for (const auto& p : previous) {
            if (p.name == f.name && p.type == f.type) {
                f.id = p.id;
            }
        }
    }
}

// "SELECT <each column> FROM (<query>)"; an id that is not a table column is cast to text.
std::string ViewSelectSql(const std::vector<db::ColumnSource>& columns, std::string_view query, bool id_is_column) {
    std::string sql = "SELECT ";
    for (std::size_t i = 0; i < columns.size(); ++i) {
        const std::string name = query::QuoteIdent(columns[i].name);
        sql += i > 0 ? ", " : "";
        sql += name == "\"id\"" && !id_is_column ? "CAST(\"id\" AS TEXT) AS \"id\"" : name;
    }
    sql += " FROM (" + std::string(query) + ")";
    return sql;
}

}  // namespace

Result<ViewShape> DescribeView(
    db::Executor& ex, std::string_view query, const schema::Catalog& catalog, const std::vector<schema::Field>& previous
) {
    BASALT_ASSIGN_OR_RETURN(auto exprs, SelectListOf(query));
    auto columns = ex.Describe(query, [&catalog](std::string_view table, std::string_view column) {
        return ViewMayRead(catalog, table, column);
    });
    if (!columns) {
        return columns.error();
    }
    if (columns->size() != exprs.size()) {
        return MakeError(ErrorCode::kInvalidArgument, "could not read the query's column list");
    }
    ViewShape out;
    std::set<std::string> names;
    bool has_id = false;
    bool id_is_column = false;
    for (std::size_t i = 0; i < columns->size(); ++i) {
        const db::ColumnSource& col = (*columns)[i];
        if (!IsWord(col.name)) {
            return MakeError(
                ErrorCode::kInvalidArgument, "column '" + col.name + "' needs a name of letters, digits and _ (use AS)"
            );
        }
        if (!names.insert(ToLower(col.name)).second) {
            return MakeError(ErrorCode::kInvalidArgument, "duplicated column name '" + col.name + "'");
        }
        if (col.name == "id") {
            has_id = true;
            id_is_column = !col.table.empty();
        }
        schema::Field f = ViewColumnField(col, ToLower(exprs[i]), catalog);
        KeepFieldId(f, col.name, previous);
        out.fields.push_back(std::move(f));
    }
    if (!has_id) {
        return MakeError(
            ErrorCode::kInvalidArgument,
            "missing required id column (you can use `(ROW_NUMBER() OVER()) as id` if you don't have one)"
        );
    }
    out.select_sql = ViewSelectSql(*columns, query, id_is_column);
    return out;
}

Result<ViewDryRun> DryRunView(
    db::Executor& ex, std::string_view query, const schema::Catalog& catalog, std::size_t sample_size
) {
    const std::string normalized = NormalizeViewQuery(query);
    BASALT_ASSIGN_OR_RETURN(auto shape, DescribeView(ex, normalized, catalog, {}));
    auto rows = ex.Query("SELECT * FROM (" + shape.select_sql + ") LIMIT ?", {static_cast<std::int64_t>(sample_size)});
    if (!rows) {
        return MakeError(ErrorCode::kInvalidArgument, "failed to retrieve query records: " + rows.error().message);
    }
    // PocketBase's warning for ids a sample already shows to be unusable.
    const int id = rows->ColumnIndex("id");
    std::set<std::string> seen;
    for (const auto& row : rows->rows) {
        std::string value;
        if (id >= 0) {
            const db::Value& v = row[static_cast<std::size_t>(id)];
            value =
                std::holds_alternative<std::int64_t>(v) ? std::to_string(std::get<std::int64_t>(v)) : db::AsString(v);
        }
        if (value.empty()) {
            return MakeError(ErrorCode::kInvalidArgument, "the query could return records with empty or invalid ids");
        }
        if (!seen.insert(value).second) {
            return MakeError(ErrorCode::kInvalidArgument, "the query could return records with non-unique ids");
        }
    }
    return ViewDryRun{std::move(shape), std::move(*rows)};
}

}  // namespace basalt::collections
