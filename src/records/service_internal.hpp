// SPDX-License-Identifier: MIT
// Helpers shared by the files of RecordService (src/records only: not included outside it).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

#include "collections/store.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "db/database.hpp"
#include "query/compiler.hpp"
#include "records/service.hpp"

namespace basalt::records {

// --- errors (rules.cpp) ---

/// A null rule for a non-superuser (403).
Error Forbidden();
/// A missing record, or one a view/update/delete rule hides (404).
Error NotFound();
/// An API key whose scopes do not name the action (403).
Error ScopeForbidden();

// --- collections and access (rules.cpp) ---

/// A collection with the schema snapshot it was found in (which keeps it alive).
struct LoadedCollection {
    std::shared_ptr<const collections::Snapshot> snapshot;
    const schema::Collection* collection = nullptr;
};

/// The collection named (or with the id) `name` in the current snapshot; kNotFound without it.
Result<LoadedCollection> LoadCollection(const collections::CollectionStore& store, std::string_view name);
/// The collection of a create/update/delete: it must exist, be writable, and the action's rule
/// (`rule`) must not be null for a non-superuser.
Result<LoadedCollection> LoadForWrite(
    const collections::CollectionStore& store,
    std::string_view name,
    const Access& access,
    std::optional<std::string> schema::Collection::*rule
);

/// The id of the reader's own record when it belongs to `c` (its email is always shown to it).
std::string SelfId(const schema::Collection& c, const Access& access);
/// Hidden fields are for superusers, and for API keys of superusers only with the admin scope.
bool SeesHidden(const Access& access);
/// An API key's scopes narrow the rules: the action must be one of them.
bool ScopeAllows(const Access& access, const schema::Collection& c, std::string_view action);

// --- rules (rules.cpp) ---

/// How the query compiler sees `access`: hidden fields, @request and the collections it may read.
query::CompileOptions CompileOptionsFor(const Access& access, const Clock& clock);
/// Applies the rule of one action for a non-superuser: null forbids, "" allows everything.
Result<void> ApplyRule(query::Compiler& compiler, const std::optional<std::string>& rule, const Access& access);
/// Checks `rule` for the record `id` inside the write (the record as it is in the transaction).
Result<bool> RuleMatches(
    db::Executor& ex,
    const schema::Collection& c,
    const collections::Snapshot& snap,
    const std::string& rule,
    const Access& access,
    const Clock& clock,
    const std::string& id
);
/// The update/delete form of RuleMatches: nothing to check for a null or empty rule, 404 when the
/// record does not match it.
Result<void> RequireRuleMatch(
    db::Executor& ex,
    const schema::Collection& c,
    const collections::Snapshot& snap,
    const std::optional<std::string>& rule,
    const Access& access,
    const Clock& clock,
    const std::string& id
);

// --- SQL of a compiled filter (rules.cpp) ---

/// FROM ... joins ... WHERE ... (with every parameter in order) for a compiled filter.
struct Sql {
    std::string text;
    std::vector<db::Value> params;
};

/// The FROM/WHERE of `f` on `c`, with `extra_where` (and its parameters) ANDed in front of it.
Sql FromWhere(
    const schema::Collection& c,
    const query::CompiledFilter& f,
    std::string_view extra_where,
    const std::vector<db::Value>& extra_params
);
/// "SELECT [DISTINCT] <table>.*".
std::string SelectList(const schema::Collection& c, bool distinct);

// --- writes ---

/// A failed statement of a write as the client sees it: a unique violation becomes
/// validation_not_unique on the field the constraint names, a foreign key one a plain 400 (write.cpp).
Error WriteFailure(const Error& e, const schema::Collection& c, std::string_view failed_message);
/// Every field of the stored record, read inside the write (modifiers start from these; the outbox
/// row of a collection too wide for json_object). outbox.cpp.
Result<boost::json::object> ReadCurrent(db::Executor& ex, const schema::Collection& c, const std::string& id);

}  // namespace basalt::records
