// SPDX-License-Identifier: MIT
#include "collections/store.hpp"

#include "collections/change_set.hpp"
#include "collections/definitions.hpp"
#include "core/text.hpp"
#include "query/compiler.hpp"

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
const schema::StaticCatalog& CollectionsTable() {
    static const schema::StaticCatalog catalog = [] {
        schema::Collection c;
        c.id = "_collections";
        c.name = "_collections";
        c.list_rule = "";
        auto add = [&c](FieldType type, std::string name) {
            schema::Field f;
            f.type = type;
            f.id = name;
            f.name = std::move(name);
            c.fields.push_back(std::move(f));
        };
        add(FieldType::kText, "id");
        add(FieldType::kAutodate, "created");
        add(FieldType::kAutodate, "updated");
        add(FieldType::kText, "name");
        add(FieldType::kBool, "system");
        add(FieldType::kText, "type");
        return schema::StaticCatalog({c});
    }();
    return catalog;
}

// The SQL of one page of the collections list and of its total.
struct ListSql {
    std::string page;
    std::vector<db::Value> page_params;
    std::string count;
    std::vector<db::Value> count_params;
};

Result<ListSql> CompileListSql(const CollectionQuery& q, SystemTime now) {
    const schema::StaticCatalog& catalog = CollectionsTable();
    query::CompileOptions options;
    options.now = now;
    query::Compiler compiler(*catalog.Find("_collections"), catalog, options);
    BASALT_TRY(compiler.AddFilter(q.filter));
    BASALT_TRY(compiler.SetSort(q.sort));
    const query::CompiledFilter f = compiler.Build();
    ListSql out;
    std::string from = " FROM \"_collections\"";
    for (const auto& j : f.joins) {
        from += " " + j;  // none: the table has no relations
    }
    out.count_params = f.join_params;
    if (!f.where.empty()) {
        from += " WHERE " + f.where;
        out.count_params.insert(out.count_params.end(), f.params.begin(), f.params.end());
    }
    out.count = "SELECT COUNT(*)" + from;
    out.page = "SELECT \"_collections\".\"id\"" + from + " ORDER BY ";
    out.page_params = out.count_params;
    if (f.order_by.empty()) {
        out.page += "\"_collections\".\"_rowid_\"";
    } else {
        out.page += f.order_by;
        out.page_params.insert(out.page_params.end(), f.order_params.begin(), f.order_params.end());
    }
    out.page += " LIMIT ? OFFSET ?";
    out.page_params.emplace_back(q.per_page);
    out.page_params.emplace_back((q.page - 1) * q.per_page);
    return out;
}

}  // namespace

Result<CollectionPage> CollectionStore::List(const CollectionQuery& q) const {
    BASALT_ASSIGN_OR_RETURN(auto sql, CompileListSql(q, clock_.Now()));
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
    auto written = db_.WriteSchema([&](db::Executor& ex) -> Result<void> {
        out = ChangeResult{};
        ChangeSet cs(ex, *snap, FormatDateTime(clock_.Now()));
        planned = cs.Begin(out) && plan(cs, out) && cs.Finish(out);
        if (!planned) {
            return MakeError(ErrorCode::kInvalidArgument, "schema change refused");
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
