// SPDX-License-Identifier: MIT
#include "db/migrations.hpp"

#include <algorithm>
#include <chrono>
#include <set>

#include "core/clock.hpp"

namespace basalt::db {

Result<int> ApplyMigrations(Database& db, const std::vector<Migration>& migrations) {
    auto created = db.Write([](Executor& ex) -> Result<void> {
        BASALT_TRY(
            ex.Exec("CREATE TABLE IF NOT EXISTS _migrations ("
                    "version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied TEXT NOT NULL)")
        );
        return Ok();
    });
    if (!created) {
        return created.error();
    }
    BASALT_ASSIGN_OR_RETURN(auto rows, db.Read("SELECT version FROM _migrations"));
    std::set<std::int64_t> applied;
    for (const auto& row : rows.rows) {
        applied.insert(AsInt(row[0]));
    }

    std::vector<const Migration*> todo;
    for (const auto& m : migrations) {
        if (!applied.contains(m.version)) {
            todo.push_back(&m);
        }
    }
    std::sort(todo.begin(), todo.end(), [](const Migration* a, const Migration* b) { return a->version < b->version; });

    int count = 0;
    for (const Migration* m : todo) {
        auto r = db.Write([m](Executor& ex) -> Result<void> {
            BASALT_TRY(m->up(ex));
            BASALT_TRY(ex.Exec(
                "INSERT INTO _migrations (version, name, applied) VALUES (?, ?, ?)",
                {static_cast<std::int64_t>(m->version), m->name, FormatDateTime(std::chrono::system_clock::now())}
            ));
            return Ok();
        });
        if (!r) {
            Error e = r.error();
            e.message = "migration " + std::to_string(m->version) + " (" + m->name + ") failed: " + e.message;
            return e;
        }
        ++count;
    }
    return count;
}

}  // namespace basalt::db
