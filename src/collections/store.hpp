// SPDX-License-Identifier: MIT
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "core/api_error.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "db/database.hpp"
#include "schema/collection.hpp"

namespace basalt::collections {

class ChangeSet;

/// An immutable view of every collection at one moment; shared by readers without locks.
using Snapshot = schema::StaticCatalog;

/// Outcome of a schema change the client asked for: the collection, or PocketBase-shaped field
/// errors (keys like "name", "fields.2.type", "listRule").
struct ChangeResult {
    std::optional<schema::Collection> collection;
    std::vector<FieldError> errors;
    std::string message;  // set with errors or on other failures
    ErrorCode code = ErrorCode::kInvalidArgument;
};

/// One collection a committed schema change touched: `before` is absent for a create, `after` for a
/// delete; both are full definitions.
struct SchemaChange {
    std::optional<schema::Collection> before;
    std::optional<schema::Collection> after;
};

/// Watches the schema changes made through a CollectionStore (automigrate): called inside each change's
/// transaction, after its steps, with what changed. It may write rows of its own on `ex` (an error
/// refuses the whole change) and returns what to run once the change has committed (may be empty).
/// Changes are serialised, so hooks and their after-commit functions run in commit order.
using SchemaChangeHook =
    std::function<Result<std::function<void()>>(db::Executor& ex, const std::vector<SchemaChange>& changes)>;

/// The text of a refused change: its message and each field error ("name: Cannot be blank.").
std::string DescribeFailure(const ChangeResult& r);

/// A page of GET /api/collections.
struct CollectionQuery {
    std::string filter;
    std::string sort;
    std::int64_t page = 1;
    std::int64_t per_page = 30;
    bool skip_total = false;
};
struct CollectionPage {
    std::vector<schema::Collection> items;
    std::int64_t total_items = -1;  // -1 with skip_total
};

/// The collections: definitions in `_collections`, one real table each. Reads go to the current
/// Snapshot; changes validate, run their DDL and the definition row in one transaction, then swap
/// the snapshot. Changes are serialised and block on the writer: call them off the I/O threads.
class CollectionStore {
public:
    CollectionStore(db::Database& db, const Clock& clock) : db_(db), clock_(clock) {}

    /// Reads every definition and swaps the snapshot: at start, and after SQL that may have changed
    /// the schema behind the store's back (the superusers' SQL console). Waits for a schema change
    /// in progress. Fails (keeping the current snapshot) when a stored definition cannot be read.
    Result<void> Load();

    std::shared_ptr<const Snapshot> Current() const;

    /// A page of collections as PocketBase's collections API lists them: `filter` and `sort`
    /// (PocketBase's syntax) over id, created, updated, name, system and type only (and @random,
    /// @rowid), compiled to SQL over `_collections`; stored order unless sorted. The definitions
    /// come from the current snapshot. A read that may scan: call it off the I/O threads.
    /// kInvalidArgument or kForbidden (field "filter" or "sort") for anything the filter or sort
    /// may not use.
    Result<CollectionPage> List(const CollectionQuery& query) const;

    /// Creates a collection from PocketBase's collection JSON.
    ChangeResult Create(const boost::json::object& body);

    /// Changes a collection (PATCH): keys absent from `body` keep their values; `fields`, when given,
    /// is the whole new list, matched to the current one by field id. The table follows in the same
    /// transaction and keeps its data: renamed collections and fields are renamed, new fields added,
    /// removed fields dropped, indexes rebuilt; a change that alters a column's constraint (single <->
    /// multiple values, a relation's delete behaviour, dropping a single relation) rebuilds the table
    /// with the data copied over. A change of a field's type or a relation's target is refused with a
    /// field error, as PocketBase does. Views that no longer compile after a change refuse it.
    ChangeResult Update(std::string_view id_or_name, const boost::json::object& body);

    /// Deletes a collection and its table. kNotFound; kInvalidArgument for system collections and
    /// collections other collections still reference.
    Result<void> Delete(std::string_view id_or_name);

    /// Imports collections (PUT /api/collections/import) in one transaction: each entry creates a
    /// collection or, matched by id then name, updates one (fields it leaves out are kept unless
    /// `delete_missing`, which also deletes every other non-system collection). Relations may point
    /// at collections created by the same import; views are applied last. All or nothing: a failure
    /// is one "collections" error naming the collection.
    ChangeResult Import(const boost::json::array& collections, bool delete_missing);

    /// Sets the hook every later change through this store calls (before the first change; not
    /// thread-safe against changes in progress). Changes made elsewhere (migrations) do not call it.
    void SetChangeHook(SchemaChangeHook hook) { hook_ = std::move(hook); }

    /// Deletes every record of a collection.
    Result<void> Truncate(std::string_view id_or_name);

    /// A counter that changes whenever records or rules may have changed (before and after each
    /// commit, and after a new schema snapshot is in place):
    /// derived data (cached list totals) computed under one value is stale once it moves.
    std::uint64_t DataVersion() const { return data_version_.load(std::memory_order_acquire); }
    void BumpDataVersion() { data_version_.fetch_add(1, std::memory_order_acq_rel); }

private:
    Result<std::vector<schema::Collection>> ReadAll() const;
    /// Runs one schema change (planned by `plan` on a ChangeSet) in its own transaction, then swaps
    /// the snapshot.
    ChangeResult Apply(const std::function<bool(ChangeSet&, ChangeResult&)>& plan);

    db::Database& db_;
    const Clock& clock_;
    SchemaChangeHook hook_;
    std::atomic<std::uint64_t> data_version_{0};
    std::mutex change_mu_;
    mutable std::mutex snapshot_mu_;
    std::shared_ptr<const Snapshot> snapshot_ = std::make_shared<Snapshot>(std::vector<schema::Collection>{});
};

/// Creates a collection inside a running write (system migrations): the same validation and DDL as
/// CollectionStore::Create, on `ex`, except that the body's `system` flag is honoured. A
/// CollectionStore loaded afterwards sees it.
Result<void> CreateCollectionIn(
    db::Executor& ex, const boost::json::object& body, const std::string& now, ChangeResult& out
);

}  // namespace basalt::collections
