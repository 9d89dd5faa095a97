// SPDX-License-Identifier: MIT
#include "collections/ddl.hpp"

#include <cctype>

#include "core/text.hpp"
#include "query/compiler.hpp"

namespace basalt::collections {

namespace {

using schema::ValueShape;

std::string Upper(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return out;
}

// Splits SQL-ish text into tokens: words, quoted identifiers (unquoted), and single punctuation.
std::vector<std::string> Tokens(std::string_view s, bool& ok) {
    std::vector<std::string> out;
    ok = true;
    std::size_t i = 0;
    while (i < s.size()) {
        const char c = s[i];
        if (std::isspace(static_cast<unsigned char>(c))) {
            ++i;
        } else if (c == '`' || c == '"' || c == '[') {
            const char close = c == '[' ? ']' : c;
            const auto end = s.find(close, i + 1);
            if (end == std::string_view::npos) {
                ok = false;
                return out;
            }
            out.emplace_back(s.substr(i + 1, end - i - 1));
            i = end + 1;
        } else if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') {
            const std::size_t start = i;
            while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_')) {
                ++i;
            }
            out.emplace_back(s.substr(start, i - start));
        } else {
            out.emplace_back(1, c);
            ++i;
        }
    }
    return out;
}

// A single relation's foreign key: ON DELETE CASCADE with cascadeDelete, RESTRICT when required,
// SET NULL otherwise; none while its collection is unknown.
std::string ForeignKeySql(const schema::Field& f, const schema::Catalog& catalog) {
    const schema::Collection* target = catalog.Find(f.CollectionId());
    if (target == nullptr) {
        return "";
    }
    const char* action = f.Options().cascade_delete ? "CASCADE" : f.Options().required ? "RESTRICT" : "SET NULL";
    return " REFERENCES " + query::QuoteIdent(target->name) + " (\"id\") ON DELETE " + action;
}

}  // namespace

std::string ColumnSql(const schema::Field& f, const schema::Catalog& catalog) {
    const std::string name = query::QuoteIdent(f.name);
    if (f.name == "id") {
        return name + " TEXT PRIMARY KEY DEFAULT ('r'||lower(hex(randomblob(7)))) NOT NULL";
    }
    switch (f.Shape()) {
        case ValueShape::kList:
            return name + " JSON DEFAULT '[]' NOT NULL";
        case ValueShape::kNumber:
            return name + " NUMERIC DEFAULT 0 NOT NULL";
        case ValueShape::kBool:
            return name + " BOOLEAN DEFAULT FALSE NOT NULL";
        case ValueShape::kJson:
            return name + " JSON DEFAULT NULL";
        case ValueShape::kGeoPoint:
            return name + R"( JSON DEFAULT '{"lon":0,"lat":0}' NOT NULL)";
        case ValueShape::kRelation:
            return name + " TEXT DEFAULT NULL" + ForeignKeySql(f, catalog);
        case ValueShape::kText:
            break;
    }
    return name + " TEXT DEFAULT '' NOT NULL";
}

std::string CreateTableSql(const schema::Collection& c, const schema::Catalog& catalog) {
    std::string sql = "CREATE TABLE " + query::QuoteIdent(c.name) + " (";
    for (std::size_t i = 0; i < c.fields.size(); ++i) {
        if (i > 0) {
            sql += ", ";
        }
        sql += ColumnSql(c.fields[i], catalog);
    }
    sql += ")";
    return sql;
}

Result<IndexDef> ParseIndex(std::string_view sql, const schema::Collection& collection) {
    // PocketBase's message for a definition that does not parse; other problems are named.
    static const std::string kSyntax = "invalid CREATE INDEX expression";
    auto bad = [](const std::string& why) {
        return MakeError(ErrorCode::kInvalidArgument, why, "indexes");
    };
    if (sql.size() > 2000) {
        return bad("the index definition is too long");
    }
    bool ok = true;
    const auto t = Tokens(sql, ok);
    if (!ok) {
        return bad(kSyntax);
    }
    std::size_t i = 0;
    auto word = [&](std::string_view w) {
        if (i < t.size() && Upper(t[i]) == w) {
            ++i;
            return true;
        }
        return false;
    };
    IndexDef def;
    if (!word("CREATE")) {
        return bad(kSyntax);
    }
    def.unique = word("UNIQUE");
    if (!word("INDEX")) {
        return bad(kSyntax);
    }
    if (word("IF")) {
        if (!word("NOT") || !word("EXISTS")) {
            return bad(kSyntax);
        }
    }
    if (i >= t.size() || !IsWord(t[i])) {
        return bad(kSyntax);
    }
    def.name = t[i++];
    if (!word("ON")) {
        return bad(kSyntax);
    }
    if (i >= t.size() || t[i] != collection.name) {
        return bad("an index may only be defined on its own collection's table");
    }
    ++i;
    if (i >= t.size() || t[i] != "(") {
        return bad(kSyntax);
    }
    ++i;
    for (;;) {
        if (i >= t.size() || !IsWord(t[i]) || collection.FindField(t[i]) == nullptr) {
            return bad("an index column must be a field of the collection");
        }
        std::string col = "`" + t[i++] + "`";
        if (word("COLLATE")) {
            if (i >= t.size()) {
                return bad("expected a collation");
            }
            const std::string coll = Upper(t[i++]);
            if (coll != "NOCASE" && coll != "BINARY" && coll != "RTRIM") {
                return bad("unknown collation " + coll);
            }
            col += " COLLATE " + coll;
        }
        if (word("ASC")) {
            col += " ASC";
        } else if (word("DESC")) {
            col += " DESC";
        }
        def.columns.push_back(std::move(col));
        if (i < t.size() && t[i] == ",") {
            ++i;
            continue;
        }
        if (i < t.size() && t[i] == ")") {
            ++i;
            break;
        }
        return bad(kSyntax);
    }
    if (word("WHERE")) {
        // The one partial form allowed: WHERE <field> != '' (the auth collections' email index).
        const bool simple = i + 4 <= t.size() && IsWord(t[i]) && collection.FindField(t[i]) != nullptr &&
                            t[i + 1] == "!" && t[i + 2] == "=" && t[i + 3] == "'" && i + 4 < t.size() &&
                            t[i + 4] == "'";
        if (!simple) {
            return bad("the only WHERE clause allowed in an index is `WHERE <field> != ''`");
        }
        def.where_not_empty = t[i];
        i += 5;
    }
    if (i != t.size() && !(i + 1 == t.size() && t[i] == ";")) {
        return bad("only plain column indexes are supported (no expressions)");
    }
    return def;
}

std::string IndexText(const IndexDef& index, std::string_view table) {
    std::string s = std::string("CREATE ") + (index.unique ? "UNIQUE " : "") + "INDEX `" + index.name + "` ON `" +
                    std::string(table) + "` (";
    for (std::size_t i = 0; i < index.columns.size(); ++i) {
        s += (i > 0 ? ", " : "") + index.columns[i];
    }
    s += ")";
    if (!index.where_not_empty.empty()) {
        s += " WHERE `" + index.where_not_empty + "` != ''";
    }
    return s;
}

std::string IndexSql(const IndexDef& index, std::string_view table) {
    std::string s = IndexText(index, table);
    for (char& c : s) {
        if (c == '`') {
            c = '"';
        }
    }
    return s;
}

}  // namespace basalt::collections
