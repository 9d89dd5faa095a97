// SPDX-License-Identifier: MIT
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "db/database.hpp"
#include "schema/collection.hpp"

namespace basalt::collections {

/// Persistence of collection definitions: the `_collections` rows and the `_schema_history` log.

/// Every definition in `_collections` (stored order), read with `read` (a reader connection, or the
/// executor of a running write). kInternal when a stored definition cannot be read.
Result<std::vector<schema::Collection>> ReadDefinitions(
    const std::function<Result<db::ResultSet>(std::string_view)>& read
);

/// Writes a collection's definition row (insert, or replace the row of the same id).
Result<void> SaveDefinition(db::Executor& ex, const schema::Collection& c);

/// Records one schema change (`action`: create, update, delete) with the definition it produced,
/// so that history can be replayed or exported (`basalt migrate`).
Result<void> RecordHistory(
    db::Executor& ex, std::string_view action, const schema::Collection& c, const std::string& now
);

/// The stored JSON text of a field list (as `_collections.fields` holds it).
std::string FieldsJson(const std::vector<schema::Field>& fields);

}  // namespace basalt::collections
