// SPDX-License-Identifier: MIT
#pragma once

#include <functional>
#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>

#include "collections/store.hpp"
#include "db/database.hpp"
#include "schema/collection.hpp"

namespace basalt::collections {

/// A schema change whose write failed: a constraint conflict is the client's (400 with
/// `conflict_message`), anything else keeps its code and message.
ChangeResult WriteFailed(const Error& e, std::string conflict_message);

/// One schema change as it is applied inside the writer's transaction (foreign keys off): the
/// catalog as it becomes, DDL run as each step is planned, definitions and history written at the
/// end. Views are dropped first (Begin) and recreated last from their queries (Finish), with their
/// fields derived again, since their tables depend on everything else. Each step returns false with
/// `out` describing the failure; the caller then rolls the transaction back.
class ChangeSet {
public:
    ChangeSet(db::Executor& ex, const Snapshot& before, std::string now)
        : ex_(ex),
          before_(before),
          all_(before.All()),
          now_(std::move(now)) {}

    /// Collections this change is about to create (an import, a migration): relations may point at
    /// them before they exist. Adds to those given before.
    void AddPending(const std::vector<schema::Collection>& pending) {
        pending_.insert(pending_.end(), pending.begin(), pending.end());
    }

    /// Drops every view.
    bool Begin(ChangeResult& out);
    /// Creates a collection and its table. `allow_system`: the body's `system` flag is honoured
    /// (system migrations, never clients).
    bool Create(const boost::json::object& body, ChangeResult& out, bool allow_system = false);
    /// Changes `old` as `body` says (PATCH semantics); its table follows (AlterTable).
    bool Update(const schema::Collection& old, const boost::json::object& body, ChangeResult& out);
    /// Deletes a collection and its table; system collections are refused.
    bool Delete(const schema::Collection& c, ChangeResult& out);
    /// Recreates the views, checks that every relation still has its collection, writes the changed
    /// definitions and the history.
    bool Finish(ChangeResult& out);

    /// The collection as the change has made it so far (id first, then name case-insensitively).
    const schema::Collection* Find(std::string_view id_or_name) const;
    /// The catalog the change started from.
    const Snapshot& Before() const { return before_; }
    /// What the change did so far, one entry per collection touched (in the order first touched):
    /// its definition before and after. A collection created and deleted again is left out.
    std::vector<SchemaChange> Changes() const;
    /// Every collection after the change (call once, after Finish).
    std::vector<schema::Collection> Take() { return std::move(all_); }

private:
    struct Entry {
        std::string action;
        std::string id;
        schema::Collection removed;  // deletes only
    };

    std::function<bool(std::string_view)> HasTableFn() const;
    schema::StaticCatalog Targets() const;
    bool Run(
        const std::vector<std::string>& ddl,
        ChangeResult& out,
        const std::string& conflict_message,
        std::initializer_list<db::Value> params = {}
    );
    bool AlterTable(const schema::Collection& old, const schema::Collection& c, ChangeResult& built);
    bool RebuildTable(
        const schema::Collection& old,
        const schema::Collection& c,
        const std::vector<std::pair<const schema::Field*, const schema::Field*>>& pairs,
        std::vector<std::string>& ddl,
        ChangeResult& built
    );
    bool RecreateView(std::size_t i, ChangeResult& out);
    bool CheckViewRules(const schema::Collection& v, ChangeResult& out) const;
    bool CheckRelations(const schema::StaticCatalog& final_catalog, ChangeResult& out) const;
    bool WriteLog(const schema::StaticCatalog& final_catalog, ChangeResult& out);

    db::Executor& ex_;
    const Snapshot& before_;
    std::vector<schema::Collection> all_;
    std::vector<schema::Collection> pending_;
    std::string now_;
    std::vector<Entry> log_;
};

/// Imports `collections` inside a running change, with PUT /api/collections/import's semantics (see
/// CollectionStore::Import), planned against `cs.Before()`. False with `out` describing the failure
/// (one "collections" error naming the collection).
bool ImportInto(ChangeSet& cs, const boost::json::array& collections, bool delete_missing, ChangeResult& out);

}  // namespace basalt::collections
