// SPDX-License-Identifier: MIT
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "db/database.hpp"

namespace basalt::db {

/// One versioned step of the system schema. `up` runs in a transaction together with the row that
/// records it in `_migrations`; if it fails, neither is kept.
struct Migration {
    int version = 0;
    std::string name;
    std::function<Result<void>(Executor&)> up;
};

/// Applies, in version order, every migration not yet recorded in `_migrations` (created if missing).
/// Stops at the first failure and returns it (message names the migration); earlier ones stay applied.
/// Returns how many migrations were applied.
Result<int> ApplyMigrations(Database& db, const std::vector<Migration>& migrations);

}  // namespace basalt::db
