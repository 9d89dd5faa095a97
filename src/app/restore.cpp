// SPDX-License-Identifier: MIT
#include "app/restore.hpp"

#include "app/application.hpp"
#include "app/system_migrations.hpp"
#include "collections/store.hpp"

namespace basalt::app {

Result<backups::StagedRestore> PrepareRestore(
    const config::AppConfig& config,
    const std::filesystem::path& zip,
    const backups::ExtractProgress& progress,
    const std::string& prefix
) {
    backups::RestoreOptions options;
    options.known_version = SystemMigrations().back().version;
    options.progress = progress;
    options.prefix = prefix;
    BASALT_ASSIGN_OR_RETURN(
        auto staged, backups::StageRestore(std::filesystem::absolute(config.data_dir), zip, options)
    );
    auto opened = [&]() -> Result<void> {
        config::AppConfig trial = config;
        trial.data_dir = staged.dir.string();
        BASALT_ASSIGN_OR_RETURN(auto dir, DataDir::Open(trial));
        return dir->LoadCollections();
    }();
    if (!opened) {
        backups::DiscardRestore(staged);
        return MakeError(ErrorCode::kInvalidArgument, "the restored data does not open: " + opened.error().message);
    }
    return staged;
}

}  // namespace basalt::app
