// SPDX-License-Identifier: MIT
#include "importer/importer.hpp"

#include <algorithm>
#include <map>
#include <set>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "collections/ddl.hpp"
#include "collections/store.hpp"
#include "core/clock.hpp"
#include "settings/settings_store.hpp"

namespace basalt::importer {

namespace {

namespace fs = std::filesystem;
namespace json = boost::json;

// PocketBase's auth data collections: basalt has its own, the rows are mapped onto them.
bool IsAuthDataCollection(std::string_view name) {
    return name == "_superusers" || name == "_mfas" || name == "_otps" || name == "_authOrigins" ||
           name == "_externalAuths";
}

void Progress(const ImportOptions& o, const std::string& line) {
    if (o.progress) {
        o.progress(line);
    }
}

// The collection named in the import's one error ("... for collection \"NAME\": ...").
std::string FailedCollection(const collections::ChangeResult& r) {
    for (const auto& e : r.errors) {
        const std::string marker = "collection \"";
        const auto at = e.message.find(marker);
        if (at != std::string::npos) {
            const auto start = at + marker.size();
            const auto end = e.message.find('"', start);
            if (end != std::string::npos) {
                return e.message.substr(start, end - start);
            }
        }
    }
    return {};
}

std::string ErrorText(const collections::ChangeResult& r) {
    std::string out = r.message;
    for (const auto& e : r.errors) {
        out += (out.empty() ? "" : " ") + e.message;
    }
    return out;
}

// Indexes basalt's parser refuses are dropped up front (each noted), so one exotic index does not
// cost its collection.
void DropUnparsableIndexes(json::object& body, Notes& notes) {
    auto* idx = body.if_contains("indexes");
    if (idx == nullptr || !idx->is_array() || idx->as_array().empty()) {
        return;
    }
    auto c = schema::CollectionFromJson(body);
    if (!c) {
        return;  // the import reports what is wrong with it
    }
    json::array kept;
    for (const auto& v : idx->as_array()) {
        if (!v.is_string()) {
            continue;
        }
        auto parsed = collections::ParseIndex(v.as_string(), *c);
        if (parsed) {
            kept.push_back(v);
        } else {
            notes.push_back(
                std::string(c->name) + ": index not carried over (" + parsed.error().message +
                "): " + std::string(v.as_string())
            );
        }
    }
    idx->as_array() = std::move(kept);
}

bool HasRules(const json::object& b) {
    for (std::string_view k : {"listRule", "viewRule", "createRule", "updateRule", "deleteRule", "manageRule"}) {
        if (const auto* v = b.if_contains(k); v != nullptr && !v->is_null()) {
            return true;
        }
    }
    return false;
}

// Imports the bodies (one transaction each attempt); a collection basalt refuses is degraded step
// by step — its indexes, then its rules (superusers only), then the collection itself — and noted.
Result<void> ImportCollections(
    collections::CollectionStore& store, std::vector<json::object> bodies, bool delete_missing, Notes& notes
) {
    if (bodies.empty()) {
        return Ok();
    }
    for (std::size_t attempt = 0; attempt <= bodies.size() * 3; ++attempt) {
        json::array arr;
        for (const auto& b : bodies) {
            arr.push_back(b);
        }
        auto r = store.Import(arr, delete_missing);
        if (r.errors.empty() && r.message.empty()) {
            return Ok();
        }
        const std::string name = FailedCollection(r);
        auto it = std::find_if(bodies.begin(), bodies.end(), [&](const json::object& b) {
            return b.contains("name") && b.at("name").is_string() && b.at("name").as_string() == name;
        });
        if (it == bodies.end() && bodies.size() == 1) {
            it = bodies.begin();  // a lone collection (a view) whose error names no collection: it failed
        }
        if (it == bodies.end()) {
            return MakeError(ErrorCode::kInvalidArgument, "importing the collections failed: " + ErrorText(r));
        }
        auto& b = *it;
        if (auto* idx = b.if_contains("indexes"); idx != nullptr && idx->is_array() && !idx->as_array().empty()) {
            notes.push_back(name + ": indexes not carried over (" + ErrorText(r) + ")");
            idx->as_array().clear();
        } else if (HasRules(b)) {
            notes.push_back(name + ": API rules not carried over, now superusers only (" + ErrorText(r) + ")");
            for (std::string_view k :
                 {"listRule", "viewRule", "createRule", "updateRule", "deleteRule", "manageRule"}) {
                if (b.contains(k)) {
                    b[k] = nullptr;
                }
            }
            if (b.contains("authRule")) {
                b["authRule"] = "";
            }
        } else {
            notes.push_back(name + ": collection not carried over with its records (" + ErrorText(r) + ")");
            bodies.erase(it);
            if (bodies.empty()) {
                return Ok();
            }
        }
    }
    return MakeError(ErrorCode::kInvalidArgument, "importing the collections failed");
}

// How one destination column is filled from a source row.
struct ColumnPlan {
    std::string dest;
    int source_index = -1;  // -1: `constant`
    db::Value constant = nullptr;
    const schema::Field* field = nullptr;  // converts the value when set
};

struct TableCopy {
    std::string source_table;
    std::string dest_table;
    std::map<std::string, std::string> renamed;  // dest column -> source column
    std::map<std::string, db::Value> constants;  // dest column -> value
    std::set<std::string> ignored;               // source columns dropped without a note
    const schema::Collection* def = nullptr;
};

Result<std::int64_t> CopyTable(const Source& src, db::Executor& ex, const TableCopy& t, bool replace, Notes& notes) {
    BASALT_ASSIGN_OR_RETURN(auto info, ex.Query("PRAGMA table_info(" + Quote(t.dest_table) + ")"));
    const auto source_cols = src.Columns(t.source_table);
    std::vector<ColumnPlan> plan;
    std::set<std::string> used;
    for (const auto& row : info.rows) {
        const std::string dest = db::AsString(row[1]);
        ColumnPlan p{dest};
        if (auto c = t.constants.find(dest); c != t.constants.end()) {
            p.constant = c->second;
        } else {
            const auto rn = t.renamed.find(dest);
            const std::string from = rn != t.renamed.end() ? rn->second : dest;
            const auto at = std::find(source_cols.begin(), source_cols.end(), from);
            if (at == source_cols.end()) {
                continue;  // the column's default
            }
            p.source_index = static_cast<int>(at - source_cols.begin());
            used.insert(from);
        }
        p.field = t.def != nullptr ? t.def->FindField(dest) : nullptr;
        plan.push_back(std::move(p));
    }
    for (const auto& c : source_cols) {
        if (!used.contains(c) && !t.ignored.contains(c)) {
            notes.push_back(
                t.source_table + "." + c + ": column without a basalt field; its values were not carried over"
            );
        }
    }
    if (plan.empty()) {
        return std::int64_t{0};
    }
    std::string select = "SELECT ";
    for (std::size_t i = 0; i < source_cols.size(); ++i) {
        select += (i > 0 ? ", " : "") + Quote(source_cols[i]);
    }
    select += " FROM " + Quote(t.source_table);
    std::string insert = std::string(replace ? "INSERT OR REPLACE" : "INSERT") + " INTO " + Quote(t.dest_table) + " (";
    std::string marks;
    for (std::size_t i = 0; i < plan.size(); ++i) {
        insert += (i > 0 ? ", " : "") + Quote(plan[i].dest);
        marks += i > 0 ? ", ?" : "?";
    }
    insert += ") VALUES (" + marks + ")";
    std::int64_t count = 0;
    std::vector<db::Value> params(plan.size());
    BASALT_TRY(src.Each(select, [&](std::vector<db::Value>& row) -> Result<void> {
        for (std::size_t i = 0; i < plan.size(); ++i) {
            const auto& p = plan[i];
            const db::Value& v = p.source_index >= 0 ? row[static_cast<std::size_t>(p.source_index)] : p.constant;
            params[i] = p.field != nullptr && p.source_index >= 0 ? ConvertValue(*p.field, v) : v;
        }
        auto r = ex.Exec(insert, std::span<const db::Value>(params));
        if (!r) {
            return MakeError(
                r.error().code,
                "copying a row of " + t.source_table + " (id " +
                    db::AsString(row.empty() ? db::Value(nullptr) : row[0]) + ") failed: " + r.error().message
            );
        }
        ++count;
        return Ok();
    }));
    return count;
}

// Single relations whose record is missing (PocketBase has no foreign keys) become empty, noted.
Result<void> ClearDanglingRelations(db::Executor& ex, const collections::Snapshot& snap, Notes& notes) {
    for (const auto& c : snap.All()) {
        if (c.IsView()) {
            continue;
        }
        for (const auto& f : c.fields) {
            if (f.Shape() != schema::ValueShape::kRelation) {
                continue;
            }
            const auto* target = snap.Find(f.CollectionId());
            if (target == nullptr) {
                continue;
            }
            BASALT_ASSIGN_OR_RETURN(
                auto n,
                ex.Exec(
                    "UPDATE " + Quote(c.name) + " SET " + Quote(f.name) + " = NULL WHERE " + Quote(f.name) +
                    " IS NOT NULL AND " + Quote(f.name) + " NOT IN (SELECT id FROM " + Quote(target->name) + ")"
                )
            );
            if (n > 0) {
                notes.push_back(
                    c.name + "." + f.name + ": " + std::to_string(n) + " records named a " + target->name +
                    " record that does not exist; the relation was emptied"
                );
            }
        }
    }
    return Ok();
}

Result<std::int64_t> CountRows(const Source& src, const std::string& table) {
    std::int64_t n = 0;
    BASALT_TRY(src.Each("SELECT count(*) FROM " + Quote(table), [&](std::vector<db::Value>& row) -> Result<void> {
        n = db::AsInt(row[0]);
        return Ok();
    }));
    return n;
}

void CopyFiles(const fs::path& from, const fs::path& to, bool overwrite, ImportReport& report, Notes& notes) {
    std::error_code ec;
    if (!fs::is_directory(from, ec)) {
        return;
    }
    fs::recursive_directory_iterator it(from, fs::directory_options::skip_permission_denied, ec);
    for (; !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        const auto& entry = *it;
        const fs::path rel = fs::relative(entry.path(), from, ec);
        if (entry.is_symlink(ec)) {
            notes.push_back("storage/" + rel.string() + ": a symbolic link; not copied");
            if (entry.is_directory(ec)) {
                it.disable_recursion_pending();
            }
            continue;
        }
        if (entry.is_directory(ec)) {
            fs::create_directories(to / rel, ec);
            continue;
        }
        if (!entry.is_regular_file(ec)) {
            continue;
        }
        const auto opts = overwrite ? fs::copy_options::overwrite_existing : fs::copy_options::skip_existing;
        std::error_code cec;
        fs::create_directories((to / rel).parent_path(), cec);
        fs::copy_file(entry.path(), to / rel, opts, cec);
        if (cec) {
            notes.push_back("storage/" + rel.string() + ": not copied (" + cec.message() + ")");
            continue;
        }
        ++report.files;
        report.file_bytes += entry.file_size(cec);
    }
    if (ec) {
        notes.push_back("storage/: listing stopped early (" + ec.message() + ")");
    }
}

// The settings patch, section by section when the whole is refused.
void ApplySettings(settings::SettingsStore& store, const json::object& patch, Notes& notes) {
    if (patch.empty() || store.Patch(patch)) {
        return;
    }
    for (const auto& [key, v] : patch) {
        json::object one{{key, v}};
        if (auto r = store.Patch(one); !r) {
            std::string why = r.error().message;
            for (const auto& fe : r.error().fields) {
                why += " " + fe.field + ": " + fe.message;
            }
            notes.push_back("settings." + std::string(key) + ": refused by basalt (" + why + "); not carried over");
        }
    }
}

}  // namespace

Result<std::optional<std::string>> WhyNotEmpty(db::Database& db) {
    BASALT_ASSIGN_OR_RETURN(
        auto rs, db.Read("SELECT name FROM _collections WHERE system = 0 AND name <> 'users' ORDER BY name LIMIT 3")
    );
    if (!rs.rows.empty()) {
        return std::optional<std::string>("it has collections of its own (" + db::AsString(rs.rows[0][0]) + ", ...)");
    }
    for (const char* table : {"users", "_superusers"}) {
        auto n = db.Read(std::string("SELECT count(*) FROM ") + Quote(table));
        if (n && !n->rows.empty() && db::AsInt(n->rows[0][0]) > 0) {
            return std::optional<std::string>(
                "it has " + std::to_string(db::AsInt(n->rows[0][0])) + " records in " + table
            );
        }
    }
    return std::optional<std::string>();
}

namespace {

// The old settings document (pre-0.23 auth collections take their token options from it).
Result<json::object> ReadOldSettings(const Source& src, Notes& notes) {
    json::object old_settings;
    BASALT_ASSIGN_OR_RETURN(auto raw_settings, src.Param("settings"));
    if (raw_settings) {
        boost::system::error_code ec;
        auto parsed = json::parse(*raw_settings, ec);
        if (!ec && parsed.is_object()) {
            old_settings = parsed.as_object();
        } else {
            notes.push_back(
                "settings: not readable as JSON (encrypted with PocketBase's --encryptionEnv?); no setting was "
                "carried over"
            );
        }
    }
    return old_settings;
}

// Each collection's records, into its table (emptied first with --force).
Result<void> CopyCollectionRecords(
    const Source& src,
    db::Executor& ex,
    const std::vector<std::pair<const schema::Collection*, std::string>>& tables,
    Era era,
    const ImportOptions& options,
    ImportReport& report
) {
    Notes& notes = report.not_carried_over;
    const std::set<std::string> legacy_auth_columns{
        "lastResetSentAt", "lastVerificationSentAt", "lastLoginAlertSentAt"};
    for (const auto& [def, source_table] : tables) {
        TableCopy t;
        t.source_table = source_table;
        t.dest_table = def->name;
        t.def = def;
        if (era == Era::kLegacy && def->type == schema::CollectionType::kAuth) {
            t.renamed["password"] = "passwordHash";
            t.ignored = legacy_auth_columns;
        }
        if (options.force) {
            BASALT_TRY(ex.Exec("DELETE FROM " + Quote(def->name)));
        }
        BASALT_ASSIGN_OR_RETURN(auto n, CopyTable(src, ex, t, options.force, notes));
        report.records.emplace_back(def->name, n);
        Progress(options, "  " + def->name + ": " + std::to_string(n) + " records");
    }
    return Ok();
}

// Admins or superusers, external auth links and auth origins.
Result<void> CopySystemRecords(
    const Source& src,
    db::Executor& ex,
    const collections::Snapshot& snap,
    Era era,
    const ImportOptions& options,
    ImportReport& report
) {
    Notes& notes = report.not_carried_over;
    // Admins (pre-0.23) or superusers: same id, email, hash and tokenKey. Same email or id as a
    // superuser of the destination: the source's wins.
    if (const auto* su = snap.Find("_superusers"); su != nullptr) {
        TableCopy t;
        t.source_table = era == Era::kLegacy ? "_admins" : "_superusers";
        t.dest_table = "_superusers";
        t.def = su;
        if (era == Era::kLegacy) {
            t.renamed["password"] = "passwordHash";
            t.constants["verified"] = std::int64_t{1};
            t.ignored = {"avatar", "lastResetSentAt"};
        }
        if (src.HasTable(t.source_table)) {
            BASALT_ASSIGN_OR_RETURN(report.superusers, CopyTable(src, ex, t, true, notes));
            Progress(options, "  _superusers: " + std::to_string(report.superusers) + " records");
        }
    }
    if (const auto* ea = snap.Find("_externalAuths"); ea != nullptr && src.HasTable("_externalAuths")) {
        TableCopy t;
        t.source_table = "_externalAuths";
        t.dest_table = "_externalAuths";
        t.def = ea;
        if (era == Era::kLegacy) {
            t.renamed["collectionRef"] = "collectionId";
            t.renamed["recordRef"] = "recordId";
        }
        BASALT_ASSIGN_OR_RETURN(report.external_auths, CopyTable(src, ex, t, true, notes));
        Progress(options, "  _externalAuths: " + std::to_string(report.external_auths) + " records");
    }
    if (const auto* ao = snap.Find("_authOrigins"); ao != nullptr && src.HasTable("_authOrigins")) {
        TableCopy t;
        t.source_table = "_authOrigins";
        t.dest_table = "_authOrigins";
        t.def = ao;
        BASALT_ASSIGN_OR_RETURN(auto n, CopyTable(src, ex, t, true, notes));
        Progress(options, "  _authOrigins: " + std::to_string(n) + " records");
    }
    for (const char* transient : {"_mfas", "_otps"}) {
        if (src.HasTable(transient)) {
            BASALT_ASSIGN_OR_RETURN(auto n, CountRows(src, transient));
            if (n > 0) {
                notes.push_back(
                    std::string(transient) + ": " + std::to_string(n) +
                    " pending sign-in steps not carried over (they expire within minutes)"
                );
            }
        }
    }
    return Ok();
}

// Auth links whose record is gone would fail the foreign-key check: PocketBase kept them.
Result<void> PruneExternalAuths(db::Executor& ex, const collections::Snapshot& snap) {
    if (snap.Find("_externalAuths") != nullptr) {
        for (const auto& c : snap.All()) {
            if (c.type != schema::CollectionType::kAuth) {
                continue;
            }
            BASALT_TRY(ex.Exec(
                "DELETE FROM _externalAuths WHERE collectionRef = ? AND recordRef NOT IN (SELECT id FROM " +
                    Quote(c.name) + ")",
                {c.id}
            ));
        }
    }
    return Ok();
}

// The settings that map, and the superusers' token durations of the pre-0.23 settings.
void ApplyOldSettings(
    settings::SettingsStore& settings,
    collections::CollectionStore& store,
    const json::object& old_settings,
    Era era,
    const ImportOptions& options,
    Notes& notes
) {
    ApplySettings(settings, ConvertSettings(old_settings, era, notes), notes);
    Progress(options, "Settings carried over");
    if (era == Era::kLegacy) {
        json::object su;
        for (auto [option, setting] : std::initializer_list<std::pair<std::string_view, std::string_view>>{
                 {"authToken", "adminAuthToken"},
                 {"passwordResetToken", "adminPasswordResetToken"},
                 {"fileToken", "adminFileToken"}}) {
            const auto* v = old_settings.if_contains(setting);
            if (v != nullptr && v->is_object() && v->as_object().contains("duration")) {
                su[option] = json::object{{"duration", v->as_object().at("duration")}};
            }
        }
        if (!su.empty()) {
            if (auto r = store.Update("_superusers", su); !r.errors.empty() || !r.message.empty()) {
                notes.push_back("settings.adminAuthToken: durations not carried over (" + ErrorText(r) + ")");
            }
        }
    }
    if (const auto* s3 = old_settings.if_contains("s3");
        s3 != nullptr && s3->is_object() && s3->as_object().contains("enabled") &&
        s3->as_object().at("enabled").is_bool() && s3->as_object().at("enabled").as_bool()) {
        notes.push_back("storage: files live in the S3 bucket of settings.s3, which basalt now uses; none copied");
    }
}

}  // namespace

Result<ImportReport> Import(
    const Source& src, db::Database& db, const fs::path& data_dir, const ImportOptions& options
) {
    ImportReport report;
    report.era = src.GetEra();
    const Era era = src.GetEra();
    Notes& notes = report.not_carried_over;
    SystemClock clock;
    collections::CollectionStore store(db, clock);
    BASALT_TRY(store.Load());
    settings::SettingsStore settings(db);
    BASALT_TRY(settings.Load());

    // The old settings document (pre-0.23 auth collections take their token options from it).
    BASALT_ASSIGN_OR_RETURN(json::object old_settings, ReadOldSettings(src, notes));
    // Collections.
    BASALT_ASSIGN_OR_RETURN(auto source_collections, src.Collections());
    std::vector<json::object> bodies;
    std::vector<json::object> views;
    for (const auto& c : source_collections) {
        if (IsAuthDataCollection(c.name)) {
            continue;
        }
        json::object body =
            era == Era::kLegacy ? ConvertLegacyCollection(c, old_settings, notes) : ConvertModernCollection(c, notes);
        DropUnparsableIndexes(body, notes);
        (c.type == "view" ? views : bodies).push_back(std::move(body));
    }
    Progress(
        options, "Importing " + std::to_string(bodies.size() + views.size()) + " collections (" + EraName(era) + ")"
    );
    BASALT_TRY(ImportCollections(store, bodies, /*delete_missing=*/true, notes));
    for (auto& v : views) {
        BASALT_TRY(ImportCollections(store, {v}, /*delete_missing=*/false, notes));
    }
    const auto snap = store.Current();

    // Records, superusers, links: one transaction, foreign keys checked at its end.
    std::vector<std::pair<const schema::Collection*, std::string>> tables;  // dest collection, source table
    for (const auto& c : source_collections) {
        if (IsAuthDataCollection(c.name) || c.type == "view") {
            continue;
        }
        const auto* d = snap->Find(c.id);
        if (d == nullptr || d->IsView() || !src.HasTable(c.name)) {
            continue;  // left out above, with its note
        }
        tables.emplace_back(d, c.name);
    }
    auto write = db.WriteSchema([&](db::Executor& ex) -> Result<void> {
        BASALT_TRY(CopyCollectionRecords(src, ex, tables, era, options, report));
        BASALT_TRY(CopySystemRecords(src, ex, *snap, era, options, report));
        BASALT_TRY(PruneExternalAuths(ex, *snap));
        return ClearDanglingRelations(ex, *snap, notes);
    });
    if (!write) {
        return MakeError(write.error().code, "copying the records failed: " + write.error().message);
    }
    report.collections = snap->All().size();
    for (const auto& v : views) {
        const auto* name = v.if_contains("name");
        if (name != nullptr && name->is_string() && snap->Find(std::string_view(name->as_string())) != nullptr) {
            ++report.views;
        }
    }

    // Settings.
    if (!old_settings.empty()) {
        ApplyOldSettings(settings, store, old_settings, era, options, notes);
    }
    // Files.
    CopyFiles(src.Dir() / "storage", data_dir / "storage", options.force, report, notes);
    if (report.files > 0) {
        Progress(
            options,
            "Copied " + std::to_string(report.files) + " files (" + std::to_string(report.file_bytes) + " bytes)"
        );
    }
    return report;
}

}  // namespace basalt::importer
