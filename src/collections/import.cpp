// SPDX-License-Identifier: MIT
// CollectionStore::Import (PUT /api/collections/import): the entries are planned against the
// current snapshot (create or update, fields the import leaves out), then applied as one change.
#include <algorithm>
#include <set>

#include "collections/change_set.hpp"
#include "collections/store.hpp"
#include "core/ids.hpp"

namespace basalt::collections {

namespace {

namespace json = boost::json;

// One entry of an import: the body of a create or an update.
struct ImportItem {
    json::object body;
    std::optional<std::string> existing_id;
};

std::string StringOf(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

// Whether the imported field object `fo` stands for the existing field `f`: by id, or (without an
// id of its own) by name and type, in which case it takes `f`'s id and keeps its column.
bool MatchesExisting(json::object& fo, const schema::Field& f, const schema::Collection& existing) {
    const std::string fid = StringOf(fo, "id");
    const std::string fname = StringOf(fo, "name");
    if (!fid.empty() && fid == f.id) {
        return true;
    }
    const bool unnamed_or_same = fid.empty() || existing.FindField(fname) == &f;
    const auto* fname_v = fo.if_contains("name");
    const auto* ftype_v = fo.if_contains("type");
    if (unnamed_or_same && fname_v != nullptr && fname_v->is_string() && fname == f.name && ftype_v != nullptr &&
        ftype_v->is_string() && ftype_v->as_string() == schema::FieldTypeName(f.type)) {
        fo["id"] = f.id;
        return true;
    }
    return false;
}

// Fields the import leaves out of an existing collection are kept (system fields always, others
// unless `delete_missing`).
void KeepMissingFields(json::object& body, const schema::Collection& existing, bool delete_missing) {
    auto* fields = body.if_contains("fields");
    if (fields == nullptr && delete_missing) {
        body["fields"] = json::array{};
        fields = body.if_contains("fields");
    }
    if (fields == nullptr || !fields->is_array()) {
        return;
    }
    auto& arr = fields->as_array();
    for (const auto& f : existing.fields) {
        bool present = false;
        for (auto& fv : arr) {
            if (fv.is_object() && MatchesExisting(fv.as_object(), f, existing)) {
                present = true;
            }
        }
        if (!present && (f.system || !delete_missing)) {
            arr.emplace_back(schema::FieldToJson(f));
        }
    }
}

// The entries as creates and updates, matched to existing collections by id, then by name; new ones
// get their id now (and a stand-in in `pending`) so relations can point at them.
struct ImportPlan {
    std::vector<ImportItem> items;
    std::vector<schema::Collection> pending;
    std::set<std::string> imported_ids;
};

bool PlanImport(
    const json::array& collections, const Snapshot& snap, bool delete_missing, ImportPlan& plan, ChangeResult& failed
) {
    for (std::size_t i = 0; i < collections.size(); ++i) {
        const auto& v = collections[i];
        if (!v.is_object()) {
            failed.errors.push_back(
                {"collections",
                 "validation_collections_import_failure",
                 "Entry " + std::to_string(i) + " is not an object."}
            );
            return false;
        }
        ImportItem item{v.as_object(), std::nullopt};
        const std::string id = StringOf(item.body, "id");
        const std::string ident = !id.empty() ? id : StringOf(item.body, "name");
        const schema::Collection* existing = ident.empty() ? nullptr : snap.Find(ident);
        if (existing != nullptr) {
            item.existing_id = existing->id;
            item.body.erase("id");
            KeepMissingFields(item.body, *existing, delete_missing);
        } else {
            const std::string type = item.body.contains("type") && item.body.at("type").is_string()
                                         ? std::string(item.body.at("type").as_string())
                                         : "base";
            if (id.empty()) {
                item.body["id"] = CollectionIdFor(type, ident);
            }
            json::object raw = item.body;
            raw.erase("fields");  // only the name and id are needed to point relations at it
            if (auto c = schema::CollectionFromJson(raw); c) {
                plan.pending.push_back(std::move(*c));
            }
        }
        plan.imported_ids.insert(item.existing_id ? *item.existing_id : std::string(item.body.at("id").as_string()));
        plan.items.push_back(std::move(item));
    }
    // Views last: their queries read the other collections.
    std::stable_sort(plan.items.begin(), plan.items.end(), [](const ImportItem& a, const ImportItem& b) {
        auto is_view = [](const ImportItem& i) {
            return StringOf(i.body, "type") == "view";
        };
        return !is_view(a) && is_view(b);
    });
    return true;
}

// One entry that failed, as the one "collections" error of the import.
FieldError ImportFailure(const ImportItem& item, const ChangeResult& one) {
    std::string detail = one.message;
    for (const auto& e : one.errors) {
        detail += " " + e.field + ": " + e.message;
    }
    return {
        "collections",
        "validation_collections_import_failure",
        "Data validations failed for collection \"" + StringOf(item.body, "name") + "\": " + detail};
}

}  // namespace

bool ImportInto(ChangeSet& cs, const boost::json::array& collections, bool delete_missing, ChangeResult& out) {
    const Snapshot& snap = cs.Before();
    ImportPlan plan;
    if (!PlanImport(collections, snap, delete_missing, plan, out)) {
        out.message = "Failed to import collections.";
        return false;
    }
    cs.AddPending(plan.pending);
    if (delete_missing) {
        for (const auto& c : snap.All()) {
            if (!c.system && !plan.imported_ids.contains(c.id) && !cs.Delete(c, out)) {
                return false;
            }
        }
    }
    for (const auto& item : plan.items) {
        ChangeResult one;
        const schema::Collection* existing = item.existing_id ? cs.Find(*item.existing_id) : nullptr;
        const bool ok =
            existing != nullptr ? cs.Update(schema::Collection(*existing), item.body, one) : cs.Create(item.body, one);
        if (!ok) {
            out.message = "Failed to import collections.";
            out.errors.push_back(ImportFailure(item, one));
            return false;
        }
    }
    return true;
}

ChangeResult CollectionStore::Import(const boost::json::array& collections, bool delete_missing) {
    if (collections.empty()) {
        ChangeResult failed;
        failed.message = "Failed to import collections.";
        failed.errors.push_back({"collections", "validation_required", "Cannot be blank."});
        return failed;
    }
    ChangeResult result =
        Apply([&](ChangeSet& cs, ChangeResult& out) { return ImportInto(cs, collections, delete_missing, out); });
    if (result.errors.empty() && !result.message.empty()) {
        result.errors.push_back({"collections", "validation_collections_import_failure", result.message});
        result.message = "Failed to import collections.";
    }
    return result;
}

}  // namespace basalt::collections
