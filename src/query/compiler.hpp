// SPDX-License-Identifier: MIT
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "db/database.hpp"
#include "query/ast.hpp"
#include "query/parser.hpp"
#include "schema/collection.hpp"

namespace basalt::query {

/// What `@request.*` resolves to (API rules, and filters of superusers).
struct RequestInfo {
    std::string context = "default";  // default|oauth2|otp|password|realtime|protectedFile|batch|expand
    std::string method = "GET";
    boost::json::object headers;  // names lower-cased, '-' -> '_'
    boost::json::object query;
    boost::json::object body;
    /// The auth record (every field, collectionId, collectionName); shared, since it is the same for
    /// every request of a session.
    std::shared_ptr<const boost::json::object> auth;
};

struct CompileOptions {
    db::Dialect dialect = db::Dialect::kSqlite;
    /// Rules may use hidden fields; client filters may not (unless superuser).
    bool allow_hidden = false;
    /// @request.* and @collection.* (rules; superusers' filters).
    bool allow_request = false;
    /// Values for @request.*; nullptr = a guest with no body.
    const RequestInfo* request = nullptr;
    /// The time datetime macros (@now, @todayStart, ...) are computed from.
    SystemTime now{};
    /// Joins a filter may add at most (relation hops, back-relations, @collection, :each).
    std::size_t max_joins = 32;
    /// Which collections a client filter or sort may reach through relations, back-relations and
    /// @collection (an API key's scopes); empty: all. Rules are not bound by it.
    std::function<bool(const schema::Collection&)> readable;
};

/// The SQL for a filter and sort: a boolean expression over the root collection's table (referenced
/// by its quoted name), the LEFT JOINs it needs (with joins, select DISTINCT root rows) and an ORDER
/// BY list. Placeholders are `?`, in text order: `join_params` (for the joins, in order), then
/// `params` (for `where`), then `order_params` (for `order_by`).
struct CompiledFilter {
    std::vector<std::string> joins;
    std::vector<db::Value> join_params;
    std::string where;  // "" when no filter was added
    std::vector<db::Value> params;
    std::string order_by;  // "" when no sort
    std::vector<db::Value> order_params;
    /// The sort's last key when it is a column of the root table itself (not a view's): its name,
    /// whether it is descending, and where it starts in order_by. A caller that knows the column
    /// follows the table's rowid order may sort by the rowid in its place. Empty name otherwise.
    std::string order_last_column;
    bool order_last_descending = false;
    std::size_t order_last_offset = 0;
};

/// Compiles filters and sorts for one root collection. Every value the client wrote becomes a
/// bound parameter and every name is checked against the schema: user text never reaches SQL.
/// A client filter (not a rule, not a superuser's) sees other collections as their list rules let
/// it, as PocketBase does: a relation into a collection whose list rule is null is refused, a
/// non-empty list rule is ANDed for the joined rows; an auth record's email matches only where it
/// is public (emailVisibility) or the caller's own; hidden fields do not exist.
/// Fails with kInvalidArgument (field "filter" or "sort") naming what is wrong, or kForbidden when a
/// client filter uses @request/@collection without being allowed to. Not thread-safe;
/// cheap to construct per request.
class Compiler {
public:
    Compiler(const schema::Collection& root, const schema::Catalog& catalog, CompileOptions options);
    ~Compiler();
    Compiler(const Compiler&) = delete;
    Compiler& operator=(const Compiler&) = delete;

    /// Adds `expr` (ANDed with earlier ones) to the compiled filter.
    Result<void> AddFilter(const Expr& expr);
    /// Parses and adds filter text (empty text adds nothing).
    Result<void> AddFilter(std::string_view text, const ParseLimits& limits = {});

    /// Adds an API rule: like AddFilter, but hidden fields, @request.* and @collection.* are always
    /// allowed (rules are written by superusers; filters by anyone).
    Result<void> AddRule(std::string_view text);

    /// Compiles PocketBase's sort syntax ("-created,title", "@random", "@rowid") into the ORDER BY
    /// list (without the keyword). At most `max_fields` fields.
    Result<void> SetSort(std::string_view sort, std::size_t max_fields = 8);

    /// Everything added so far.
    CompiledFilter Build() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Quotes an identifier for SQL ("name", with embedded quotes doubled).
std::string QuoteIdent(std::string_view name);

}  // namespace basalt::query
