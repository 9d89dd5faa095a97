// SPDX-License-Identifier: MIT
#include "collections/store.hpp"

#include "collections/change_set.hpp"
#include "collections/definitions.hpp"
#include "core/text.hpp"
#include "query/compiler.hpp"
#include "query/table_list.hpp"

namespace basalt::collections {

namespace {

using schema::FieldType;

}  // namespace

std::shared_ptr<const Snapshot> CollectionStore::Current() const {
    std::lock_guard lock(snapshot_mu_);
    return snapshot_;
}

namespace {

// `_collections` as the collections list's filter and sort see it: only the columns PocketBase's
// collections API resolves (its SimpleFieldResolver over id, created, updated, name, system, type).
const schema::Collection& CollectionsTable() {
    static const schema::Collection table = query::TableOf(
        "_collections",
        {{FieldType::kText, "id"},
         {FieldType::kAutodate, "created"},
         {FieldType::kAutodate, "updated"},
         {FieldType::kText, "name"},
         {FieldType::kBool, "system"},
         {FieldType::kText, "type"}}
    );
    return table;
}

}  // namespace

Result<CollectionPage> CollectionStore::List(const CollectionQuery& q) const {
    query::TableQuery tq;
    tq.filter = q.filter;
    tq.sort = q.sort;
    tq.page = q.page;
    tq.per_page = q.per_page;
    tq.now = clock_.Now();
    BASALT_ASSIGN_OR_RETURN(
        const query::TableListSql sql, query::CompileTableList(CollectionsTable(), "\"_collections\".\"id\"", tq)
    );
    std::vector<std::string> ids;
    CollectionPage out;
    auto r = db_.ReadTx([&](db::Executor& ex) -> Result<void> {
        BASALT_ASSIGN_OR_RETURN(auto rs, ex.Query(sql.page, sql.page_params));
        for (const auto& row : rs.rows) {
            ids.push_back(db::AsString(row[0]));
        }
        if (!q.skip_total) {
            BASALT_ASSIGN_OR_RETURN(auto count, ex.Query(sql.count, sql.count_params));
            out.total_items = db::AsInt(count.rows[0][0]);
        }
        return Ok();
    });
    if (!r) {
        return r.error();
    }
    // The definitions as this process serves them (the table and the snapshot agree but for a
    // change committing this very moment).
    const auto snap = Current();
    for (const auto& id : ids) {
        if (const schema::Collection* c = snap->Find(id); c != nullptr && c->id == id) {
            out.items.push_back(*c);
        }
    }
    return out;
}

Result<std::vector<schema::Collection>> CollectionStore::ReadAll() const {
    return ReadDefinitions([this](std::string_view sql) { return db_.Read(sql); });
}

std::string DescribeFailure(const ChangeResult& r) {
    std::string why = r.message;
    for (const auto& e : r.errors) {
        why += (why.empty() ? "" : " ") + e.field + ": " + e.message;
    }
    return why.empty() ? "the change was refused" : why;
}

Result<void> CreateCollectionIn(
    db::Executor& ex, const boost::json::object& body, const std::string& now, ChangeResult& out
) {
    BASALT_ASSIGN_OR_RETURN(auto all, ReadDefinitions([&ex](std::string_view sql) { return ex.Query(sql); }));
    const Snapshot snap(std::move(all));
    ChangeSet cs(ex, snap, now);
    if (!cs.Begin(out) || !cs.Create(body, out, /*allow_system=*/true) || !cs.Finish(out)) {
        std::string why = out.message;
        for (const auto& e : out.errors) {
            why += " " + e.field + ": " + e.message;
        }
        return MakeError(ErrorCode::kInvalidArgument, why);
    }
    return Ok();
}

Result<void> CollectionStore::Load() {
    std::lock_guard change(change_mu_);  // not in the middle of a schema change of our own
    BASALT_ASSIGN_OR_RETURN(auto all, ReadAll());
    std::lock_guard lock(snapshot_mu_);
    snapshot_ = std::make_shared<Snapshot>(std::move(all));
    return Ok();
}

ChangeResult CollectionStore::Apply(const std::function<bool(ChangeSet&, ChangeResult&)>& plan) {
    std::lock_guard change(change_mu_);
    const auto snap = Current();
    ChangeResult out;
    std::vector<schema::Collection> after;
    bool planned = false;
    std::function<void()> after_commit;
    auto written = db_.WriteSchema([&](db::Executor& ex) -> Result<void> {
        out = ChangeResult{};
        after_commit = nullptr;
        ChangeSet cs(ex, *snap, FormatDateTime(clock_.Now()));
        planned = cs.Begin(out) && plan(cs, out) && cs.Finish(out);
        if (!planned) {
            return MakeError(ErrorCode::kInvalidArgument, "schema change refused");
        }
        if (hook_) {
            auto then = hook_(ex, cs.Changes());
            if (!then) {
                planned = false;
                out.collection.reset();
                out.code = then.error().code;
                out.message = Sentenize("Failed to record the schema change: " + then.error().message);
                return then.error();
            }
            after_commit = std::move(*then);
        }
        after = cs.Take();
        return Ok();
    });
    if (!written) {
        if (planned) {
            out = WriteFailed(written.error(), "The existing records do not fit the new definition.");
            out.message =
                Sentenize(written.error().code == ErrorCode::kConflict ? written.error().message : out.message);
        }
        out.collection.reset();
        if (out.message.empty() && out.errors.empty()) {
            out.message = "Failed to change the collections.";
        }
        return out;
    }
    BumpDataVersion();
    {
        std::lock_guard lock(snapshot_mu_);
        snapshot_ = std::make_shared<Snapshot>(std::move(after));
    }
    // Again once the new rules are in place: an answer built from the old snapshot after the first
    // bump must not outlive this (the guest response cache keeps answers by this version).
    BumpDataVersion();
    if (after_commit) {
        after_commit();
    }
    return out;
}

ChangeResult CollectionStore::Create(const boost::json::object& body) {
    return Apply([&](ChangeSet& cs, ChangeResult& out) { return cs.Create(body, out); });
}

ChangeResult CollectionStore::Update(std::string_view id_or_name, const boost::json::object& body) {
    return Apply([&](ChangeSet& cs, ChangeResult& out) {
        const schema::Collection* old = cs.Find(id_or_name);
        if (old == nullptr) {
            out.code = ErrorCode::kNotFound;
            out.message = "The requested resource wasn't found.";
            return false;
        }
        const schema::Collection copy = *old;
        return cs.Update(copy, body, out);
    });
}

Result<void> CollectionStore::Delete(std::string_view id_or_name) {
    ChangeResult r = Apply([&](ChangeSet& cs, ChangeResult& out) {
        const schema::Collection* c = cs.Find(id_or_name);
        if (c == nullptr) {
            out.code = ErrorCode::kNotFound;
            out.message = "collection not found";
            return false;
        }
        const auto snap = Current();
        for (const auto& other : snap->All()) {
            for (const auto& f : other.fields) {
                if (other.id != c->id && !other.IsView() && f.type == FieldType::kRelation &&
                    f.CollectionId() == c->id) {
                    out.message = "The collection is referenced by " + other.name + "." + f.name +
                                  "; remove that relation first.";
                    return false;
                }
            }
        }
        const schema::Collection copy = *c;
        return cs.Delete(copy, out);
    });
    if (!r.message.empty() || !r.errors.empty()) {
        return MakeError(r.code, r.message.empty() ? "Failed to delete collection." : r.message);
    }
    return Ok();
}

Result<void> CollectionStore::Truncate(std::string_view id_or_name) {
    const auto snap = Current();
    const schema::Collection* c = snap->Find(id_or_name);
    if (c == nullptr) {
        return MakeError(ErrorCode::kNotFound, "collection not found");
    }
    if (c->IsView()) {
        return MakeError(
            ErrorCode::kInvalidArgument,
            "View collections cannot be truncated since they don't store their own records."
        );
    }
    const std::string sql = "DELETE FROM " + query::QuoteIdent(c->name);
    BumpDataVersion();
    auto r = db_.Write([sql](db::Executor& ex) -> Result<void> {
        BASALT_TRY(ex.Exec(sql));
        return Ok();
    });
    BumpDataVersion();
    return r;
}

}  // namespace basalt::collections
