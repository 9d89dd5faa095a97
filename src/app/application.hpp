// SPDX-License-Identifier: MIT
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "config/config.hpp"
#include "core/result.hpp"

namespace basalt::db {
class Database;
}
namespace basalt::identity {
class SuperuserStore;
}
namespace basalt::records {
struct SweepCounts;
struct SweepOptions;
}  // namespace basalt::records

namespace basalt::app {

/// The data directory opened for use: the database with every system migration applied.
/// Used by `serve` and by the CLI's offline commands (`superuser upsert`, `files sweep`, ...).
class DataDir {
public:
    /// Creates the directory if needed, opens data.db and applies the system migrations. Fails with a
    /// message that says what went wrong (unwritable directory, failed migration, ...).
    static Result<std::unique_ptr<DataDir>> Open(const config::AppConfig& config);
    ~DataDir();
    DataDir(const DataDir&) = delete;
    DataDir& operator=(const DataDir&) = delete;

    const std::filesystem::path& Path() const;
    identity::SuperuserStore& Superusers();
    /// The database (offline commands such as `basalt import` work on it directly).
    db::Database& Database();
    /// `basalt files sweep`: removes the stored files no record names (records::SweepOrphanedFiles
    /// over `<dir>/storage`).
    Result<records::SweepCounts> SweepFiles(const records::SweepOptions& options);

private:
    friend class Application;
    struct Impl;
    explicit DataDir(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

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
    /// Serves until SIGINT/SIGTERM, then drains and returns.
    void Run();
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
