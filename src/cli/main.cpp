// SPDX-License-Identifier: MIT
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <fcntl.h>
#include <malloc.h>
#include <sys/file.h>

#include "app/application.hpp"
#include "backups/backup_store.hpp"
#include "cli/backup_command.hpp"
#include "cli/replica_command.hpp"
#include "config/config.hpp"
#include "core/clock.hpp"
#include "db/sqlite/sqlite_database.hpp"
#include "identity/superusers.hpp"
#include "importer/importer.hpp"
#include "migrations/migrator.hpp"
#include "obs/log.hpp"
#include "records/file_sweep.hpp"

namespace {

using basalt::config::AppConfig;

constexpr const char* kVersion = "0.1.0";

int PrintError(const std::string& message) {
    basalt::obs::Flush();
    std::fprintf(stderr, "Error: %s\n", message.c_str());
    return 1;
}

// The bound port written back into a HOST:PORT address (a restart answers where the server did).
std::string WithPort(const std::string& address, std::uint16_t port) {
    const auto colon = address.rfind(':');
    return (colon == std::string::npos ? address : address.substr(0, colon)) + ":" + std::to_string(port);
}

// After a restore's server stopped: its data swapped in (under the backups lock, so no backup reads
// half of it). A failure leaves the old data, logged; the server starts again either way.
void SwapInRestore(const std::filesystem::path& dir, const basalt::backups::StagedRestore& staged) {
    basalt::backups::BackupStore store(dir);
    std::optional<basalt::backups::Operation> op;
    for (int i = 0; i < 600; ++i) {  // a `basalt backup create` beside it: wait for it (≤ 60 s)
        if (auto begun = store.Begin(staged.source)) {
            op.emplace(std::move(*begun));
            break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!op) {
        basalt::obs::Error("restore: the backups lock stayed taken; the old data stays", {{"backup", staged.source}});
        basalt::backups::DiscardRestore(staged);
        return;
    }
    if (auto r = basalt::backups::SwapIn(dir, staged); !r) {
        basalt::backups::DiscardRestore(staged);
    }
}

void PrintBanner(basalt::app::Application& app, const AppConfig& config, bool restarted) {
    const std::string host =
        config.http.host.find(':') != std::string::npos ? "[" + config.http.host + "]" : config.http.host;
    const std::string base = "http://" + host + ":" + std::to_string(app.Port());
    if (config.role == basalt::config::Role::kWorker) {
        std::fputs(
            ("basalt " + std::string(kVersion) +
             "\nWorker started (jobs, webhooks, crons; no HTTP)\n└─ Data:      " + app.DataPath().string() + "\n")
                .c_str(),
            stderr
        );
        std::fflush(stderr);
        basalt::obs::Info("worker started", {{"data_dir", app.DataPath().string()}});
        return;
    }
    // One write, so that whoever reads the banner sees all of it at once.
    std::string banner = restarted ? std::string() : std::string("basalt ") + kVersion + "\n";
    if (!app.InstallToken().empty()) {
        banner +=
            "\nNo superuser exists yet. Create the first one in the browser (this link works once, for an hour):\n  " +
            base + "/_/#/install/" + app.InstallToken() +
            "\nor with:\n  basalt superuser upsert EMAIL PASSWORD --dir " + app.DataPath().string() + "\n\n";
    }
    banner += std::string(restarted ? "Server restarted on the restored data at " : "Server started at ") + base +
              "\n├─ REST API:  " + base + "/api/\n├─ Dashboard: " + base + "/_/\n";
    if (const std::string metrics = app.MetricsUrl(); !metrics.empty()) {
        banner += "├─ Metrics:   " + metrics + "/metrics\n";
    }
    banner += "└─ Data:      " + app.DataPath().string() + "\n";
    std::fputs(banner.c_str(), stderr);
    std::fflush(stderr);
    basalt::obs::Info(
        restarted ? "server restarted" : "server started", {{"address", base}, {"data_dir", app.DataPath().string()}}
    );
}

int Serve(AppConfig config, const std::string& listen) {
    if (auto r = basalt::config::ParseListenAddress(listen, config.http); !r) {
        return PrintError(r.error().message);
    }
    if (auto r = basalt::config::Validate(config); !r) {
        return PrintError(r.error().message);
    }
    if (auto key = basalt::backups::LoadBackupKey(config.backup_key, config.backup_key_file); !key) {
        return PrintError(key.error().message);
    }
    if (config.dev) {
        basalt::obs::SetMinLevel(basalt::obs::Level::kDebug);
    }
    // A restore (POST /api/backups/{key}/restore) stops the server; it starts again, in this
    // process and on the same addresses, once the restored data is swapped in.
    for (bool restarted = false;; restarted = true) {
        std::optional<basalt::backups::StagedRestore> restore;
        std::filesystem::path dir;
        {
            basalt::app::Application app(config);
            if (auto r = app.Start(); !r) {
                return PrintError(r.error().message);
            }
            PrintBanner(app, config, restarted);
            app.Run();
            restore = app.TakeRestore();
            dir = app.DataPath();
            config.http.port = app.Port();
            if (app.MetricsPort() != 0) {
                config.metrics_listen = WithPort(config.metrics_listen, app.MetricsPort());
            }
        }
        basalt::obs::Flush();
        if (!restore) {
            return 0;
        }
        SwapInRestore(dir, *restore);
    }
}

// `basalt files sweep`: prints each file it removes, then the counts.
int SweepFiles(basalt::app::DataDir& dir, long long grace_minutes) {
    basalt::records::SweepOptions options;
    options.grace = std::chrono::minutes(grace_minutes);
    options.on_removed = [](std::string_view key, std::uint64_t bytes) {
        std::fputs(("removed " + std::string(key) + " (" + std::to_string(bytes) + " bytes)\n").c_str(), stdout);
    };
    auto r = dir.SweepFiles(options);
    if (!r) {
        return PrintError(r.error().message);
    }
    std::fputs(
        ("Removed " + std::to_string(r->files) + " files (" + std::to_string(r->bytes) + " bytes), " +
         std::to_string(r->folders) + " record folders whole.\n")
            .c_str(),
        stdout
    );
    basalt::obs::Flush();
    if (r->skipped > 0) {
        return PrintError(std::to_string(r->skipped) + " collection folders could not be swept (see the warnings)");
    }
    return 0;
}

}  // namespace

namespace {

// glibc's allocator gives freed memory back to the kernel as soon as 128 KiB sit free at the top of a
// heap, and serves allocations above 128 KiB with mmap: a server that builds and frees response
// bodies on many threads then spends its time in page faults (perf: 14% of W2). Keeping up to
// 32 MiB per arena and mapping only allocations above 4 MiB: W2 11.4k -> 19.8k req/s here, W3
// unchanged, idle RSS a few MB higher.
// Called first thing in main, before any thread exists (mallopt is not thread-safe).
void TuneAllocator() {
    (void)mallopt(M_MMAP_THRESHOLD, 4 << 20);   // NOLINT(concurrency-mt-unsafe): single-threaded here
    (void)mallopt(M_TRIM_THRESHOLD, 32 << 20);  // NOLINT(concurrency-mt-unsafe)
    (void)mallopt(M_TOP_PAD, 4 << 20);          // NOLINT(concurrency-mt-unsafe)
}

// A duration option given in milliseconds.
void AddMsOption(
    CLI::App& serve,
    const std::string& flag,
    const std::string& env,
    std::chrono::milliseconds& target,
    const std::string& help
) {
    serve
        .add_option_function<long long>(
            flag, [&target](long long v) { target = std::chrono::milliseconds(v); }, help
        )
        ->envname(env)
        ->default_str(std::to_string(target.count()));
}

// Operations: the metrics listener and the guest response cache.
void AddOperationsOptions(CLI::App& serve, AppConfig& config) {
    serve
        .add_option(
            "--metrics-http",
            config.metrics_listen,
            "Also serve the Prometheus metrics, unauthenticated, on this HOST:PORT (GET /metrics)"
        )
        ->envname("BASALT_METRICS_HTTP");
    serve
        .add_option(
            "--guest-cache-mb",
            config.guest_cache_mb,
            "MiB of guests' record lists and views kept in memory until the next write (0: off)"
        )
        ->envname("BASALT_GUEST_CACHE_MB")
        ->check(CLI::Range(0, 64 * 1024))
        ->capture_default_str();
}

// The HTTP server's options: address, threads, limits and timeouts.
void AddHttpOptions(CLI::App& serve, AppConfig& config, std::string& listen) {
    serve.add_option("--http", listen, "Address to listen on, HOST:PORT (port 0 picks a free one)")
        ->envname("BASALT_HTTP")
        ->capture_default_str();
    serve.add_option("--threads", config.http.threads, "I/O threads (0 = one per core)")
        ->envname("BASALT_THREADS")
        ->capture_default_str();
    serve.add_flag("--dev", config.dev, "Development mode: debug logs, automigrate")->envname("BASALT_DEV");
    serve.add_option("--origins", config.http.cors_origins, "Allowed CORS origins, comma separated ('*' = any)")
        ->envname("BASALT_ORIGINS")
        ->delimiter(',')
        ->capture_default_str();
    serve.add_option("--access-log", config.http.access_log, "One line per request: off, stdout or a file path")
        ->envname("BASALT_ACCESS_LOG")
        ->capture_default_str();
    serve.add_option("--max-connections", config.http.max_connections, "Open connections at most")
        ->envname("BASALT_MAX_CONNECTIONS")
        ->capture_default_str();
    serve.add_option("--max-body", config.http.max_body_bytes, "Request body bytes at most")
        ->envname("BASALT_MAX_BODY")
        ->capture_default_str();
    serve.add_option("--max-upload", config.http.max_upload_bytes, "multipart/form-data (upload) body bytes at most")
        ->envname("BASALT_MAX_UPLOAD")
        ->capture_default_str();
    serve.add_option("--max-header", config.http.max_header_bytes, "Request line + header bytes at most")
        ->envname("BASALT_MAX_HEADER")
        ->capture_default_str();
    AddMsOption(
        serve, "--header-timeout-ms", "BASALT_HEADER_TIMEOUT_MS", config.http.header_timeout, "Time to receive headers"
    );
    AddMsOption(
        serve, "--body-timeout-ms", "BASALT_BODY_TIMEOUT_MS", config.http.body_timeout, "Time to receive a body"
    );
    AddMsOption(serve, "--idle-timeout-ms", "BASALT_IDLE_TIMEOUT_MS", config.http.idle_timeout, "Keep-alive idle time");
    AddMsOption(
        serve, "--write-timeout-ms", "BASALT_WRITE_TIMEOUT_MS", config.http.write_timeout, "Time to write a response"
    );
    AddMsOption(
        serve,
        "--shutdown-grace-ms",
        "BASALT_SHUTDOWN_GRACE_MS",
        config.http.shutdown_grace,
        "Time in-flight requests get on shutdown"
    );
    AddMsOption(
        serve,
        "--realtime-heartbeat-ms",
        "BASALT_REALTIME_HEARTBEAT_MS",
        config.realtime.heartbeat,
        "SSE heartbeat interval"
    );
    AddMsOption(
        serve,
        "--realtime-idle-ms",
        "BASALT_REALTIME_IDLE_MS",
        config.realtime.idle,
        "Close realtime clients idle this long"
    );
    AddMsOption(
        serve,
        "--realtime-max-duration-ms",
        "BASALT_REALTIME_MAX_DURATION_MS",
        config.realtime.max_duration,
        "Longest life of a realtime connection"
    );
}

// The options of what runs beside the server: role, pools, realtime, events, jobs, files.
void AddRuntimeOptions(CLI::App& serve, AppConfig& config) {
    static const std::map<std::string, basalt::config::Role> kRoles{
        {"all", basalt::config::Role::kAll},
        {"api", basalt::config::Role::kApi},
        {"worker", basalt::config::Role::kWorker}};
    serve
        .add_option_function<std::string>(
            "--role",
            [&config](const std::string& role) { config.role = kRoles.at(role); },
            "all (HTTP and jobs), api (HTTP only) or worker (jobs only)"
        )
        ->envname("BASALT_ROLE")
        ->check(CLI::IsMember({"all", "api", "worker"}))
        ->default_str("all");
    serve.add_option("--admin-dir", config.admin_dir, "The built admin dashboard (default: found beside the binary)")
        ->envname("BASALT_ADMIN_DIR");
    serve
        .add_option_function<long long>(
            "--events-retention-hours",
            [&config](long long h) { config.events.retention = std::chrono::hours(h); },
            "Hours the outbox keeps events every consumer has passed"
        )
        ->envname("BASALT_EVENTS_RETENTION_HOURS")
        ->check(CLI::Range(1LL, 24LL * 365));
    serve.add_option("--events-max-rows", config.events.max_rows, "Outbox rows at most (oldest passed ones go)")
        ->envname("BASALT_EVENTS_MAX_ROWS")
        ->capture_default_str();
    serve.add_option("--query-threads", config.db.query_threads, "Threads for reads that may scan (lists, views)")
        ->envname("BASALT_QUERY_THREADS")
        ->capture_default_str();
    serve.add_option("--hash-threads", config.auth.hash_threads, "Threads for password hashing (CPU-bound)")
        ->envname("BASALT_HASH_THREADS")
        ->capture_default_str();
    serve
        .add_option(
            "--io-threads", config.outbound.threads, "Threads for slow outbound I/O a request waits for (OAuth2, SMTP)"
        )
        ->envname("BASALT_IO_THREADS")
        ->capture_default_str();
    serve.add_option("--workers", config.jobs.workers, "Threads running jobs")
        ->envname("BASALT_WORKERS")
        ->capture_default_str();
    AddMsOption(serve, "--job-lease-ms", "BASALT_JOB_LEASE_MS", config.jobs.lease, "Lease of a claimed job");
    AddMsOption(serve, "--job-poll-ms", "BASALT_JOB_POLL_MS", config.jobs.poll, "How often idle workers look for jobs");
    serve
        .add_option(
            "--realtime-max-queue",
            config.realtime.max_queued_bytes,
            "Bytes queued per realtime client before it is dropped"
        )
        ->envname("BASALT_REALTIME_MAX_QUEUE")
        ->capture_default_str();
    serve
        .add_option(
            "--realtime-threads",
            config.realtime.fanout_threads,
            "Threads sending realtime events to clients (0: one per core, at most 4)"
        )
        ->envname("BASALT_REALTIME_THREADS")
        ->check(CLI::Range(0U, 64U))
        ->capture_default_str();

    serve
        .add_option_function<long long>(
            "--files-sweep-hours",
            [&config](long long h) { config.files.sweep_interval = std::chrono::hours(h); },
            "Hours between sweeps for stored files no record names (0: off; default 6)"
        )
        ->envname("BASALT_FILES_SWEEP_HOURS")
        ->check(CLI::Range(0LL, 24LL * 365));
}

// The offline subcommands (superuser upsert/delete, files sweep) and what they were given.
struct OfflineCommands {
    CLI::App* upsert = nullptr;
    CLI::App* remove = nullptr;
    CLI::App* sweep = nullptr;
    basalt::cli::BackupCommands backup;
    CLI::App* import_pb = nullptr;
    std::string import_source;
    bool import_force = false;
    std::string email;
    std::string password;
    long long grace_minutes = 60;
};

void AddOfflineCommands(CLI::App& cli, OfflineCommands& c) {
    auto* superuser = cli.add_subcommand("superuser", "Manage superusers");
    superuser->require_subcommand(1);
    c.upsert = superuser->add_subcommand("upsert", "Create a superuser or set its password");
    c.upsert->add_option("email", c.email, "Email")->required();
    c.upsert->add_option("password", c.password, "Password (at least 8 characters)")->required();
    c.remove = superuser->add_subcommand("delete", "Delete a superuser");
    c.remove->add_option("email", c.email, "Email")->required();
    auto* files = cli.add_subcommand("files", "Manage stored files");
    files->require_subcommand(1);
    c.sweep = files->add_subcommand("sweep", "Remove stored files no record names (left by a crash)");
    c.sweep->add_option("--grace-minutes", c.grace_minutes, "Leave files modified less than this long ago")
        ->check(CLI::Range(0LL, 24LL * 60 * 365))
        ->capture_default_str();
    basalt::cli::AddBackupCommands(cli, c.backup);
    auto* import = cli.add_subcommand("import", "Import data from another server");
    import->require_subcommand(1);
    c.import_pb = import->add_subcommand("pocketbase", "Turn a PocketBase pb_data directory into basalt's --dir");
    c.import_pb->add_option("source", c.import_source, "The PocketBase pb_data directory (it is only read)")
        ->required();
    c.import_pb->add_flag(
        "--force", c.import_force, "Import into a data directory that holds data (its collections are replaced)"
    );
}

// Takes the data directory's role locks for the import (a server on it would keep serving its old
// schema): false when a basalt process holds one. The descriptors stay open until the process ends.
bool LockDataDirForImport(const std::filesystem::path& dir) {
    for (const char* role : {"api", "worker"}) {
        const auto lock_path = dir / (std::string(".lock-") + role);
        const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0 || ::flock(fd, LOCK_EX | LOCK_NB) != 0) {
            return false;
        }
    }
    return true;
}

// Import runs in steps (collections, then the records in one transaction, then settings and files):
// a failing step would leave the earlier ones behind. The destination's database is copied first
// (online, consistent) and put back when the import fails, with the database closed; a destination
// that did not exist before is removed. Files are copied only after every database step succeeded.
basalt::Result<basalt::importer::ImportReport> ImportAllOrNothing(
    const basalt::importer::Source& src,
    std::unique_ptr<basalt::app::DataDir> dir,
    bool dir_existed,
    const basalt::importer::ImportOptions& options
) {
    namespace fs = std::filesystem;
    const fs::path path = dir->Path();
    const fs::path undo = path / ".tmp" / "import-undo.db";
    std::error_code ec;
    fs::create_directories(undo.parent_path(), ec);
    fs::remove(undo, ec);
    BASALT_TRY(basalt::db::CopyDatabase((path / "data.db").string(), undo.string()));
    auto report = basalt::importer::Import(src, dir->Database(), path, options);
    dir.reset();  // closed: the files can be put back
    if (report) {
        fs::remove(undo, ec);
        return report;
    }
    if (!dir_existed) {
        fs::remove_all(path, ec);
    } else {
        for (const char* side : {"data.db-wal", "data.db-shm"}) {
            fs::remove(path / side, ec);
        }
        fs::rename(undo, path / "data.db", ec);
        if (ec) {
            return basalt::MakeError(
                basalt::ErrorCode::kInternal,
                report.error().message + "; and the destination could not be put back (" + ec.message() +
                    "): its copy from before the import is " + undo.string()
            );
        }
    }
    return basalt::MakeError(report.error().code, report.error().message + ". Nothing was imported.");
}

// `basalt import pocketbase SRC`: the source is checked before the destination is touched, so a
// source that is not PocketBase's leaves nothing behind.
int RunImport(const AppConfig& config, const OfflineCommands& c) {
    auto src = basalt::importer::Source::Open(c.import_source);
    if (!src) {
        return PrintError(src.error().message);
    }
    std::fprintf(
        stderr,
        "Importing %s (PocketBase %s) into %s\n",
        c.import_source.c_str(),
        basalt::importer::EraName((*src)->GetEra()),
        config.data_dir.c_str()
    );
    std::error_code ec;
    const bool existed = std::filesystem::exists(std::filesystem::path(config.data_dir) / "data.db", ec);
    const bool dir_existed = std::filesystem::exists(config.data_dir, ec);
    auto dir = basalt::app::DataDir::Open(config);
    if (!dir) {
        return PrintError(dir.error().message);
    }
    if (!LockDataDirForImport((*dir)->Path())) {
        return PrintError("a basalt process is using " + config.data_dir + ": stop it before importing");
    }
    if (existed && !c.import_force) {
        auto why = basalt::importer::WhyNotEmpty((*dir)->Database());
        if (!why) {
            return PrintError(why.error().message);
        }
        if (*why) {
            return PrintError(
                config.data_dir + " is not empty: " + **why + ". Nothing was imported; use --force to import anyway."
            );
        }
    }
    basalt::importer::ImportOptions options;
    options.force = c.import_force;
    options.progress = [](const std::string& line) {
        std::fputs((line + "\n").c_str(), stderr);
    };
    auto report = ImportAllOrNothing(**src, std::move(*dir), dir_existed, options);
    if (!report) {
        return PrintError(report.error().message);
    }
    std::int64_t records = 0;
    for (const auto& [name, n] : report->records) {
        records += n;
    }
    std::string out = "\nImported " + std::to_string(report->records.size() + report->views) + " collections (" +
                      std::to_string(report->views) + " views), " + std::to_string(records) + " records, " +
                      std::to_string(report->superusers) + " superusers, " + std::to_string(report->external_auths) +
                      " external auth links and " + std::to_string(report->files) + " files.\n";
    if (report->not_carried_over.empty()) {
        out += "Everything was carried over.\n";
    } else {
        out += "Not carried over:\n";
        for (const auto& n : report->not_carried_over) {
            out += "  - " + n + "\n";
        }
    }
    out += "Users sign in with their PocketBase passwords; each bcrypt hash becomes argon2id at the first sign-in.\n";
    std::fputs(out.c_str(), stderr);
    basalt::obs::Flush();
    return 0;
}

// Offline commands: they work whether or not a server runs on the same directory.
int RunOffline(const AppConfig& config, const OfflineCommands& c) {
    basalt::obs::SetMinLevel(basalt::obs::Level::kWarn);
    if (c.import_pb->parsed()) {
        const int rc = RunImport(config, c);
        basalt::obs::Flush();
        return rc;
    }
    if (c.backup.Parsed()) {
        return basalt::cli::RunBackupCommand(config, c.backup);
    }
    auto dir = basalt::app::DataDir::Open(config);
    if (!dir) {
        return PrintError(dir.error().message);
    }
    if (c.sweep->parsed()) {
        return SweepFiles(**dir, c.grace_minutes);
    }
    auto& store = (*dir)->Superusers();
    if (c.upsert->parsed()) {
        auto r = store.Upsert(c.email, c.password);
        if (!r) {
            return PrintError(r.error().message);
        }
        std::printf("Successfully saved superuser \"%s\".\n", r->email.c_str());
    } else if (c.remove->parsed()) {
        auto r = store.Delete(c.email);
        if (!r) {
            return PrintError(
                r.error().code == basalt::ErrorCode::kNotFound ? "superuser " + c.email + " not found"
                                                               : r.error().message
            );
        }
        std::printf("Successfully deleted superuser \"%s\".\n", c.email.c_str());
    }
    basalt::obs::Flush();
    return 0;
}

// `basalt migrate create NAME | up | down [N] | history | collections` (docs/migrations.md), on the
// data directory's database and the migrations folder (--migrations-dir). up/down change the schema
// behind a running server's back: stop it first (serve applies pending migrations at start anyway).
struct MigrateCommand {
    CLI::App* cmd = nullptr;
    CLI::App* create = nullptr;
    CLI::App* up = nullptr;
    CLI::App* down = nullptr;
    CLI::App* history = nullptr;
    CLI::App* snapshot = nullptr;
    std::string name;
    int count = 1;
};

void AddMigrateCommand(CLI::App& cli, MigrateCommand& m) {
    m.cmd = cli.add_subcommand("migrate", "Schema migrations (files in --migrations-dir)");
    m.cmd->require_subcommand(1);
    m.create = m.cmd->add_subcommand("create", "Write an empty migration file");
    m.create->add_option("name", m.name, "Its name ([A-Za-z0-9_])")->required();
    m.up = m.cmd->add_subcommand("up", "Apply every pending migration, in file-name order");
    m.down = m.cmd->add_subcommand("down", "Revert the last N applied migrations");
    m.down->add_option("n", m.count, "How many")->check(CLI::Range(1, 1000000))->capture_default_str();
    m.history = m.cmd->add_subcommand("history", "List applied and pending migrations");
    m.snapshot = m.cmd->add_subcommand("collections", "Write a snapshot of every collection as a migration");
}

int RunMigrate(const AppConfig& config, const MigrateCommand& m) {
    basalt::obs::SetMinLevel(basalt::obs::Level::kWarn);
    auto dir = basalt::app::DataDir::Open(config);
    if (!dir) {
        return PrintError(dir.error().message);
    }
    auto migrator = (*dir)->Migrations(config);
    auto print_files = [](const char* verb, const auto& files) {
        for (const auto& f : files) {
            std::printf("%s %s\n", verb, f.c_str());
        }
    };
    if (m.create->parsed() || m.snapshot->parsed()) {
        auto path = m.create->parsed() ? migrator->Create(m.name) : migrator->Snapshot();
        if (!path) {
            return PrintError(path.error().message);
        }
        std::printf("Created %s\n", path->string().c_str());
    } else if (m.up->parsed() || m.down->parsed()) {
        std::vector<std::string> files;
        auto r = m.up->parsed() ? migrator->Up(files) : migrator->Down(m.count, files);
        print_files(m.up->parsed() ? "Applied" : "Reverted", files);
        if (!r) {
            return PrintError(r.error().message);
        }
        if (files.empty()) {
            std::printf("%s\n", m.up->parsed() ? "No migrations to apply." : "No migrations to revert.");
        }
    } else {
        auto history = migrator->History();
        if (!history) {
            return PrintError(history.error().message);
        }
        for (const auto& e : *history) {
            std::printf(
                "%-8s %-24s %s%s\n",
                e.applied.empty() ? "pending" : "applied",
                e.applied.c_str(),
                e.file.c_str(),
                e.missing ? " (file missing)" : ""
            );
        }
    }
    basalt::obs::Flush();
    return 0;
}

}  // namespace

// Point-in-time replication: serve's --replicate flags, and the bucket settings `serve` and
// `restore --from s3://...` share (docs/backups.md, "Point-in-time recovery").
void AddReplicaOptions(CLI::App& cli, CLI::App& serve_cmd, AppConfig& config) {
    auto* serve = &serve_cmd;
    serve
        ->add_option(
            "--replicate",
            config.replica.dest,
            "Ship every commit to this directory or s3://BUCKET/PREFIX (point-in-time recovery)"
        )
        ->envname("BASALT_REPLICATE");
    cli.add_option("--replicate-s3-endpoint", config.replica.s3_endpoint, "The S3 endpoint of an s3:// replica")
        ->envname("BASALT_REPLICA_S3_ENDPOINT");
    cli.add_option("--replicate-s3-region", config.replica.s3_region, "The S3 region of an s3:// replica")
        ->envname("BASALT_REPLICA_S3_REGION")
        ->capture_default_str();
    cli.add_flag(
           "--replicate-s3-path-style",
           config.replica.s3_path_style,
           "Address an s3:// replica's bucket as ENDPOINT/BUCKET (MinIO, s3rver) rather than BUCKET.ENDPOINT"
    )
        ->envname("BASALT_REPLICA_S3_PATH_STYLE");
    serve
        ->add_option_function<long long>(
            "--replicate-retention-hours",
            [&config](long long h) { config.replica.retention = std::chrono::hours(h); },
            "Hours back a replica restore can reach (older generations are removed; default 72)"
        )
        ->envname("BASALT_REPLICATE_RETENTION_HOURS")
        ->check(CLI::Range(1LL, 24LL * 3650));
    serve
        ->add_option_function<long long>(
            "--replicate-snapshot-hours",
            [&config](long long h) { config.replica.snapshot_every = std::chrono::hours(h); },
            "Hours between the replica's snapshots (a restore replays at most this much; default 24)"
        )
        ->envname("BASALT_REPLICATE_SNAPSHOT_HOURS")
        ->check(CLI::Range(1LL, 24LL * 365));
}

// Secrets are read from the environment only: a flag would show them to every user in `ps`.
void ReadSecretsFromEnvironment(AppConfig& config) {
    for (const auto& [name, target] :
         {std::pair{"BASALT_BACKUP_KEY", &config.backup_key},
          std::pair{"BASALT_REPLICA_S3_ACCESS_KEY", &config.replica.s3_access_key},
          std::pair{"BASALT_REPLICA_S3_SECRET", &config.replica.s3_secret}}) {
        if (const char* v = std::getenv(name); v != nullptr) {  // NOLINT(concurrency-mt-unsafe): one thread yet
            *target = v;
        }
    }
}

int main(int argc, char** argv) {
    TuneAllocator();
    CLI::App cli{"basalt: the backend in one binary (a PocketBase-compatible Web API on SQLite)", "basalt"};
    cli.set_version_flag("-v,--version", std::string("basalt ") + kVersion);
    cli.require_subcommand(1);
    cli.fallthrough();

    AppConfig config;
    cli.add_option("--dir", config.data_dir, "Where basalt keeps its data")
        ->envname("BASALT_DIR")
        ->capture_default_str();

    auto* serve = cli.add_subcommand("serve", "Start the web server");
    std::string listen = "127.0.0.1:8090";
    AddHttpOptions(*serve, config, listen);
    AddOperationsOptions(*serve, config);
    AddRuntimeOptions(*serve, config);
    OfflineCommands offline;
    AddOfflineCommands(cli, offline);
    cli.add_option(
           "--backup-key-file",
           config.backup_key_file,
           "A file holding the key backups are encrypted with (or the key itself in BASALT_BACKUP_KEY): 32 bytes as "
           "64 hex digits or base64; not readable by others (serve, backup create|restore|verify)"
    )
        ->envname("BASALT_BACKUP_KEY_FILE");
    cli.add_option("--migrations-dir", config.migrations_dir, "Migration files (default: migrations beside --dir)")
        ->envname("BASALT_MIGRATIONS_DIR");
    serve
        ->add_flag(
            "--automigrate", config.automigrate, "Write a migration file for every schema change (on with --dev)"
        )
        ->envname("BASALT_AUTOMIGRATE");
    MigrateCommand migrate;
    AddMigrateCommand(cli, migrate);
    basalt::cli::ReplicaRestoreCommand replica_restore;
    basalt::cli::AddReplicaRestoreCommand(cli, replica_restore);
    AddReplicaOptions(cli, *serve, config);

    CLI11_PARSE(cli, argc, argv);
    ReadSecretsFromEnvironment(config);

    if (serve->parsed()) {
        return Serve(config, listen);
    }
    if (migrate.cmd->parsed()) {
        return RunMigrate(config, migrate);
    }
    if (replica_restore.cmd->parsed()) {
        return basalt::cli::RunReplicaRestore(config, replica_restore);
    }
    return RunOffline(config, offline);
}
