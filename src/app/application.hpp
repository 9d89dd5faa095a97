// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "backups/restore.hpp"
#include "config/config.hpp"
#include "core/result.hpp"
#include "db/sqlite/sqlite_database.hpp"

namespace basalt::db {
class Database;
}
namespace basalt::identity {
class SuperuserStore;
}
namespace basalt::migrations {
class Migrator;
}
namespace basalt::records {
struct SweepCounts;
struct SweepOptions;
}  // namespace basalt::records
namespace basalt::storage {
class Storage;
struct S3Config;
}  // namespace basalt::storage

namespace basalt::app {

/// The bucket settings of an s3:// replica (`serve --replicate`, `basalt restore --from`).
storage::S3Config ReplicaBucket(const config::ReplicaConfig& replica);

/// The data directory opened for use: the database with every system migration applied.
/// Used by `serve` and by the CLI's offline commands (`superuser upsert`, `files sweep`, ...).
class DataDir {
public:
    /// Creates the directory if needed, opens data.db and applies the system migrations. Fails with a
    /// message that says what went wrong (unwritable directory, failed migration, ...).
    /// `wal_tap`: given every committed transaction's WAL frames (the point-in-time replica).
    static Result<std::unique_ptr<DataDir>> Open(const config::AppConfig& config, const db::WalTap& wal_tap = {});
    ~DataDir();
    DataDir(const DataDir&) = delete;
    DataDir& operator=(const DataDir&) = delete;

    const std::filesystem::path& Path() const;
    identity::SuperuserStore& Superusers();
    /// The migration files of `config` (MigrationsPath) against this database (`basalt migrate`).
    std::unique_ptr<migrations::Migrator> Migrations(const config::AppConfig& config);
    /// The database (offline commands such as `basalt import` work on it directly).
    db::Database& Database();
    /// `basalt files sweep`: removes the stored files no record names (records::SweepOrphanedFiles
    /// over `<dir>/storage`).
    Result<records::SweepCounts> SweepFiles(const records::SweepOptions& options);
    /// Loads the collections' definitions (a check that the data would serve).
    Result<void> LoadCollections();
    /// The bucket settings.backups.s3 keeps backups in, or null when they stay in the folder
    /// (`basalt backup` works where the server would).
    Result<std::shared_ptr<storage::Storage>> BackupBucket();

    struct Impl;

private:
    friend class Application;
    explicit DataDir(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

/// Where the migration files are: `--migrations-dir`, else `migrations` beside the data directory.
std::filesystem::path MigrationsPath(const config::AppConfig& config);

/// The composition root: builds every part from the config and runs the server.
class Application {
public:
    explicit Application(config::AppConfig config);
    ~Application();
    Application(const Application&) = delete;
    Application& operator=(const Application&) = delete;

    /// Opens the data dir and binds the listeners (fail fast). After it, Port() is known.
    Result<void> Start();
    std::uint16_t Port() const;
    /// The separate metrics listener's base URL (http://host:port) when --metrics-http is set.
    std::string MetricsUrl() const;
    /// The metrics listener's port (0 without --metrics-http).
    std::uint16_t MetricsPort() const;
    /// Serves until SIGINT/SIGTERM (or a restore), then drains and returns.
    void Run();
    /// After Run(): the restore the server stopped for (POST /api/backups/{key}/restore), checked
    /// and unpacked. The caller destroys this Application, swaps it in (backups::SwapIn) and starts a
    /// new one on the same addresses.
    std::optional<backups::StagedRestore> TakeRestore();
    /// Asks Run() to return (graceful).
    void Stop();

    identity::SuperuserStore& Superusers();
    const std::filesystem::path& DataPath() const;
    /// The one-time install token while no superuser exists (empty otherwise).
    const std::string& InstallToken() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace basalt::app
