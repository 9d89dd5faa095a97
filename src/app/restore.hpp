// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <string>

#include "backups/restore.hpp"
#include "config/config.hpp"
#include "core/result.hpp"

namespace basalt::app {

/// Unpacks and checks the backup archive `zip` for the data directory of `config`
/// (backups::StageRestore), then opens the unpacked data as `serve` would — the system migrations
/// applied, the collections loaded — so a restore never swaps in data the server cannot start on.
/// A PocketBase backup is imported first (importer::Import into a fresh data directory beside the
/// unpacked one, which it replaces): it restores as its `basalt import pocketbase` would.
/// kInvalidArgument with the reason when refused; nothing of the data in use is touched. Blocks.
Result<backups::StagedRestore> PrepareRestore(
    const config::AppConfig& config,
    const std::filesystem::path& zip,
    const backups::ExtractProgress& progress = {},
    const std::string& prefix = "restore-"
);

}  // namespace basalt::app
