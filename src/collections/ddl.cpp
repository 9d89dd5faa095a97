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

// PocketBase's message for a definition that does not parse; other problems are named.
const char* const kIndexSyntax = "invalid CREATE INDEX expression";

Error BadIndex(const std::string& why) {
    return MakeError(ErrorCode::kInvalidArgument, why, "indexes");
}

// Reads the tokens of one CREATE INDEX definition front to back:
// CREATE [UNIQUE] INDEX [IF NOT EXISTS] <name> ON <table> (<column>, ...) [WHERE <field> != ''] [;]
class IndexParser {
public:
    IndexParser(const std::vector<std::string>& tokens, const schema::Collection& collection)
        : t_(tokens),
          collection_(collection) {}

    Result<IndexDef> Parse() {
        IndexDef def;
        BASALT_TRY(Head(def));
        BASALT_TRY(Columns(def));
        BASALT_TRY(Where(def));
        if (i_ != t_.size() && !(i_ + 1 == t_.size() && t_[i_] == ";")) {
            return BadIndex("only plain column indexes are supported (no expressions)");
        }
        return def;
    }

private:
    // Takes the keyword `w` (any case) when it comes next.
    bool Word(std::string_view w) {
        if (i_ < t_.size() && Upper(t_[i_]) == w) {
            ++i_;
            return true;
        }
        return false;
    }

    // CREATE [UNIQUE] INDEX [IF NOT EXISTS] <name> ON <own table> (
    Result<void> Head(IndexDef& def) {
        if (!Word("CREATE")) {
            return BadIndex(kIndexSyntax);
        }
        def.unique = Word("UNIQUE");
        if (!Word("INDEX")) {
            return BadIndex(kIndexSyntax);
        }
        if (Word("IF")) {
            if (!Word("NOT") || !Word("EXISTS")) {
                return BadIndex(kIndexSyntax);
            }
        }
        if (i_ >= t_.size() || !IsWord(t_[i_])) {
            return BadIndex(kIndexSyntax);
        }
        def.name = t_[i_++];
        if (!Word("ON")) {
            return BadIndex(kIndexSyntax);
        }
        if (i_ >= t_.size() || t_[i_] != collection_.name) {
            return BadIndex("an index may only be defined on its own collection's table");
        }
        ++i_;
        if (i_ >= t_.size() || t_[i_] != "(") {
            return BadIndex(kIndexSyntax);
        }
        ++i_;
        return Ok();
    }

    // <column>, ... ) after the opening parenthesis.
    Result<void> Columns(IndexDef& def) {
        for (;;) {
            BASALT_ASSIGN_OR_RETURN(auto col, Column());
            def.columns.push_back(std::move(col));
            if (i_ < t_.size() && t_[i_] == ",") {
                ++i_;
                continue;
            }
            if (i_ < t_.size() && t_[i_] == ")") {
                ++i_;
                return Ok();
            }
            return BadIndex(kIndexSyntax);
        }
    }

    // <field> [COLLATE NOCASE|BINARY|RTRIM] [ASC|DESC], as "`field` COLLATE ... ASC".
    Result<std::string> Column() {
        if (i_ >= t_.size() || !IsWord(t_[i_]) || collection_.FindField(t_[i_]) == nullptr) {
            return BadIndex("an index column must be a field of the collection");
        }
        std::string col = "`" + t_[i_++] + "`";
        if (Word("COLLATE")) {
            if (i_ >= t_.size()) {
                return BadIndex("expected a collation");
            }
            const std::string coll = Upper(t_[i_++]);
            if (coll != "NOCASE" && coll != "BINARY" && coll != "RTRIM") {
                return BadIndex("unknown collation " + coll);
            }
            col += " COLLATE " + coll;
        }
        if (Word("ASC")) {
            col += " ASC";
        } else if (Word("DESC")) {
            col += " DESC";
        }
        return col;
    }

    // The one partial form allowed: WHERE <field> != '' (the auth collections' email index).
    Result<void> Where(IndexDef& def) {
        if (!Word("WHERE")) {
            return Ok();
        }
        const bool simple = i_ + 4 <= t_.size() && IsWord(t_[i_]) && collection_.FindField(t_[i_]) != nullptr &&
                            t_[i_ + 1] == "!" && t_[i_ + 2] == "=" && t_[i_ + 3] == "'" && i_ + 4 < t_.size() &&
                            t_[i_ + 4] == "'";
        if (!simple) {
            return BadIndex("the only WHERE clause allowed in an index is `WHERE <field> != ''`");
        }
        def.where_not_empty = t_[i_];
        i_ += 5;
        return Ok();
    }

    const std::vector<std::string>& t_;
    const schema::Collection& collection_;
    std::size_t i_ = 0;
};

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
    if (sql.size() > 2000) {
        return BadIndex("the index definition is too long");
    }
    bool ok = true;
    const auto tokens = Tokens(sql, ok);
    if (!ok) {
        return BadIndex(kIndexSyntax);
    }
    return IndexParser(tokens, collection).Parse();
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
