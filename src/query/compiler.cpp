// SPDX-License-Identifier: MIT
#include "query/compiler.hpp"

#include <charconv>
#include <ctime>
#include <map>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace basalt::query {

namespace {

// A piece of SQL with the values of its placeholders, in order.
struct Frag {
    std::string sql;
    std::vector<db::Value> params;
};

Frag Lit(std::string sql) {
    return {std::move(sql), {}};
}

// Formats `pattern`, replacing {0}, {1}, ... with the fragments (a fragment may be used several
// times; its params are repeated in text order).
Frag Fmt(std::string_view pattern, std::initializer_list<const Frag*> parts) {
    Frag out;
    const std::vector<const Frag*> v(parts);
    for (std::size_t i = 0; i < pattern.size(); ++i) {
        if (pattern[i] == '{' && i + 2 < pattern.size() && pattern[i + 2] == '}' && pattern[i + 1] >= '0' &&
            pattern[i + 1] <= '9') {
            const Frag& f = *v.at(static_cast<std::size_t>(pattern[i + 1] - '0'));
            out.sql += f.sql;
            out.params.insert(out.params.end(), f.params.begin(), f.params.end());
            i += 2;
        } else {
            out.sql.push_back(pattern[i]);
        }
    }
    return out;
}

Frag Param(db::Value v) {
    return {"?", {std::move(v)}};
}

enum class LitKind { kNone, kEmpty, kNonEmpty };

// One resolved operand.
struct Resolved {
    Frag expr;
    LitKind lit = LitKind::kNone;  // literal values (and @request.* values) are classified
    bool multi = false;            // the operand fans out to several values
    Frag mm;                       // when multi: SELECT <value> AS "mm" ... (independent of the main joins)
    bool no_coalesce = false;      // JSON values: compared with IS / IS NOT
};

Error Invalid(std::string message, std::string field = "filter") {
    return MakeError(ErrorCode::kInvalidArgument, std::move(message), std::move(field));
}

std::vector<std::string> Split(std::string_view s, char sep) {
    std::vector<std::string> out;
    std::size_t start = 0;
    for (;;) {
        const auto pos = s.find(sep, start);
        out.emplace_back(s.substr(start, pos == std::string_view::npos ? std::string_view::npos : pos - start));
        if (pos == std::string_view::npos) {
            return out;
        }
        start = pos + 1;
    }
}

bool IsIndex(std::string_view s) {
    if (s.empty() || s.size() > 9) {
        return false;
    }
    for (char c : s) {
        if (c < '0' || c > '9') {
            return false;
        }
    }
    return true;
}

bool IsPlainKey(std::string_view s) {
    if (s.empty()) {
        return false;
    }
    for (char c : s) {
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) {
            return false;
        }
    }
    return true;
}

db::Value JsonToValue(const boost::json::value* v, LitKind& kind) {
    kind = LitKind::kNonEmpty;
    if (v == nullptr || v->is_null()) {
        kind = LitKind::kEmpty;
        return nullptr;
    }
    if (v->is_string()) {
        if (v->as_string().empty()) {
            kind = LitKind::kEmpty;
        }
        return std::string(v->as_string());
    }
    if (v->is_bool()) {
        return static_cast<std::int64_t>(v->as_bool() ? 1 : 0);
    }
    if (v->is_int64()) {
        return v->as_int64();
    }
    if (v->is_uint64()) {
        return static_cast<double>(v->as_uint64());
    }
    if (v->is_double()) {
        return v->as_double();
    }
    return boost::json::serialize(*v);  // arrays and objects compare as their JSON text
}

Resolved LiteralOf(db::Value v, LitKind kind) {
    Resolved r;
    r.expr = Param(std::move(v));
    r.lit = kind;
    return r;
}

// PocketBase's LIKE operand: wrapped in % unless it has an unescaped %; \ % _ escaped then.
std::string WrapLike(const std::string& v) {
    bool has_wildcard = false;
    char prev = 0;
    for (char c : v) {
        if (c == '%' && prev != '\\') {
            has_wildcard = true;
            break;
        }
        prev = (c == '\\' && prev == '\\') ? '\0' : c;
    }
    if (has_wildcard) {
        return v;
    }
    std::string out = "%";
    for (std::size_t i = 0; i < v.size(); ++i) {
        const char c = v[i];
        if ((c == '%' || c == '_' || c == '\\') && !(i > 0 && v[i - 1] == '\\')) {
            // an already escaped character keeps its single backslash
            if (c == '\\' && i + 1 < v.size() && (v[i + 1] == '%' || v[i + 1] == '_' || v[i + 1] == '\\')) {
                out.push_back(c);
                continue;
            }
            out.push_back('\\');
        }
        out.push_back(c);
    }
    out.push_back('%');
    return out;
}

std::string DateString(std::time_t secs, int ms) {
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[96];
    std::snprintf(
        buf,
        sizeof(buf),
        "%04d-%02d-%02d %02d:%02d:%02d.%03dZ",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        ms
    );
    return buf;
}

// The datetime macros, computed in UTC from `now`.
std::optional<db::Value> Macro(std::string_view name, SystemTime now) {
    const auto secs = static_cast<std::time_t>(UnixSeconds(now));
    const int ms =
        static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    auto at = [](int year, int mon, int day, int h, int m, int s) {
        std::tm t{};
        t.tm_year = year - 1900;
        t.tm_mon = mon;
        t.tm_mday = day;
        t.tm_hour = h;
        t.tm_min = m;
        t.tm_sec = s;
        return timegm(&t);
    };
    const int year = tm.tm_year + 1900;
    if (name == "@now") {
        return DateString(secs, ms);
    }
    if (name == "@yesterday") {
        return DateString(secs - 86400, ms);
    }
    if (name == "@tomorrow") {
        return DateString(secs + 86400, ms);
    }
    if (name == "@todayStart") {
        return DateString(at(year, tm.tm_mon, tm.tm_mday, 0, 0, 0), 0);
    }
    if (name == "@todayEnd") {
        return DateString(at(year, tm.tm_mon, tm.tm_mday, 23, 59, 59), 999);
    }
    if (name == "@monthStart") {
        return DateString(at(year, tm.tm_mon, 1, 0, 0, 0), 0);
    }
    if (name == "@monthEnd") {
        return DateString(at(year, tm.tm_mon + 1, 1, 0, 0, 0) - 1, 999);
    }
    if (name == "@yearStart") {
        return DateString(at(year, 0, 1, 0, 0, 0), 0);
    }
    if (name == "@yearEnd") {
        return DateString(at(year + 1, 0, 1, 0, 0, 0) - 1, 999);
    }
    if (name == "@second") {
        return static_cast<std::int64_t>(tm.tm_sec);
    }
    if (name == "@minute") {
        return static_cast<std::int64_t>(tm.tm_min);
    }
    if (name == "@hour") {
        return static_cast<std::int64_t>(tm.tm_hour);
    }
    if (name == "@weekday") {
        return static_cast<std::int64_t>(tm.tm_wday);
    }
    if (name == "@day") {
        return static_cast<std::int64_t>(tm.tm_mday);
    }
    if (name == "@month") {
        return static_cast<std::int64_t>(tm.tm_mon + 1);
    }
    if (name == "@year") {
        return static_cast<std::int64_t>(year);
    }
    return std::nullopt;
}

// Where joins go while a path is walked: the shared joins of the main query, or the private
// joins of one multi-match subquery.
struct JoinSink {
    std::string prefix;  // alias prefix
    std::map<std::string, std::string> by_key;
    std::vector<Frag> joins;
    std::size_t* budget = nullptr;  // shared limit on the number of joins

    // The alias for `key`; `created` tells whether the caller must add the join now.
    Result<std::string> Alias(const std::string& key, bool& created) {
        if (auto it = by_key.find(key); it != by_key.end()) {
            created = false;
            return it->second;
        }
        if (budget != nullptr) {
            if (*budget == 0) {
                return Invalid("the filter needs too many joins (relations, back-relations, @collection, :each)");
            }
            --*budget;
        }
        created = true;
        std::string alias = prefix + std::to_string(by_key.size() + 1);
        by_key.emplace(key, alias);
        return alias;
    }
};

// The start of a path: a collection under an alias.
struct Root {
    const schema::Collection* collection = nullptr;
    std::string alias;  // quoted
    bool multi = false;
};

}  // namespace

std::string QuoteIdent(std::string_view name) {
    std::string out = "\"";
    for (char c : name) {
        if (c == '"') {
            out.push_back('"');
        }
        out.push_back(c);
    }
    out.push_back('"');
    return out;
}

struct Compiler::Impl {
    const schema::Collection& root;
    const schema::Catalog& catalog;
    CompileOptions opt;
    std::size_t join_budget;
    JoinSink main;
    std::vector<Frag> filters;
    Frag order;
    std::string order_last_column;  // see CompiledFilter
    bool order_last_descending = false;
    std::size_t order_last_offset = 0;
    std::size_t mm_counter = 0;

    std::string root_alias;  // quoted
    std::size_t* nested_counter = nullptr;

    Impl(const schema::Collection& r, const schema::Catalog& c, CompileOptions o)
        : root(r),
          catalog(c),
          opt(std::move(o)),
          join_budget(opt.max_joins),
          root_alias(QuoteIdent(r.name)) {
        main.prefix = "__j";
        main.budget = &join_budget;
        nested_counter = &nested;
    }

    std::string RootAlias() const { return root_alias; }

    std::size_t nested = 0;  // list-rule compilations made so far (unique alias prefixes)

    // A client filter or sort (not a rule, not a superuser) joined `target` under `alias`: the
    // target's list rule applies to what the filter sees of it, as PocketBase's resolver does.
    // A null rule refuses the join; "" adds nothing; a rule is compiled for the joined alias (its own
    // joins after ours) and ANDed at the top level: "id = '' OR (rule)" keeps a filter over an empty
    // relation meaningful.
    Result<void> GuardJoin(const schema::Collection& target, const std::string& alias) {
        if (opt.allow_hidden) {
            return Ok();
        }
        if (opt.readable && !opt.readable(target)) {
            return MakeError(
                ErrorCode::kForbidden,
                "The API key does not allow reading the " + target.name + " collection.",
                "filter"
            );
        }
        if (!target.list_rule) {
            return Invalid("the fields of " + target.name + " can be filtered only by superusers");
        }
        if (target.list_rule->empty()) {
            return Ok();
        }
        CompileOptions o = opt;
        o.allow_hidden = true;
        o.allow_request = true;
        o.readable = nullptr;
        Impl inner(target, catalog, o);
        inner.root_alias = alias;
        inner.main.prefix = "__r" + std::to_string(++*nested_counter) + "_";
        inner.main.budget = main.budget;
        inner.nested_counter = nested_counter;
        inner.mm_counter = mm_counter;  // subquery aliases stay unique across both
        ParseLimits limits;
        limits.max_length = 1U << 16U;
        limits.max_expressions = 1000;
        auto ast = Parse("id = '' || (\n" + *target.list_rule + "\n)", limits);
        if (!ast) {
            return MakeError(
                ErrorCode::kForbidden, "The " + target.name + " collection's list rule is invalid.", "filter"
            );
        }
        auto expr = inner.CompileExpr(*ast);
        mm_counter = inner.mm_counter;
        if (!expr) {
            return MakeError(
                ErrorCode::kForbidden, "The " + target.name + " collection's list rule is invalid.", "filter"
            );
        }
        for (auto& j : inner.main.joins) {
            main.joins.push_back(std::move(j));
        }
        filters.push_back(std::move(*expr));
        return Ok();
    }

    // An auth record's email, for a client filter: NULL unless public or the caller's own (PocketBase
    // ANDs emailVisibility to the comparison; a NULL value makes every comparison with a value fail,
    // also inside multi-value subqueries and sorts).
    Frag VisibleEmail(const schema::Collection& c, const std::string& alias, const std::string& col) const {
        std::string owner;
        if (opt.request != nullptr && opt.request->auth) {
            const auto* id = opt.request->auth->if_contains("id");
            const auto* cid = opt.request->auth->if_contains("collectionId");
            if (id != nullptr && id->is_string() && cid != nullptr && cid->is_string() && cid->as_string() == c.id) {
                owner = std::string(id->as_string());
            }
        }
        if (owner.empty()) {
            return Lit("(CASE WHEN " + alias + ".\"emailVisibility\" = 1 THEN " + col + " END)");
        }
        return Frag{
            "(CASE WHEN " + alias + ".\"emailVisibility\" = 1 OR " + alias + ".\"id\" = ? THEN " + col + " END)",
            {owner}};
    }

    // ---- expressions -------------------------------------------------------------------------

    Result<Frag> CompileExpr(const Expr& e) {
        Frag out;
        bool first = true;
        std::size_t parts = 0;
        for (const auto& item : e.items) {
            Frag part;
            if (const auto* cmp = std::get_if<Comparison>(&item.node)) {
                BASALT_ASSIGN_OR_RETURN(auto r, CompileComparison(*cmp));
                part = std::move(r);
            } else {
                BASALT_ASSIGN_OR_RETURN(auto r, CompileExpr(*std::get<std::unique_ptr<Expr>>(item.node)));
                part = std::move(r);
            }
            if (!first) {
                out.sql += item.join == JoinOp::kAnd ? " AND " : " OR ";
            }
            first = false;
            out.sql += part.sql;
            out.params.insert(out.params.end(), part.params.begin(), part.params.end());
            ++parts;
        }
        if (parts > 1) {
            out.sql = "(" + out.sql + ")";
        }
        return out;
    }

    Result<Frag> CompileComparison(const Comparison& c) {
        BASALT_ASSIGN_OR_RETURN(auto left, ResolveOperand(c.left));
        BASALT_ASSIGN_OR_RETURN(auto right, ResolveOperand(c.right));
        const Op base = BaseOp(c.op);
        Frag expr = BuildOp(left, base, right);
        if (IsAnyOf(c.op)) {
            return expr;
        }
        // Plain operators on operands that fan out must hold for every value (match-all): the
        // joined row satisfies it AND no value of an independent subquery fails it.
        if (left.multi && right.multi) {
            const std::string l = "\"__ml" + std::to_string(++mm_counter) + "\"";
            const std::string r = "\"__mr" + std::to_string(mm_counter) + "\"";
            Resolved lv;
            lv.expr = Lit(l + ".\"mm\"");
            lv.no_coalesce = left.no_coalesce;
            Resolved rv;
            rv.expr = Lit(r + ".\"mm\"");
            rv.no_coalesce = right.no_coalesce;
            Frag cond = BuildOp(lv, base, rv);
            Frag null_check =
                base == Op::kEq ? Lit("") : Lit(" OR " + lv.expr.sql + " IS NULL OR " + rv.expr.sql + " IS NULL");
            Frag la = Lit(l);
            Frag ra = Lit(r);
            return Fmt(
                "({0} AND NOT EXISTS (SELECT 1 FROM ({1}) {2} LEFT JOIN ({3}) {4} ON 1=1 WHERE NOT ({5}){6}))",
                {&expr, &left.mm, &la, &right.mm, &ra, &cond, &null_check}
            );
        }
        if (left.multi || right.multi) {
            const Resolved& many = left.multi ? left : right;
            const Resolved& one = left.multi ? right : left;
            const std::string alias = "\"__sm" + std::to_string(++mm_counter) + "\"";
            Resolved mv;
            mv.expr = Lit(alias + ".\"mm\"");
            mv.no_coalesce = many.no_coalesce;
            Resolved ov = one;
            ov.multi = false;
            Frag cond = left.multi ? BuildOp(mv, base, ov) : BuildOp(ov, base, mv);
            Frag null_check = base == Op::kEq ? Lit("") : Lit(" OR " + mv.expr.sql + " IS NULL");
            Frag a = Lit(alias);
            return Fmt(
                "({0} AND NOT EXISTS (SELECT 1 FROM ({1}) {2} WHERE NOT ({3}){4}))",
                {&expr, &many.mm, &a, &cond, &null_check}
            );
        }
        return expr;
    }

    // = != ~ !~ < <= > >= on two resolved operands (PocketBase's null/empty normalisation).
    static Frag BuildOp(const Resolved& l, Op op, const Resolved& r) {
        switch (op) {
            case Op::kEq:
            case Op::kNeq:
                return BuildEqual(op == Op::kEq, l, r);
            case Op::kLike:
            case Op::kNotLike: {
                const char* kw = op == Op::kLike ? " LIKE " : " NOT LIKE ";
                if (r.lit != LitKind::kNone && r.expr.params.size() == 1) {
                    db::Value v = r.expr.params[0];
                    if (const auto* s = std::get_if<std::string>(&v)) {
                        v = WrapLike(*s);
                    } else if (std::holds_alternative<std::nullptr_t>(v)) {
                        v = std::string("%%");
                    } else {
                        v = WrapLike(db::AsString(v));
                    }
                    Frag rv = Param(std::move(v));
                    return Fmt(std::string("{0}") + kw + "{1} ESCAPE '\\'", {&l.expr, &rv});
                }
                return Fmt(std::string("{0}") + kw + "('%' || {1} || '%') ESCAPE '\\'", {&l.expr, &r.expr});
            }
            case Op::kLt:
                return Fmt("{0} < {1}", {&l.expr, &r.expr});
            case Op::kLte:
                return Fmt("{0} <= {1}", {&l.expr, &r.expr});
            case Op::kGt:
                return Fmt("{0} > {1}", {&l.expr, &r.expr});
            case Op::kGte:
                return Fmt("{0} >= {1}", {&l.expr, &r.expr});
            default:
                break;
        }
        return Lit("0=1");
    }

    static Frag BuildEqual(bool equal, const Resolved& l, const Resolved& r) {
        const std::string eq = equal ? " = " : " IS NOT ";
        const std::string null_eq = equal ? " IS " : " IS NOT ";
        if (l.no_coalesce || r.no_coalesce) {
            return Fmt("{0}" + null_eq + "{1}", {&l.expr, &r.expr});
        }
        const bool le = l.lit == LitKind::kEmpty;
        const bool re = r.lit == LitKind::kEmpty;
        if (le && re) {
            return Lit("''" + eq + "''");
        }
        if (l.lit == LitKind::kNonEmpty || r.lit == LitKind::kNonEmpty) {
            const Frag empty = Lit("''");
            return Fmt("{0}" + eq + "{1}", {le ? &empty : &l.expr, re ? &empty : &r.expr});
        }
        const std::string join = equal ? " OR " : " AND ";
        const std::string null_check = equal ? " IS NULL" : " IS NOT NULL";
        if (le) {
            return Fmt("(''" + eq + "{0}" + join + "{0}" + null_check + ")", {&r.expr});
        }
        if (re) {
            return Fmt("({0}" + eq + "''" + join + "{0}" + null_check + ")", {&l.expr});
        }
        return Fmt("COALESCE({0}, '')" + eq + "COALESCE({1}, '')", {&l.expr, &r.expr});
    }

    // ---- operands ----------------------------------------------------------------------------

    Result<Resolved> ResolveOperand(const Operand& o) {
        switch (o.kind) {
            case Operand::Kind::kText: {
                const LitKind k = o.value.empty() ? LitKind::kEmpty : LitKind::kNonEmpty;
                return LiteralOf(o.value, k);
            }
            case Operand::Kind::kNumber:
                return LiteralOf(ParseNumber(o.value), LitKind::kNonEmpty);
            case Operand::Kind::kNull:
            case Operand::Kind::kTrue:
            case Operand::Kind::kFalse: {
                if (root.FindField(o.value) != nullptr) {
                    return ResolveIdentifier(o.value);  // a field named like the keyword wins
                }
                Resolved r;
                r.expr = Lit(o.kind == Operand::Kind::kNull ? "NULL" : o.kind == Operand::Kind::kTrue ? "1" : "0");
                r.lit = o.kind == Operand::Kind::kNull ? LitKind::kEmpty : LitKind::kNonEmpty;
                return r;
            }
            case Operand::Kind::kFunction:
                return ResolveFunction(o);
            case Operand::Kind::kIdentifier:
                return ResolveIdentifier(o.value);
        }
        return Invalid("unsupported operand");
    }

    static db::Value ParseNumber(const std::string& text) {
        if (text.find('.') == std::string::npos) {
            std::int64_t v = 0;
            auto [p, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
            if (ec == std::errc() && p == text.data() + text.size()) {
                return v;
            }
        }
        return std::strtod(text.c_str(), nullptr);
    }

    Result<Resolved> ResolveFunction(const Operand& o) {
        std::vector<Resolved> args;
        for (const auto& a : o.args) {
            BASALT_ASSIGN_OR_RETURN(auto r, ResolveOperand(a));
            if (r.multi) {
                return Invalid(o.value + "() arguments must be single values");
            }
            args.push_back(std::move(r));
        }
        Resolved out;
        if (o.value == "geoDistance") {
            if (args.size() != 4) {
                return Invalid("geoDistance() takes 4 arguments: lonA, latA, lonB, latB");
            }
            // Haversine, km; the clamp keeps float rounding out of acos' domain.
            out.expr =
                Fmt("(6371 * acos(MIN(1.0, MAX(-1.0, cos(radians({1})) * cos(radians({3})) * cos(radians({2}) - "
                    "radians({0})) + sin(radians({1})) * sin(radians({3}))))))",
                    {&args[0].expr, &args[1].expr, &args[2].expr, &args[3].expr});
            return out;
        }
        if (o.value == "strftime") {
            if (args.empty() || args.size() > 10) {
                return Invalid("strftime() takes a format, an optional time value and up to 8 modifiers");
            }
            out.expr.sql = "COALESCE(strftime(";
            for (std::size_t i = 0; i < args.size(); ++i) {
                if (i > 0) {
                    out.expr.sql += ", ";
                }
                out.expr.sql += args[i].expr.sql;
                out.expr.params.insert(out.expr.params.end(), args[i].expr.params.begin(), args[i].expr.params.end());
            }
            out.expr.sql += "), '')";
            return out;
        }
        return Invalid("unknown function " + o.value + "()");
    }

    // Splits "path:modifier" (the modifier applies to the last segment only).
    static std::pair<std::string, std::string> SplitModifier(std::string_view ident) {
        const auto colon = ident.rfind(':');
        const auto dot = ident.rfind('.');
        if (colon == std::string_view::npos || (dot != std::string_view::npos && dot > colon)) {
            return {std::string(ident), ""};
        }
        return {std::string(ident.substr(0, colon)), std::string(ident.substr(colon + 1))};
    }

    Result<Resolved> ResolveIdentifier(std::string_view ident) {
        if (ident.front() == '@') {
            if (auto m = Macro(ident, opt.now)) {
                return LiteralOf(*m, LitKind::kNonEmpty);
            }
            if (ident.rfind("@request.", 0) == 0) {
                if (!opt.allow_request) {
                    return MakeError(ErrorCode::kForbidden, "Only superusers can filter by '@request.'", "filter");
                }
                return ResolveRequest(ident.substr(9));
            }
            if (ident.rfind("@collection.", 0) == 0) {
                if (!opt.allow_request) {
                    return MakeError(ErrorCode::kForbidden, "Only superusers can filter by '@collection.'", "filter");
                }
                return ResolveCollectionRef(ident.substr(12));
            }
            return Invalid("unknown identifier " + std::string(ident));
        }
        auto [path, modifier] = SplitModifier(ident);
        Root r{&root, RootAlias(), false};
        return ResolvePath(r, path, modifier, [this](const std::string& a) {
            return Frag{
                "SELECT {V} AS \"mm\" FROM " + QuoteIdent(root.name) + " " + a + "{J} WHERE " + a +
                    ".\"id\" = " + RootAlias() + ".\"id\"",
                {}};
        });
    }

    Result<Resolved> ResolveCollectionRef(std::string_view rest) {
        const auto dot = rest.find('.');
        if (dot == std::string_view::npos) {
            return Invalid("@collection needs a field: @collection.<name>.<field>");
        }
        std::string name(rest.substr(0, dot));
        std::string alias_name;
        if (const auto colon = name.find(':'); colon != std::string::npos) {
            alias_name = name.substr(colon + 1);
            name = name.substr(0, colon);
            if (!IsPlainKey(alias_name)) {
                return Invalid("invalid @collection alias");
            }
        }
        const schema::Collection* c = catalog.Find(name);
        if (c == nullptr) {
            return Invalid("unknown collection in @collection." + name);
        }
        if (opt.readable && !opt.readable(*c)) {
            return MakeError(
                ErrorCode::kForbidden, "The API key does not allow reading the " + c->name + " collection.", "filter"
            );
        }
        bool created = false;
        BASALT_ASSIGN_OR_RETURN(auto alias, main.Alias("@collection." + c->id + ":" + alias_name, created));
        const std::string qa = QuoteIdent(alias);
        if (created) {
            main.joins.push_back(Lit("LEFT JOIN " + QuoteIdent(c->name) + " " + qa + " ON 1=1"));
        }
        auto [path, modifier] = SplitModifier(rest.substr(dot + 1));
        Root r{c, qa, true};
        return ResolvePath(r, path, modifier, [c](const std::string& a) {
            return Frag{"SELECT {V} AS \"mm\" FROM " + QuoteIdent(c->name) + " " + a + "{J}", {}};
        });
    }

    // Walks `path` from `start`, adding joins to `sink`; returns the value expression.
    struct Walked {
        Frag value;
        bool multi = false;
        bool no_coalesce = false;
    };

    template <typename MmTemplate>
    Result<Resolved> ResolvePath(
        const Root& start, const std::string& path, const std::string& modifier, MmTemplate mm_template
    ) {
        BASALT_ASSIGN_OR_RETURN(auto walked, Walk(start, path, modifier, main));
        Resolved out;
        out.expr = std::move(walked.value);
        out.multi = walked.multi;
        out.no_coalesce = walked.no_coalesce;
        if (out.multi) {
            // The same path again, on private joins, as an independent subquery.
            JoinSink sink;
            const std::string alias = "\"__mm" + std::to_string(++mm_counter) + "\"";
            sink.prefix = "__mm" + std::to_string(mm_counter) + "_";
            sink.budget = &join_budget;
            Root again{start.collection, alias, start.multi};
            BASALT_ASSIGN_OR_RETURN(auto inner, Walk(again, path, modifier, sink));
            Frag tmpl = mm_template(alias);
            Frag joins;
            for (const auto& j : sink.joins) {
                joins.sql += " " + j.sql;
                joins.params.insert(joins.params.end(), j.params.begin(), j.params.end());
            }
            // {V} (the SELECT list) comes before {J} (the joins) in the text, and so do its values.
            std::string sql = tmpl.sql;
            const auto v = sql.find("{V}");
            sql.replace(v, 3, "{0}");
            const auto j = sql.find("{J}");
            sql.replace(j, 3, "{1}");
            out.mm = Fmt(sql, {&inner.value, &joins});
            // The template's own values belong to its WHERE, which comes last.
            out.mm.params.insert(out.mm.params.end(), tmpl.params.begin(), tmpl.params.end());
        }
        return out;
    }

    // A joined collection: guarded by its rules in the main query; in a subquery's joins only a
    // superuser may filter by a collection without a list rule (or one it may not read).
    Result<void> CheckJoined(const schema::Collection& target, const std::string& qa, JoinSink& sink) {
        if (&sink == &main) {
            return GuardJoin(target, qa);
        }
        if (!opt.allow_hidden && (!target.list_rule || (opt.readable && !opt.readable(target)))) {
            return Invalid("the fields of " + target.name + " can be filtered only by superusers");
        }
        return Ok();
    }

    // Joins `target`, which the relation field `f` (column `col`) points to, once per path `key`;
    // the join's quoted alias.
    Result<std::string> JoinRelation(
        const schema::Field& f,
        const schema::Collection& target,
        const std::string& col,
        const std::string& key,
        JoinSink& sink
    ) {
        bool created = false;
        BASALT_ASSIGN_OR_RETURN(auto a, sink.Alias(key, created));
        std::string qa = QuoteIdent(a);
        if (!created) {
            return qa;
        }
        if (f.IsMultiple()) {
            const std::string je = QuoteIdent(a + "_je");
            sink.joins.push_back(Lit("LEFT JOIN json_each(" + col + ") " + je));
            sink.joins.push_back(
                Lit("LEFT JOIN " + QuoteIdent(target.name) + " " + qa + " ON " + qa + ".\"id\" = " + je + ".\"value\"")
            );
        } else {
            sink.joins.push_back(
                Lit("LEFT JOIN " + QuoteIdent(target.name) + " " + qa + " ON " + qa + ".\"id\" = " + col)
            );
        }
        BASALT_TRY(CheckJoined(target, qa, sink));
        return qa;
    }

    // Joins the records of `from` whose relation `rel` points to the row of `alias`, once per path
    // `key`; the join's quoted alias.
    Result<std::string> JoinBackRelation(
        const schema::Collection& from,
        const schema::Field& rel,
        const std::string& alias,
        const std::string& key,
        JoinSink& sink
    ) {
        bool created = false;
        BASALT_ASSIGN_OR_RETURN(auto a, sink.Alias(key, created));
        std::string qa = QuoteIdent(a);
        if (!created) {
            return qa;
        }
        const std::string rcol = qa + "." + QuoteIdent(rel.name);
        if (rel.IsMultiple()) {
            sink.joins.push_back(
                Lit("LEFT JOIN " + QuoteIdent(from.name) + " " + qa + " ON EXISTS (SELECT 1 FROM json_each(" + rcol +
                    ") WHERE json_each.\"value\" = " + alias + ".\"id\")")
            );
        } else {
            sink.joins.push_back(
                Lit("LEFT JOIN " + QuoteIdent(from.name) + " " + qa + " ON " + rcol + " = " + alias + ".\"id\"")
            );
        }
        BASALT_TRY(CheckJoined(from, qa, sink));
        return qa;
    }

    Result<Walked> Walk(const Root& start, const std::string& path, const std::string& modifier, JoinSink& sink) {
        const auto segments = Split(path, '.');
        const schema::Collection* c = start.collection;
        std::string alias = start.alias;
        bool multi = start.multi;
        std::string key = start.alias;
        for (std::size_t i = 0; i < segments.size(); ++i) {
            const std::string& seg = segments[i];
            const bool last = i + 1 == segments.size();
            key += "." + seg;
            const schema::Field* f = c->FindField(seg);
            if (f != nullptr) {
                if (f->type == schema::FieldType::kPassword || (f->hidden && !opt.allow_hidden)) {
                    return Invalid("unknown field '" + seg + "'");
                }
                const std::string col = alias + "." + QuoteIdent(f->name);
                if (last) {
                    if (c->type == schema::CollectionType::kAuth && f->name == "email" && !opt.allow_hidden) {
                        Frag visible = VisibleEmail(*c, alias, col);
                        auto w = Leaf(*f, visible.sql, modifier, multi, key, sink);
                        if (w) {
                            w->value.params.insert(
                                w->value.params.begin(), visible.params.begin(), visible.params.end()
                            );
                        }
                        return w;
                    }
                    return Leaf(*f, col, modifier, multi, key, sink);
                }
                if (f->type == schema::FieldType::kJson || f->type == schema::FieldType::kGeoPoint) {
                    return JsonPath(*f, col, segments, i + 1, modifier, multi);
                }
                if (f->type != schema::FieldType::kRelation) {
                    return Invalid("field '" + seg + "' has no subfields");
                }
                const schema::Collection* target = catalog.Find(f->CollectionId());
                if (target == nullptr) {
                    return Invalid("relation '" + seg + "' points to a missing collection");
                }
                BASALT_ASSIGN_OR_RETURN(auto qa, JoinRelation(*f, *target, col, key, sink));
                multi = multi || f->IsMultiple();
                c = target;
                alias = std::move(qa);
                continue;
            }
            // Back-relation: <collection>_via_<relation field of that collection pointing here>.
            const auto via = seg.rfind("_via_");
            if (via != std::string::npos && !last) {
                const schema::Collection* from = catalog.Find(seg.substr(0, via));
                const schema::Field* rel = from != nullptr ? from->FindField(seg.substr(via + 5)) : nullptr;
                if (rel == nullptr || rel->type != schema::FieldType::kRelation || rel->CollectionId() != c->id ||
                    (rel->hidden && !opt.allow_hidden)) {
                    return Invalid("invalid back-relation '" + seg + "'");
                }
                BASALT_ASSIGN_OR_RETURN(auto qa, JoinBackRelation(*from, *rel, alias, key, sink));
                multi = true;
                c = from;
                alias = std::move(qa);
                continue;
            }
            return Invalid("unknown field '" + seg + "'");
        }
        return Invalid("empty field path");
    }

    Result<Walked> Leaf(
        const schema::Field& f,
        const std::string& col,
        const std::string& modifier,
        bool multi,
        const std::string& key,
        JoinSink& sink
    ) {
        Walked w;
        w.multi = multi;
        const bool many = f.IsMultiple();
        if (modifier.empty() || modifier == "each") {
            if (modifier == "each" && !many) {
                return Invalid(":each needs a multiple select, file or relation field ('" + f.name + "')");
            }
            if (many) {
                // Every value of the array, through a json_each join.
                bool created = false;
                BASALT_ASSIGN_OR_RETURN(auto a, sink.Alias(key + ":each", created));
                const std::string qa = QuoteIdent(a);
                if (created) {
                    sink.joins.push_back(Lit("LEFT JOIN json_each(" + col + ") " + qa));
                }
                w.value = Lit(qa + ".\"value\"");
                w.multi = true;
                return w;
            }
            if (f.type == schema::FieldType::kJson) {
                // JSON null (stored as the text 'null') must compare as SQL NULL.
                w.value = Lit("JSON_EXTRACT(" + col + ", '$')");
                w.no_coalesce = true;
                return w;
            }
            w.value = Lit(col);
            return w;
        }
        if (modifier == "length") {
            if (!many) {
                return Invalid(":length needs a multiple select, file or relation field ('" + f.name + "')");
            }
            w.value = Lit("json_array_length(" + col + ")");
            return w;
        }
        if (modifier == "lower") {
            w.value = Lit("LOWER(" + col + ")");
            return w;
        }
        if (modifier == "isset" || modifier == "changed") {
            return Invalid(":" + modifier + " is only for @request fields");
        }
        return Invalid("unknown modifier :" + modifier);
    }

    Result<Walked> JsonPath(
        const schema::Field& f,
        const std::string& col,
        const std::vector<std::string>& segs,
        std::size_t from,
        const std::string& modifier,
        bool multi
    ) {
        std::string path = "$";
        for (std::size_t i = from; i < segs.size(); ++i) {
            if (IsIndex(segs[i])) {
                path += "[" + segs[i] + "]";
            } else if (IsPlainKey(segs[i])) {
                path += "." + segs[i];
            } else {
                return Invalid("invalid JSON path in '" + f.name + "'");
            }
        }
        if (f.type == schema::FieldType::kGeoPoint && path != "$.lon" && path != "$.lat") {
            return Invalid("a geoPoint field has only lon and lat");
        }
        Walked w;
        w.multi = multi;
        w.no_coalesce = true;
        Frag p = Param(path);
        Frag c = Lit(col);
        w.value = Fmt("JSON_EXTRACT({0}, {1})", {&c, &p});
        if (modifier == "lower") {
            w.value = Fmt("LOWER({0})", {&w.value});
            w.no_coalesce = false;
        } else if (!modifier.empty()) {
            return Invalid("unknown modifier :" + modifier + " on a JSON path");
        }
        return w;
    }

    // ---- @request.* ----------------------------------------------------------------------------

    Result<Resolved> ResolveRequest(std::string_view rest) {
        static const RequestInfo kGuest;
        const RequestInfo& req = opt.request != nullptr ? *opt.request : kGuest;
        auto [path, modifier] = SplitModifier(rest);
        const auto segs = Split(path, '.');
        const std::string& area = segs[0];
        if (area == "context" || area == "method") {
            if (segs.size() != 1 || !modifier.empty()) {
                return Invalid("invalid @request." + area);
            }
            const std::string& v = area == "context" ? req.context : req.method;
            return LiteralOf(v, v.empty() ? LitKind::kEmpty : LitKind::kNonEmpty);
        }
        const boost::json::object* obj = nullptr;
        if (area == "headers") {
            obj = &req.headers;
        } else if (area == "query") {
            obj = &req.query;
        } else if (area == "body") {
            obj = &req.body;
        } else if (area == "auth") {
            return ResolveAuth(req, segs, modifier);
        } else {
            return Invalid("unknown @request field @request." + area);
        }
        if (segs.size() < 2) {
            return Invalid("@request." + area + " needs a key");
        }
        // Values nest for body (JSON); headers and query are flat.
        const boost::json::value* v = obj->if_contains(segs[1]);
        for (std::size_t i = 2; i < segs.size() && v != nullptr; ++i) {
            if (v->is_object()) {
                v = v->as_object().if_contains(segs[i]);
            } else if (v->is_array() && IsIndex(segs[i])) {
                const auto idx = std::stoul(segs[i]);
                v = idx < v->as_array().size() ? &v->as_array()[idx] : nullptr;
            } else {
                v = nullptr;
            }
        }
        return RequestValue(v, modifier, area == "body" && segs.size() == 2 ? segs[1] : "");
    }

    Result<Resolved> RequestValue(
        const boost::json::value* v, const std::string& modifier, const std::string& body_field
    ) {
        if (modifier == "isset") {
            return LiteralOf(static_cast<std::int64_t>(v != nullptr ? 1 : 0), LitKind::kNonEmpty);
        }
        if (modifier == "length") {
            const std::int64_t n = v != nullptr && v->is_array() ? static_cast<std::int64_t>(v->as_array().size())
                                   : (v != nullptr && !v->is_null() && !(v->is_string() && v->as_string().empty())) ? 1
                                                                                                                    : 0;
            return LiteralOf(n, LitKind::kNonEmpty);
        }
        if (modifier == "changed") {
            if (body_field.empty()) {
                return Invalid(":changed is only for @request.body fields of the collection");
            }
            const schema::Field* f = root.FindField(body_field);
            if (f == nullptr) {
                return Invalid("unknown field '" + body_field + "' for :changed");
            }
            if (v == nullptr) {
                return LiteralOf(static_cast<std::int64_t>(0), LitKind::kNonEmpty);
            }
            LitKind k;
            Frag val = Param(JsonToValue(v, k));
            Frag col = Lit(RootAlias() + "." + QuoteIdent(f->name));
            Resolved r;
            r.expr = Fmt("(COALESCE({0}, '') IS NOT COALESCE({1}, ''))", {&col, &val});
            return r;
        }
        if (modifier == "each") {
            if (v == nullptr || !v->is_array()) {
                Resolved r = LiteralOf(nullptr, LitKind::kEmpty);
                return r;
            }
            bool created = false;
            const std::string json = boost::json::serialize(*v);
            BASALT_ASSIGN_OR_RETURN(auto a, main.Alias("@request:each:" + json, created));
            const std::string qa = QuoteIdent(a);
            if (created) {
                main.joins.push_back(Frag{"LEFT JOIN json_each(?) " + qa, {json}});
            }
            Resolved r;
            r.expr = Lit(qa + ".\"value\"");
            r.multi = true;
            r.mm = Frag{"SELECT json_each.\"value\" AS \"mm\" FROM json_each(?)", {json}};
            return r;
        }
        LitKind k;
        db::Value val = JsonToValue(v, k);
        Resolved r = LiteralOf(std::move(val), k);
        if (modifier == "lower") {
            r.expr = Fmt("LOWER({0})", {&r.expr});
        } else if (!modifier.empty()) {
            return Invalid("unknown modifier :" + modifier);
        }
        return r;
    }

    Result<Resolved> ResolveAuth(
        const RequestInfo& req, const std::vector<std::string>& segs, const std::string& modifier
    ) {
        if (segs.size() < 2) {
            return Invalid("@request.auth needs a field");
        }
        if (!req.auth) {
            // A guest: every auth field is empty (PocketBase: @request.auth.id = "").
            if (modifier == "isset") {
                return LiteralOf(static_cast<std::int64_t>(0), LitKind::kNonEmpty);
            }
            return LiteralOf(std::string(), LitKind::kEmpty);
        }
        const boost::json::object& rec = *req.auth;
        if (segs.size() == 2) {
            return RequestValue(rec.if_contains(segs[1]), modifier, "");
        }
        // A relation path from the auth record: walk it from its collection, joined by id.
        const auto* cid = rec.if_contains("collectionId");
        const auto* id = rec.if_contains("id");
        const schema::Collection* c =
            cid != nullptr && cid->is_string() ? catalog.Find(std::string(cid->as_string())) : nullptr;
        if (c == nullptr || id == nullptr || !id->is_string()) {
            return Invalid("the auth record's collection is unknown");
        }
        const std::string auth_id(id->as_string());
        bool created = false;
        BASALT_ASSIGN_OR_RETURN(auto a, main.Alias("@request.auth", created));
        const std::string qa = QuoteIdent(a);
        if (created) {
            main.joins.push_back(Frag{
                "LEFT JOIN " + QuoteIdent(c->name) + " " + qa + " ON " + qa + ".\"id\" = ?", {auth_id}});
        }
        std::string path;
        for (std::size_t i = 1; i < segs.size(); ++i) {
            path += (i > 1 ? "." : "") + segs[i];
        }
        // Rules may read the auth record's hidden fields.
        const bool saved = opt.allow_hidden;
        opt.allow_hidden = true;
        Root r{c, qa, false};
        auto out = ResolvePath(r, path, modifier, [c, auth_id](const std::string& al) {
            return Frag{
                "SELECT {V} AS \"mm\" FROM " + QuoteIdent(c->name) + " " + al + "{J} WHERE " + al + ".\"id\" = ?",
                {auth_id}};
        });
        opt.allow_hidden = saved;
        return out;
    }

    // ---- sort ------------------------------------------------------------------------------------

    Result<void> SetSort(std::string_view text, std::size_t max_fields) {
        Frag out;
        order_last_column.clear();
        std::size_t n = 0;
        for (std::string item : Split(text, ',')) {
            while (!item.empty() && item.front() == ' ') {
                item.erase(item.begin());
            }
            while (!item.empty() && item.back() == ' ') {
                item.pop_back();
            }
            if (item.empty()) {
                continue;
            }
            if (++n > max_fields) {
                return Invalid("too many sort fields (at most " + std::to_string(max_fields) + ")", "sort");
            }
            std::string dir = " ASC";
            if (item.front() == '-' || item.front() == '+') {
                dir = item.front() == '-' ? " DESC" : " ASC";
                item.erase(item.begin());
            }
            Frag expr;
            if (item == "@random") {
                expr = Lit("RANDOM()");
                dir.clear();
            } else if (item == "@rowid") {
                // Views have no rowid: their id is the stable order.
                expr = Lit(RootAlias() + (root.type == schema::CollectionType::kView ? ".\"id\"" : ".\"_rowid_\""));
            } else {
                if (item.empty() || item.front() == '@') {
                    return Invalid("invalid sort field '" + item + "'", "sort");
                }
                for (char c : item) {
                    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                          c == '.' || c == ':')) {
                        return Invalid("invalid sort field '" + item + "'", "sort");
                    }
                }
                auto r = ResolveIdentifier(item);
                if (!r) {
                    Error e = r.error();
                    e.field = "sort";
                    return e;
                }
                expr = std::move(r->expr);
            }
            if (!out.sql.empty()) {
                out.sql += ", ";
            }
            const bool own_column = root.type != schema::CollectionType::kView && expr.params.empty() &&
                                    item.find_first_of(".:") == std::string::npos &&
                                    expr.sql == RootAlias() + "." + QuoteIdent(item);
            order_last_column = own_column ? item : std::string();
            order_last_descending = dir == " DESC";
            order_last_offset = out.sql.size();
            out.sql += expr.sql + dir;
            out.params.insert(out.params.end(), expr.params.begin(), expr.params.end());
        }
        order = std::move(out);
        return Ok();
    }
};

Compiler::Compiler(const schema::Collection& root, const schema::Catalog& catalog, CompileOptions options)
    : impl_(std::make_unique<Impl>(root, catalog, std::move(options))) {}
Compiler::~Compiler() = default;

Result<void> Compiler::AddFilter(const Expr& expr) {
    if (expr.items.empty()) {
        return Ok();
    }
    BASALT_ASSIGN_OR_RETURN(auto r, impl_->CompileExpr(expr));
    impl_->filters.push_back(std::move(r));
    return Ok();
}

Result<void> Compiler::AddFilter(std::string_view text, const ParseLimits& limits) {
    BASALT_ASSIGN_OR_RETURN(auto ast, Parse(text, limits));
    return AddFilter(ast);
}

Result<void> Compiler::AddRule(std::string_view text) {
    const bool hidden = impl_->opt.allow_hidden;
    const bool request = impl_->opt.allow_request;
    auto readable = std::move(impl_->opt.readable);
    impl_->opt.allow_hidden = true;
    impl_->opt.allow_request = true;
    impl_->opt.readable = nullptr;
    ParseLimits limits;
    limits.max_length = 1U << 16U;  // rules come from superusers, not from the request
    limits.max_expressions = 1000;
    auto r = AddFilter(text, limits);
    impl_->opt.allow_hidden = hidden;
    impl_->opt.allow_request = request;
    impl_->opt.readable = std::move(readable);
    return r;
}

Result<void> Compiler::SetSort(std::string_view sort, std::size_t max_fields) {
    return impl_->SetSort(sort, max_fields);
}

CompiledFilter Compiler::Build() const {
    CompiledFilter out;
    for (const auto& j : impl_->main.joins) {
        out.joins.push_back(j.sql);
        out.join_params.insert(out.join_params.end(), j.params.begin(), j.params.end());
    }
    for (std::size_t i = 0; i < impl_->filters.size(); ++i) {
        const Frag& f = impl_->filters[i];
        if (i > 0) {
            out.where += " AND ";
        }
        out.where += impl_->filters.size() > 1 ? "(" + f.sql + ")" : f.sql;
        out.params.insert(out.params.end(), f.params.begin(), f.params.end());
    }
    out.order_by = impl_->order.sql;
    out.order_params = impl_->order.params;
    out.order_last_column = impl_->order_last_column;
    out.order_last_descending = impl_->order_last_descending;
    out.order_last_offset = impl_->order_last_offset;
    return out;
}

}  // namespace basalt::query
