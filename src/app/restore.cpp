// SPDX-License-Identifier: MIT
#include "app/restore.hpp"

#include "app/application.hpp"
#include "app/system_migrations.hpp"
#include "collections/store.hpp"
#include "importer/importer.hpp"
#include "obs/log.hpp"

namespace basalt::app {

namespace {

namespace fs = std::filesystem;

// A PocketBase backup, unpacked in `staged.dir` (a pb_data): imported into a fresh basalt data
// directory beside it (`<staged>-basalt`, still under the staging prefix, so a crash leaves it to
// the leftovers' cleanup), which then is the staged restore. What the import left behind is logged.
Result<void> ImportPocketBase(const config::AppConfig& config, backups::StagedRestore& staged) {
    const fs::path into = staged.dir.parent_path() / (staged.dir.filename().string() + "-basalt");
    auto imported = [&]() -> Result<void> {
        BASALT_ASSIGN_OR_RETURN(auto src, importer::Source::Open(staged.dir));
        config::AppConfig fresh = config;
        fresh.data_dir = into.string();
        BASALT_ASSIGN_OR_RETURN(auto dir, DataDir::Open(fresh));
        BASALT_ASSIGN_OR_RETURN(auto report, importer::Import(*src, dir->Database(), dir->Path(), {}));
        obs::Info(
            "restore: a PocketBase backup was imported",
            {{"era", std::string(importer::EraName(report.era))},
             {"collections", static_cast<std::int64_t>(report.records.size())},
             {"files", static_cast<std::int64_t>(report.files)}}
        );
        for (const auto& note : report.not_carried_over) {
            obs::Warn("restore: not carried over from the PocketBase backup", {{"what", note}});
        }
        return Ok();
    }();
    backups::DiscardRestore(staged);
    if (!imported) {
        std::error_code ec;
        fs::remove_all(into, ec);
        return MakeError(
            ErrorCode::kInvalidArgument, "the PocketBase backup could not be imported: " + imported.error().message
        );
    }
    staged.dir = into;
    staged.pocketbase = true;
    staged.schema_version = SystemMigrations().back().version;
    return Ok();
}

}  // namespace

Result<backups::StagedRestore> PrepareRestore(
    const config::AppConfig& config,
    const fs::path& zip,
    const backups::ExtractProgress& progress,
    const std::string& prefix
) {
    backups::RestoreOptions options;
    options.known_version = SystemMigrations().back().version;
    options.progress = progress;
    options.prefix = prefix;
    options.accept_pocketbase = true;
    BASALT_ASSIGN_OR_RETURN(options.key, backups::LoadBackupKey(config.backup_key, config.backup_key_file));
    BASALT_ASSIGN_OR_RETURN(auto staged, backups::StageRestore(fs::absolute(config.data_dir), zip, options));
    if (staged.pocketbase) {
        BASALT_TRY(ImportPocketBase(config, staged));
    }
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
