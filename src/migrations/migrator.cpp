// SPDX-License-Identifier: MIT
#include "migrations/migrator.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <set>
#include <sstream>
#include <system_error>

#include "collections/change_set.hpp"
#include "collections/definitions.hpp"
#include "obs/log.hpp"

namespace basalt::migrations {

namespace {

namespace json = boost::json;

constexpr std::uintmax_t kMaxFileBytes = 64U << 20U;

std::string TextOf(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

Result<std::string> ReadText(const std::filesystem::path& path) {
    std::error_code ec;
    const auto size = std::filesystem::file_size(path, ec);
    if (ec) {
        return MakeError(ErrorCode::kNotFound, "cannot read " + path.string() + ": " + ec.message());
    }
    if (size > kMaxFileBytes) {
        return MakeError(ErrorCode::kInvalidArgument, "the file is larger than 64 MiB");
    }
    std::ifstream in(path, std::ios::binary);
    std::ostringstream text;
    text << in.rdbuf();
    if (!in && !in.eof()) {
        return MakeError(ErrorCode::kUnavailable, "cannot read " + path.string());
    }
    return text.str();
}

// A step file may leave oauth2.providers out (automigrate does: client secrets stay out of version
// control); the collection's configured providers then stay as they are.
void KeepProviders(json::object& body, const schema::Collection& old) {
    auto* oauth2 = body.if_contains("oauth2");
    if (oauth2 == nullptr || !oauth2->is_object() || oauth2->as_object().contains("providers")) {
        return;
    }
    const json::object current = schema::CollectionToJson(old);
    if (const auto* cur = current.if_contains("oauth2"); cur != nullptr && cur->is_object()) {
        if (const auto* providers = cur->as_object().if_contains("providers"); providers != nullptr) {
            oauth2->as_object()["providers"] = *providers;
        }
    }
}

// Stand-ins (id and name) for the collections a group of steps creates: relations in earlier steps
// of the group may point at them, as in one import.
std::vector<schema::Collection> PendingOf(const std::vector<const Step*>& group) {
    std::vector<schema::Collection> out;
    for (const Step* s : group) {
        if (s->kind != StepKind::kCreate || TextOf(s->collection, "id").empty()) {
            continue;
        }
        json::object raw = s->collection;
        raw.erase("fields");
        if (auto c = schema::CollectionFromJson(raw); c) {
            out.push_back(std::move(*c));
        }
    }
    return out;
}

bool RunCollectionStep(collections::ChangeSet& cs, const Step& step, collections::ChangeResult& out) {
    switch (step.kind) {
        case StepKind::kCreate:
            return cs.Create(step.collection, out);
        case StepKind::kUpdate: {
            const std::string id = TextOf(step.collection, "id");
            const std::string key = id.empty() ? TextOf(step.collection, "name") : id;
            const schema::Collection* old = cs.Find(key);
            if (old == nullptr || (!id.empty() && old->id != id)) {
                out.code = ErrorCode::kNotFound;
                out.message = "collection " + key + " not found";
                return false;
            }
            json::object body = step.collection;
            KeepProviders(body, *old);
            return cs.Update(schema::Collection(*old), body, out);
        }
        case StepKind::kDelete: {
            const schema::Collection* c = cs.Find(step.target);
            if (c == nullptr) {
                out.code = ErrorCode::kNotFound;
                out.message = "collection " + step.target + " not found";
                return false;
            }
            return cs.Delete(schema::Collection(*c), out);
        }
        case StepKind::kImport:
            return collections::ImportInto(cs, step.collections, step.delete_missing, out);
        case StepKind::kSql:
            break;
    }
    return false;
}

std::string StepPlace(bool up, std::size_t i, const Step& step) {
    return std::string(up ? "up[" : "down[") + std::to_string(i) + "] (" + DescribeStep(step) + ")";
}

}  // namespace

json::object DefinitionForFile(const schema::Collection& c) {
    json::object o = schema::CollectionToJson(c);
    o.erase("created");
    o.erase("updated");
    if (auto* oauth2 = o.if_contains("oauth2"); oauth2 != nullptr && oauth2->is_object()) {
        oauth2->as_object().erase("providers");
    }
    return o;
}

namespace {

Step CollectionStep(StepKind kind, const schema::Collection& c) {
    Step s;
    s.kind = kind;
    s.collection = DefinitionForFile(c);
    return s;
}

Step DeleteStep(std::string id) {
    Step s;
    s.kind = StepKind::kDelete;
    s.target = std::move(id);
    return s;
}

}  // namespace

MigrationFile MigrationForChanges(const std::vector<collections::SchemaChange>& changes, std::string& name) {
    MigrationFile m;
    std::vector<Step> down;
    for (const auto& ch : changes) {
        Step up_step;
        Step down_step;
        if (!ch.before) {
            up_step = CollectionStep(StepKind::kCreate, *ch.after);
            down_step = DeleteStep(ch.after->id);
            name = "created_" + ch.after->name;
        } else if (!ch.after) {
            up_step = DeleteStep(ch.before->id);
            down_step = CollectionStep(StepKind::kCreate, *ch.before);
            name = "deleted_" + ch.before->name;
        } else {
            up_step = CollectionStep(StepKind::kUpdate, *ch.after);
            down_step = CollectionStep(StepKind::kUpdate, *ch.before);
            name = "updated_" + ch.before->name;
        }
        m.up.push_back(std::move(up_step));
        down.push_back(std::move(down_step));
    }
    m.down.assign(down.rbegin(), down.rend());
    if (changes.size() > 1) {
        name = "collections_change";
    }
    return m;
}

// One direction of one migration, in one schema transaction with its record. Consecutive collection
// steps form one change (one ChangeSet: views dropped once and recreated at the end of the group,
// relations may point at collections created later in the group); each SQL step runs on its own
// between groups, with the views in place. Returns false when another process had already done it.
Result<bool> Migrator::Run(const std::string& file, const std::vector<Step>& steps, bool up) {
    bool done = false;
    auto written = db_.WriteSchema([&](db::Executor& ex) -> Result<void> {
        done = false;
        BASALT_ASSIGN_OR_RETURN(auto rec, ex.Query("SELECT 1 FROM _migrationFiles WHERE file = ?", {file}));
        if (rec.rows.empty() != up) {
            return Ok();
        }
        std::size_t i = 0;
        while (i < steps.size()) {
            if (steps[i].kind == StepKind::kSql) {
                db::ScriptOptions opt;
                opt.keep_rows = false;
                if (auto r = ex.RunScript(steps[i].sql, opt); !r) {
                    return MakeError(r.error().code, StepPlace(up, i, steps[i]) + ": " + r.error().message);
                }
                ++i;
                continue;
            }
            std::vector<const Step*> group;
            const std::size_t first = i;
            while (i < steps.size() && steps[i].kind != StepKind::kSql) {
                group.push_back(&steps[i++]);
            }
            BASALT_ASSIGN_OR_RETURN(auto all, collections::ReadDefinitions([&ex](std::string_view sql) {
                                        return ex.Query(sql);
                                    }));
            const collections::Snapshot before(std::move(all));
            collections::ChangeSet cs(ex, before, FormatDateTime(clock_.Now()));
            cs.AddPending(PendingOf(group));
            collections::ChangeResult out;
            if (!cs.Begin(out)) {
                return MakeError(out.code, StepPlace(up, first, *group[0]) + ": " + collections::DescribeFailure(out));
            }
            for (std::size_t k = 0; k < group.size(); ++k) {
                if (!RunCollectionStep(cs, *group[k], out)) {
                    return MakeError(
                        out.code, StepPlace(up, first + k, *group[k]) + ": " + collections::DescribeFailure(out)
                    );
                }
            }
            if (!cs.Finish(out)) {
                return MakeError(
                    out.code, StepPlace(up, i - 1, *group.back()) + ": " + collections::DescribeFailure(out)
                );
            }
        }
        if (up) {
            BASALT_TRY(ex.Exec(
                "INSERT INTO _migrationFiles (file, applied) VALUES (?, ?)", {file, FormatDateTime(clock_.Now())}
            ));
        } else {
            BASALT_TRY(ex.Exec("DELETE FROM _migrationFiles WHERE file = ?", {file}));
        }
        done = true;
        return Ok();
    });
    if (!written) {
        return MakeError(written.error().code, file + ": " + written.error().message);
    }
    return done;
}

Result<void> Migrator::Up(std::vector<std::string>& done) {
    BASALT_ASSIGN_OR_RETURN(auto files, ListMigrations(dir_));
    BASALT_ASSIGN_OR_RETURN(auto rows, db_.Read("SELECT file FROM _migrationFiles"));
    std::set<std::string> applied;
    for (const auto& row : rows.rows) {
        applied.insert(db::AsString(row[0]));
    }
    for (const auto& file : files) {
        if (applied.contains(file)) {
            continue;
        }
        BASALT_ASSIGN_OR_RETURN(auto text, ReadText(dir_ / file));
        auto parsed = ParseMigration(text);
        if (!parsed) {
            return MakeError(parsed.error().code, file + ": " + parsed.error().message);
        }
        BASALT_ASSIGN_OR_RETURN(const bool ran, Run(file, parsed->up, true));
        if (ran) {
            done.push_back(file);
        }
    }
    return Ok();
}

Result<void> Migrator::Down(int n, std::vector<std::string>& done) {
    BASALT_ASSIGN_OR_RETURN(
        auto rows,
        db_.Read("SELECT file FROM _migrationFiles ORDER BY rowid DESC LIMIT ?", {static_cast<std::int64_t>(n)})
    );
    for (const auto& row : rows.rows) {
        const std::string file = db::AsString(row[0]);
        auto text = ReadText(dir_ / file);
        if (!text) {
            return MakeError(ErrorCode::kNotFound, file + ": not in " + dir_.string() + ", cannot revert it");
        }
        auto parsed = ParseMigration(*text);
        if (!parsed) {
            return MakeError(parsed.error().code, file + ": " + parsed.error().message);
        }
        BASALT_ASSIGN_OR_RETURN(const bool ran, Run(file, parsed->down, false));
        if (ran) {
            done.push_back(file);
        }
    }
    return Ok();
}

Result<std::vector<HistoryEntry>> Migrator::History() const {
    BASALT_ASSIGN_OR_RETURN(auto files, ListMigrations(dir_));
    BASALT_ASSIGN_OR_RETURN(auto rows, db_.Read("SELECT file, applied FROM _migrationFiles ORDER BY rowid"));
    std::vector<HistoryEntry> out;
    std::set<std::string> applied;
    for (const auto& row : rows.rows) {
        HistoryEntry e{db::AsString(row[0]), db::AsString(row[1]), false};
        e.missing = !std::binary_search(files.begin(), files.end(), e.file);
        applied.insert(e.file);
        out.push_back(std::move(e));
    }
    for (const auto& f : files) {
        if (!applied.contains(f)) {
            out.push_back({f, "", false});
        }
    }
    return out;
}

Result<std::string> Migrator::NewFileName(std::string_view name) {
    const auto now = std::chrono::duration_cast<std::chrono::seconds>(clock_.Now().time_since_epoch()).count();
    std::int64_t ts = std::max<std::int64_t>(now, last_timestamp_ + 1);
    BASALT_ASSIGN_OR_RETURN(auto files, ListMigrations(dir_));
    for (const auto& f : files) {
        ts = std::max(ts, MigrationTimestamp(f) + 1);
    }
    last_timestamp_ = ts;
    return MigrationFileName(ts, name);
}

Result<std::filesystem::path> Migrator::WriteFile(const std::string& file, const MigrationFile& content) const {
    std::error_code ec;
    std::filesystem::create_directories(dir_, ec);
    if (ec) {
        return MakeError(ErrorCode::kUnavailable, "cannot create " + dir_.string() + ": " + ec.message());
    }
    const auto path = dir_ / file;
    const auto tmp = dir_ / ("." + file + ".tmp");
    {
        std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
        out << FormatMigration(content);
        out.flush();
        if (!out) {
            return MakeError(ErrorCode::kUnavailable, "cannot write " + tmp.string());
        }
    }
    std::filesystem::rename(tmp, path, ec);
    if (ec) {
        return MakeError(ErrorCode::kUnavailable, "cannot write " + path.string() + ": " + ec.message());
    }
    return path;
}

Result<std::filesystem::path> Migrator::Create(std::string_view name) {
    BASALT_ASSIGN_OR_RETURN(auto file, NewFileName(name));
    return WriteFile(file, MigrationFile{});
}

Result<std::filesystem::path> Migrator::Snapshot() {
    BASALT_ASSIGN_OR_RETURN(auto all, collections::ReadDefinitions([this](std::string_view sql) {
                                return db_.Read(sql);
                            }));
    Step import;
    import.kind = StepKind::kImport;
    for (const auto& c : all) {
        if (!c.system) {
            import.collections.push_back(DefinitionForFile(c));
        }
    }
    if (import.collections.empty()) {
        return MakeError(ErrorCode::kInvalidArgument, "there are no collections to snapshot");
    }
    MigrationFile m;
    m.up.push_back(std::move(import));
    BASALT_ASSIGN_OR_RETURN(auto file, NewFileName("collections_snapshot"));
    BASALT_ASSIGN_OR_RETURN(auto path, WriteFile(file, m));
    const std::string applied = FormatDateTime(clock_.Now());
    auto recorded = db_.WriteOne("INSERT INTO _migrationFiles (file, applied) VALUES (?, ?)", {file, applied});
    if (!recorded) {
        return recorded.error();
    }
    return path;
}

collections::SchemaChangeHook Migrator::AutomigrateHook() {
    return [this](
               db::Executor& ex, const std::vector<collections::SchemaChange>& changes
           ) -> Result<std::function<void()>> {
        std::string name;
        MigrationFile m = MigrationForChanges(changes, name);
        if (m.up.empty()) {
            return std::function<void()>{};
        }
        BASALT_ASSIGN_OR_RETURN(auto file, NewFileName(name));
        BASALT_TRY(
            ex.Exec("INSERT INTO _migrationFiles (file, applied) VALUES (?, ?)", {file, FormatDateTime(clock_.Now())})
        );
        return std::function<void()>([this, file, m = std::move(m)] {
            auto written = WriteFile(file, m);
            if (!written) {
                obs::Error(
                    "automigrate: the migration file was not written",
                    {{"file", file}, {"error", written.error().message}}
                );
            } else {
                obs::Info("automigrate: migration written", {{"file", written->string()}});
            }
        });
    };
}

}  // namespace basalt::migrations
