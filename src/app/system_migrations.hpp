// SPDX-License-Identifier: MIT
#pragma once

#include <vector>

#include "db/migrations.hpp"

namespace basalt::app {

/// The versioned migrations that create basalt's system tables, oldest first.
const std::vector<db::Migration>& SystemMigrations();

}  // namespace basalt::app
