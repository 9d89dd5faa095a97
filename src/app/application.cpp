// SPDX-License-Identifier: MIT
#include "app/application.hpp"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <limits>
#include <mutex>
#include <optional>
#include <system_error>
#include <thread>
#include <utility>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include "api/admin_handlers.hpp"
#include "api/blocking.hpp"
#include "api/metrics_handlers.hpp"
#include "api/routes.hpp"
#include "app/restore.hpp"
#include "app/system_migrations.hpp"
#include "backups/backup_store.hpp"
#include "backups/names.hpp"
#include "backups/replica.hpp"
#include "backups/restore.hpp"
#include "collections/store.hpp"
#include "db/sqlite/sqlite_database.hpp"
#include "events/events.hpp"
#include "http/middlewares.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "identity/api_keys.hpp"
#include "identity/auth_lifecycle.hpp"
#include "identity/auth_records.hpp"
#include "identity/external_auths.hpp"
#include "identity/mfas.hpp"
#include "identity/otps.hpp"
#include "identity/sessions.hpp"
#include "identity/superusers.hpp"
#include "identity/throttle.hpp"
#include "identity/tokens.hpp"
#include "jobs/cron.hpp"
#include "jobs/queue.hpp"
#include "logs/log_store.hpp"
#include "mail/mail.hpp"
#include "migrations/migrator.hpp"
#include "obs/log.hpp"
#include "obs/metrics.hpp"
#include "realtime/hub.hpp"
#include "records/file_sweep.hpp"
#include "records/service.hpp"
#include "settings/settings_store.hpp"
#include "storage/storage.hpp"
#include "thumbs/thumbnailer.hpp"
#include "webhooks/webhooks.hpp"

namespace basalt::app {

namespace {

// The store file fields use: settings.s3's bucket when it is enabled (and complete), else `local`.
std::shared_ptr<storage::Storage> FileStorageFor(
    const settings::S3Settings& s3, const std::shared_ptr<storage::Storage>& local
) {
    if (!s3.enabled) {
        return local;
    }
    auto bucket = storage::OpenS3(s3.Config());
    if (!bucket) {
        obs::Warn(
            "file storage: settings.s3 is unusable; files stay on the local disk", {{"error", bucket.error().message}}
        );
        return local;
    }
    obs::Info("file storage: S3", {{"bucket", s3.bucket}, {"endpoint", s3.endpoint}});
    return std::shared_ptr<storage::Storage>(std::move(*bucket));
}

}  // namespace

struct DataDir::Impl {
    std::filesystem::path path;
    SystemClock clock;
    std::unique_ptr<db::Database> db;
    std::unique_ptr<identity::SuperuserStore> superusers;

    ~Impl() {
        superusers.reset();
        if (db) {
            db->Close();
        }
    }
};

DataDir::DataDir(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
DataDir::~DataDir() = default;
const std::filesystem::path& DataDir::Path() const {
    return impl_->path;
}
identity::SuperuserStore& DataDir::Superusers() {
    return *impl_->superusers;
}
db::Database& DataDir::Database() {
    return *impl_->db;
}

std::filesystem::path MigrationsPath(const config::AppConfig& config) {
    if (!config.migrations_dir.empty()) {
        return config.migrations_dir;
    }
    std::error_code ec;
    auto data = std::filesystem::absolute(config.data_dir, ec);
    if (ec) {
        data = config.data_dir;
    }
    // "basalt_data/" names the same directory as "basalt_data": its parent is where the folder goes.
    if (!data.has_filename()) {
        data = data.parent_path();
    }
    return data.parent_path() / "migrations";
}

std::unique_ptr<migrations::Migrator> DataDir::Migrations(const config::AppConfig& config) {
    return std::make_unique<migrations::Migrator>(*impl_->db, impl_->clock, MigrationsPath(config));
}

Result<records::SweepCounts> DataDir::SweepFiles(const records::SweepOptions& options) {
    collections::CollectionStore collections(*impl_->db, impl_->clock);
    BASALT_TRY(collections.Load());
    settings::SettingsStore settings(*impl_->db);
    BASALT_TRY(settings.Load());
    BASALT_ASSIGN_OR_RETURN(auto local, storage::OpenLocal(impl_->path / "storage"));
    // The store files go to now (settings.s3), as the server's sweeper does.
    const auto store = FileStorageFor(settings.FileStorage(), std::shared_ptr<storage::Storage>(std::move(local)));
    return records::SweepOrphanedFiles(*impl_->db, *collections.Current(), *store, impl_->clock.Now(), options);
}

storage::S3Config ReplicaBucket(const config::ReplicaConfig& replica) {
    storage::S3Config s3;
    s3.endpoint = replica.s3_endpoint;
    s3.region = replica.s3_region;
    s3.access_key = replica.s3_access_key;
    s3.secret = replica.s3_secret;
    s3.force_path_style = replica.s3_path_style;
    return s3;
}

Result<std::shared_ptr<storage::Storage>> DataDir::BackupBucket() {
    settings::SettingsStore settings(*impl_->db);
    BASALT_TRY(settings.Load());
    const settings::S3Settings s3 = settings.BackupStorage();
    if (!s3.enabled) {
        return std::shared_ptr<storage::Storage>();
    }
    BASALT_ASSIGN_OR_RETURN(auto bucket, storage::OpenS3(s3.Config()));
    return std::shared_ptr<storage::Storage>(std::move(bucket));
}

namespace {

// data.db opened, the system migrations applied.
Result<void> OpenDatabase(DataDir::Impl& impl, const config::AppConfig& config, const db::WalTap& wal_tap) {
    db::SqliteOptions opts;
    opts.wal_tap = wal_tap;
    opts.path = (impl.path / "data.db").string();
    opts.busy_timeout = config.db.busy_timeout;
    opts.max_readers = config.db.max_readers;
    BASALT_ASSIGN_OR_RETURN(impl.db, db::OpenSqlite(opts));
    BASALT_ASSIGN_OR_RETURN(auto applied, db::ApplyMigrations(*impl.db, SystemMigrations()));
    if (applied > 0) {
        obs::Info("applied system migrations", {{"count", applied}});
    }
    return Ok();
}

}  // namespace

Result<void> DataDir::LoadCollections() {
    collections::CollectionStore collections(*impl_->db, impl_->clock);
    return collections.Load();
}

Result<std::unique_ptr<DataDir>> DataDir::Open(const config::AppConfig& config, const db::WalTap& wal_tap) {
    auto impl = std::make_unique<Impl>();
    std::error_code ec;
    std::filesystem::create_directories(config.data_dir, ec);
    if (ec) {
        return MakeError(
            ErrorCode::kUnavailable, "cannot create data directory " + config.data_dir + ": " + ec.message()
        );
    }
    impl->path = std::filesystem::absolute(config.data_dir, ec);
    if (ec) {
        impl->path = config.data_dir;
    }
    if (::access(impl->path.c_str(), W_OK) != 0) {
        return MakeError(ErrorCode::kUnavailable, "data directory " + impl->path.string() + " is not writable");
    }
    // A restore swapped in data before a restart: it is kept if it opens, else the old data comes back.
    const backups::RestoreState restore = backups::RecoverRestore(impl->path);
    Result<void> opened = OpenDatabase(*impl, config, wal_tap);
    if (restore == backups::RestoreState::kSwapped) {
        if (opened) {
            backups::FinishRestore(impl->path);
        } else {
            obs::Error(
                "restore: the restored data does not open; the old data comes back", {{"error", opened.error().message}}
            );
            impl->db.reset();
            if (auto back = backups::RollBackRestore(impl->path); !back) {
                return back.error();
            }
            if (wal_tap) {
                db::WalFrames gap;  // what the restored data committed is not the old data's
                gap.gap = true;
                wal_tap(std::move(gap));
            }
            opened = OpenDatabase(*impl, config, wal_tap);
        }
    }
    BASALT_TRY(opened);
    impl->superusers = std::make_unique<identity::SuperuserStore>(*impl->db, impl->clock);
    return std::unique_ptr<DataDir>(new DataDir(std::move(impl)));
}

struct Application::Impl {
    config::AppConfig config;
    std::vector<int> lock_fds;
    // First, so it goes last: collectors point at the parts below, and nothing renders once the
    // listeners are stopped.
    obs::Registry metrics;
    // --replicate: before the database, which hands it every commit (and after it, in ~Impl).
    std::unique_ptr<backups::Replicator> replica;
    std::unique_ptr<DataDir> data;
    std::unique_ptr<migrations::Migrator> migrator;  // before the store: its hook uses it
    std::unique_ptr<collections::CollectionStore> collections;
    std::unique_ptr<identity::AuthRecords> auth_records;
    std::unique_ptr<identity::SessionStore> sessions;
    std::unique_ptr<identity::TokenService> tokens;
    std::unique_ptr<identity::Throttle> throttle;
    std::unique_ptr<identity::ApiKeyStore> api_keys;
    std::unique_ptr<events::Dispatcher> events;
    std::unique_ptr<records::RecordService> records;
    std::unique_ptr<identity::AuthLifecycle> auth_lifecycle;
    std::unique_ptr<realtime::Hub> realtime;
    std::unique_ptr<jobs::Queue> queue;
    std::unique_ptr<jobs::Scheduler> scheduler;
    std::unique_ptr<jobs::Worker> worker;
    std::unique_ptr<webhooks::Service> webhooks;
    // The files of file fields: <data dir>/storage, or settings.s3's bucket when it is enabled
    // (switched when the settings change; see ApplyFileStorage).
    std::unique_ptr<storage::Switchable> storage;
    std::shared_ptr<storage::Storage> local_storage;
    std::mutex storage_mu;
    settings::S3Settings storage_settings;  // what `storage` was last set from
    std::unique_ptr<records::FileSweeper> file_sweeper;
    std::unique_ptr<identity::OtpStore> otps;
    std::unique_ptr<identity::MfaStore> mfas;
    std::unique_ptr<identity::TotpStore> totps;
    std::unique_ptr<identity::ExternalAuthStore> external_auths;
    std::unique_ptr<identity::AccountMail> account_mail;
    std::unique_ptr<identity::SignInService> sign_in;
    std::unique_ptr<identity::OAuth2Accounts> oauth2_accounts;
    std::string install_token;
    std::mutex stop_mu;
    std::condition_variable stop_cv;
    bool stop_requested = false;
    std::unique_ptr<settings::SettingsStore> settings;
    std::unique_ptr<logs::LogStore> logs;  // auxiliary.db: request and app logs
    // A restore checked and waiting for the server to stop (Application::TakeRestore), and the
    // backups lock held until then, so no backup starts meanwhile.
    std::mutex restore_mu;
    std::optional<backups::StagedRestore> pending_restore;  // guarded by restore_mu
    std::optional<backups::Operation> restore_op;           // guarded by restore_mu
    Result<void> RestoreBackup(const std::string& key);
    std::unique_ptr<backups::BackupStore> backup_store;  // <data dir>/backups (before the router that uses it)
    std::unique_ptr<api::BlockingPool> blocking;
    std::unique_ptr<api::BlockingPool> queries;
    std::unique_ptr<api::BlockingPool> io;
    std::unique_ptr<thumbs::Thumbnailer> thumbs;
    std::shared_ptr<http::Router> router;
    std::unique_ptr<http::Server> server;
    // --metrics-http: a listener of its own that serves only the metrics, on its own thread.
    std::unique_ptr<http::Server> metrics_server;
    std::string metrics_host;  // as it goes in a URL (IPv6 in brackets)
    std::thread metrics_thread;

    // Points `storage` at the store settings.s3 asks for, when that changed. New uploads and reads go
    // there; transfers in flight finish with the store they started on (as PocketBase, files stored
    // before a switch stay where they are).
    void ApplyFileStorage(bool first) {
        const settings::S3Settings wanted = settings->FileStorage();
        std::lock_guard lock(storage_mu);
        if (!first && wanted == storage_settings) {
            return;
        }
        storage_settings = wanted;
        storage->Set(FileStorageFor(wanted, local_storage));
        if (!first && !wanted.enabled) {
            obs::Info("file storage: the local disk");
        }
    }

    // The log store beside the data (PocketBase's auxiliary.db), fed by the request log and by
    // every message of the process log.
    Result<void> OpenLogs(DataDir::Impl& d) {
        BASALT_ASSIGN_OR_RETURN(logs, logs::LogStore::Open(d.path / "auxiliary.db", d.clock));
        logs->Apply(settings->Logs());
        obs::SetForwarder([store = logs.get()](obs::Level level, std::string_view msg, std::string_view fields) {
            static constexpr std::int64_t kLevels[] = {logs::kDebug, logs::kInfo, logs::kWarn, logs::kError};
            store->Add(kLevels[static_cast<int>(level)], std::string(msg), std::string(fields));
        });
        return Ok();
    }

    // settings.logs changed: keep what they say from now on and drop what they no longer keep, as
    // PocketBase does when its settings reload.
    void ApplyLogSettings() {
        logs->Apply(settings->Logs());
        logs->Flush();  // entries queued under the old settings go first, then what they no longer keep
        if (auto n = logs->DeleteExpired(/*below_min_level=*/true); !n) {
            obs::Warn("logs: old entries could not be deleted", {{"error", n.error().message}});
        }
    }

    // settings.backups.s3: backups kept in the bucket from now on, or in the folder again (those made
    // before a switch stay where they are, as PocketBase's).
    void ApplyBackupStorage() {
        if (!backup_store) {
            return;
        }
        std::lock_guard lock(backup_settings_mu);  // settings may be saved by two requests at once
        const settings::S3Settings wanted = settings->BackupStorage();
        if (backup_storage_settings && wanted == *backup_storage_settings) {
            return;
        }
        backup_storage_settings = wanted;
        if (!wanted.enabled) {
            backup_store->SetRemote(nullptr);
            return;
        }
        auto bucket = storage::OpenS3(wanted.Config());
        if (!bucket) {
            // Not reachable through the API (an enabled backups.s3 is validated complete); a
            // hand-edited database falls back to the folder, said at error level.
            obs::Error("backups: settings.backups.s3 is unusable", {{"error", bucket.error().message}});
            backup_store->SetRemote(nullptr);
            return;
        }
        obs::Info("backups: kept in S3", {{"bucket", wanted.bucket}, {"endpoint", wanted.endpoint}});
        backup_store->SetRemote(std::shared_ptr<storage::Storage>(std::move(*bucket)));
    }
    std::mutex backup_settings_mu;
    std::optional<settings::S3Settings> backup_storage_settings;  // what ApplyBackupStorage last applied

    // settings.backups.cron: PocketBase's "__pbAutoBackup__" cron, set, changed or removed as the
    // settings say (at start and after every change; only a process that runs jobs fires it).
    void ScheduleBackups() {
        if (!scheduler || !backup_store) {
            return;  // before StartEventsAndJobs: it schedules once both exist
        }
        std::lock_guard lock(backup_settings_mu);
        const settings::BackupSchedule plan = settings->Backups();
        if (plan == scheduled_backups) {
            return;
        }
        scheduled_backups = plan;
        if (plan.cron.empty()) {
            scheduler->Remove(std::string(kAutoBackupCron));
            return;
        }
        if (auto r = scheduler->Set(std::string(kAutoBackupCron), plan.cron, [this] { return RunScheduledBackup(); });
            !r) {
            obs::Warn("backups: the schedule could not be set", {{"cron", plan.cron}, {"error", r.error().message}});
        }
    }
    // One scheduled backup (on a job worker): made under the one backup operation, then the
    // schedule's backups beyond cronMaxKeep removed, oldest first. A failure is logged and the job
    // retried by the queue; pruning runs even after a failure, as PocketBase's does.
    Result<void> RunScheduledBackup();
    static constexpr std::string_view kAutoBackupCron = "__pbAutoBackup__";
    settings::BackupSchedule scheduled_backups;  // what ScheduleBackups last applied (backup_settings_mu)

    // One process per role and data directory: an api process and a worker process may share one
    // (SQLite allows several processes); a second of the same role would fight over the same work.
    Result<void> LockRoles(bool serves_http, bool runs_jobs);
    // The stores and services every role uses: collections, files, identity, records, realtime,
    // settings.
    Result<void> OpenServices(DataDir::Impl& d);
    // The job queue, crons, webhooks and the event dispatcher. The worker knows every job kind; the
    // background parts start only in roles that run jobs.
    Result<void> StartEventsAndJobs(DataDir::Impl& d, bool runs_jobs);
    // The request pools, thumbnails and the sign-in services the API handlers use.
    void OpenRequestServices(DataDir::Impl& d, bool runs_jobs);
    // The API's routes, the access log and the admin dashboard.
    Result<void> RegisterAllRoutes(DataDir::Impl& d, bool serves_http);
    // Wakes the job workers after an enqueue (empty in roles that do not run jobs).
    std::function<void()> notify_workers;
    // The families of every part for /api/metrics (the API adds its own while registering routes).
    void AddCollectors(DataDir::Impl& d, bool runs_jobs);
    // --metrics-http: binds the metrics listener and starts serving it.
    Result<void> StartMetricsListener();

    void StopMetricsListener() {
        if (metrics_server) {
            metrics_server->Stop();
            if (metrics_thread.joinable()) {
                metrics_thread.join();
            }
            metrics_server.reset();
        }
    }

    ~Impl() {
        StopMetricsListener();
        if (thumbs) {
            // First: generations under way finish and resume their requests on live I/O threads;
            // requests after this get the original.
            thumbs->Stop();
        }
        server.reset();
        if (file_sweeper) {
            file_sweeper->Stop();  // a sweep in progress ends after its batch
        }
        if (scheduler) {
            scheduler->Stop();
        }
        if (webhooks) {
            webhooks->Stop();
        }
        if (worker) {
            worker->Stop();  // running jobs finish; queued ones stay for the next start
        }
        if (blocking) {
            blocking->Stop();
        }
        if (queries) {
            queries->Stop();
        }
        if (io) {
            io->Stop();
        }
        if (events) {
            events->Stop();
        }
        if (realtime) {
            realtime->Stop();
        }
        obs::SetForwarder(nullptr);
        logs.reset();  // writes out what is queued
        data.reset();
        if (replica) {
            replica->Stop();  // after the database: every commit is shipped
        }
        for (int fd : lock_fds) {
            ::close(fd);
        }
    }
};

Application::Application(config::AppConfig config) : impl_(std::make_unique<Impl>()) {
    impl_->config = std::move(config);
}
Application::~Application() = default;

namespace {

// SIGINT/SIGTERM in a worker process (no HTTP server to catch them): a flag the main thread polls.
std::atomic<bool> g_stop_signal{false};
extern "C" void OnStopSignal(int /*signo*/) {
    g_stop_signal.store(true);
}

// Each connection is a file descriptor: lift the soft limit to the hard one (as Go does at start),
// and say so when even that cannot hold max_connections.
void RaiseOpenFileLimit(std::size_t max_connections) {
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) != 0) {
        return;
    }
    if (lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        (void)::setrlimit(RLIMIT_NOFILE, &lim);
    }
    const rlim_t needed = static_cast<rlim_t>(max_connections) + 64;
    if (lim.rlim_cur != RLIM_INFINITY && lim.rlim_cur < needed) {
        obs::Warn(
            "open file limit is below max connections; raise it with ulimit -n",
            {{"limit", static_cast<std::uint64_t>(lim.rlim_cur)},
             {"max_connections", static_cast<std::uint64_t>(max_connections)}}
        );
    }
}

// The built-in crons: retention of finished jobs, old events, webhook deliveries and logs.
Result<void> RegisterCrons(
    jobs::Scheduler& scheduler,
    jobs::Queue& jobs,
    webhooks::Service& webhooks,
    logs::LogStore& logs,
    db::Database& db,
    const Clock& time,
    const config::EventsConfig& events_config
) {
    auto* queue = &jobs;
    auto* hooks = &webhooks;
    const Clock* clock = &time;
    if (auto r = scheduler.Add(
            "__basaltJobsCleanup__",
            "10 3 * * *",
            [queue] {
                auto n = queue->PruneDone(std::chrono::hours(24 * 7));
                return n ? Ok() : Result<void>(n.error());
            }
        );
        !r) {
        return r;
    }
    // The outbox: every minute, what the webhook relay has passed and is older than the retention or
    // beyond the row bound (the relay skips to the newest event when no webhook is enabled). Every
    // minute, not every 10: under sustained writes a 10-minute backlog took seconds of the writer.
    if (auto r = scheduler.Add(
            "__basaltEventsCleanup__",
            "* * * * *",
            [&db, hooks, clock, retention = events_config.retention, max_rows = events_config.max_rows] {
                auto cursor = hooks->Cursor();
                if (!cursor) {
                    return Result<void>(cursor.error());
                }
                // At most 20 s of pruning per run (a third of the writer at most, while it runs), so
                // a run ends before the next and a shutdown waits for it briefly.
                auto n = events::Prune(
                    db, FormatDateTime(clock->Now() - retention), *cursor, max_rows, std::chrono::seconds(20)
                );
                return n ? Ok() : Result<void>(n.error());
            }
        );
        !r) {
        return r;
    }
    BASALT_TRY(scheduler.Add("__basaltWebhookDeliveriesCleanup__", "30 3 * * *", [hooks] {
        auto n = hooks->PruneDeliveries(std::chrono::hours(24 * 30));
        return n ? Ok() : Result<void>(n.error());
    }));
    // PocketBase's name and schedule: entries older than settings.logs.maxDays.
    return scheduler.Add("__pbLogsCleanup__", "0 */6 * * *", [store = &logs] {
        auto n = store->DeleteExpired(/*below_min_level=*/false);
        return n ? Ok() : Result<void>(n.error());
    });
}

}  // namespace

Result<void> Application::Impl::LockRoles(bool serves_http, bool runs_jobs) {
    for (const auto& [role, taken] : {std::pair{"api", serves_http}, std::pair{"worker", runs_jobs}}) {
        if (!taken) {
            continue;
        }
        const auto lock_path = data->Path() / (std::string(".lock-") + role);
        const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd >= 0) {
            lock_fds.push_back(fd);
        }
        if (fd < 0 || ::flock(fd, LOCK_EX | LOCK_NB) != 0) {
            return MakeError(
                ErrorCode::kUnavailable,
                std::string("another basalt ") + role + " process is already using " + data->Path().string()
            );
        }
    }
    return Ok();
}

Result<void> Application::Impl::OpenServices(DataDir::Impl& d) {
    // The migration files first: the store then loads the schema they leave.
    migrator = std::make_unique<migrations::Migrator>(*d.db, d.clock, MigrationsPath(config));
    std::vector<std::string> applied;
    auto migrated = migrator->Up(applied);
    for (const auto& file : applied) {
        obs::Info("applied migration", {{"file", file}});
    }
    if (!migrated) {
        return MakeError(migrated.error().code, "migration failed: " + migrated.error().message);
    }
    collections = std::make_unique<collections::CollectionStore>(*d.db, d.clock);
    BASALT_TRY(collections->Load());
    if (config.dev || config.automigrate) {
        collections->SetChangeHook(migrator->AutomigrateHook());
        obs::Info("automigrate on", {{"dir", migrator->Dir().string()}});
    }
    BASALT_ASSIGN_OR_RETURN(auto files, storage::OpenLocal(d.path / "storage"));
    local_storage = std::shared_ptr<storage::Storage>(std::move(files));
    storage = std::make_unique<storage::Switchable>(local_storage);
    auth_records = std::make_unique<identity::AuthRecords>(*d.db);
    sessions = std::make_unique<identity::SessionStore>(*d.db, d.clock);
    tokens = std::make_unique<identity::TokenService>(*collections, *auth_records, *sessions, d.clock);
    throttle = std::make_unique<identity::Throttle>();
    api_keys = std::make_unique<identity::ApiKeyStore>(*d.db, *collections, *auth_records, d.clock);
    records = std::make_unique<records::RecordService>(*d.db, *collections, d.clock);
    auth_lifecycle = std::make_unique<identity::AuthLifecycle>(*sessions, *tokens, *api_keys);
    records->SetAuthHooks(auth_lifecycle.get());
    records->SetStorage(storage.get());
    realtime::Hub::Limits rt;
    rt.stream.heartbeat = config.realtime.heartbeat;
    rt.stream.idle = config.realtime.idle;
    rt.stream.max_duration = config.realtime.max_duration;
    rt.stream.max_queued_bytes = config.realtime.max_queued_bytes;
    rt.fanout_threads = config.realtime.fanout_threads != 0 ? config.realtime.fanout_threads
                                                            : std::clamp(std::thread::hardware_concurrency(), 1U, 4U);
    realtime = std::make_unique<realtime::Hub>(*collections, *records, rt);
    settings = std::make_unique<settings::SettingsStore>(*d.db);
    BASALT_TRY(settings->Load());
    ApplyFileStorage(/*first=*/true);
    BASALT_TRY(OpenLogs(d));
    settings->SetOnChange([impl = this] {
        impl->ApplyFileStorage(/*first=*/false);
        impl->ApplyLogSettings();
        impl->ApplyBackupStorage();
        impl->ScheduleBackups();
    });
    return Ok();
}

Result<void> Application::Impl::StartEventsAndJobs(DataDir::Impl& d, bool runs_jobs) {
    queue = std::make_unique<jobs::Queue>(*d.db, d.clock);
    scheduler = std::make_unique<jobs::Scheduler>(*d.db, *queue, d.clock);
    webhooks = std::make_unique<webhooks::Service>(*d.db, *queue, *settings, d.clock);
    BASALT_TRY(RegisterCrons(*scheduler, *queue, *webhooks, *logs, *d.db, d.clock, config.events));
    backup_store = std::make_unique<backups::BackupStore>(d.path);
    // Every archive made (the API, the CLI, the schedule) is encrypted when a key is configured.
    BASALT_ASSIGN_OR_RETURN(auto backup_key, backups::LoadBackupKey(config.backup_key, config.backup_key_file));
    backup_store->SetEncryptionKey(std::move(backup_key));
    ApplyBackupStorage();
    ScheduleBackups();
    events = std::make_unique<events::Dispatcher>(*d.db);
    // What follows every commit, whoever wrote: cached list totals are stale, consumers have events.
    d.db->SetCommitObserver([collections = collections.get(), events = events.get()] {
        collections->BumpDataVersion();
        events->Notify();
    });
    events->Subscribe(
        [hub = realtime.get()](const events::Event& e) { hub->Publish(e); },
        [hub = realtime.get()] { return hub->HasSubscriptions(); }
    );
    if (runs_jobs) {
        events->Subscribe([hooks = webhooks.get()](const events::Event&) { hooks->Notify(); });
    }
    BASALT_TRY(events->Start());
    // The worker knows every job kind (the API accepts only those); only roles that run jobs start it.
    jobs::Worker::Options wo;
    wo.threads = config.jobs.workers;
    wo.lease = config.jobs.lease;
    wo.poll = config.jobs.poll;
    worker = std::make_unique<jobs::Worker>(*queue, wo);
    worker->Handle("webhook.deliver", [hooks = webhooks.get()](const jobs::Job& j) { return hooks->Deliver(j); });
    worker->Handle("cron.run", [crons = scheduler.get()](const jobs::Job& j) { return crons->RunJob(j); });
    // Mail: the SMTP settings of the moment it is sent; the payload (links with tokens) is emptied
    // once sent.
    worker->Handle(
        "mail.send",
        [settings = settings.get()](const jobs::Job& j) -> Result<void> {
            BASALT_ASSIGN_OR_RETURN(auto message, mail::MessageFromJson(j.payload));
            return mail::SendWithSettings(settings->Mail(), message);
        },
        /*redact=*/true
    );
    if (runs_jobs) {
        worker->Start();
        BASALT_TRY(webhooks->Start([w = worker.get()] { w->Notify(); }));
        BASALT_TRY(scheduler->Start());
        // Files orphaned by a crash between a commit and the deletes after it (0 hours: off).
        file_sweeper =
            std::make_unique<records::FileSweeper>(*d.db, *collections, *storage, d.clock, config.files.sweep_interval);
        file_sweeper->Start();
    }
    return Ok();
}

void Application::Impl::OpenRequestServices(DataDir::Impl& d, bool runs_jobs) {
    blocking = std::make_unique<api::BlockingPool>(config.auth.hash_threads, config.auth.max_hash_queue);
    queries = std::make_unique<api::BlockingPool>(config.db.query_threads, config.db.max_query_queue);
    io = std::make_unique<api::BlockingPool>(config.outbound.threads, config.outbound.max_queue);
    thumbs = std::make_unique<thumbs::Thumbnailer>(*storage, thumbs::ThumbnailerOptions{});
    router = std::make_shared<http::Router>();
    otps = std::make_unique<identity::OtpStore>(*d.db, d.clock);
    mfas = std::make_unique<identity::MfaStore>(*d.db, d.clock);
    totps = std::make_unique<identity::TotpStore>(*d.db, d.clock);
    external_auths = std::make_unique<identity::ExternalAuthStore>(*d.db, d.clock);
    if (runs_jobs) {
        notify_workers = [w = worker.get()] {
            w->Notify();
        };
    }
    account_mail = std::make_unique<identity::AccountMail>(
        *d.db, *records, *auth_records, *settings, *queue, d.clock, notify_workers
    );
    sign_in = std::make_unique<identity::SignInService>(
        *d.db, *records, *auth_records, *sessions, *tokens, *mfas, *totps, *otps, *account_mail
    );
    oauth2_accounts = std::make_unique<identity::OAuth2Accounts>(*d.db, *records, *auth_records, *external_auths);
}

Result<void> Application::Impl::RegisterAllRoutes(DataDir::Impl& d, bool serves_http) {
    api::Deps deps{
        *d.db,
        *d.superusers,
        *blocking,
        *queries,
        *io,
        d.clock,
        *collections,
        *records,
        *settings,
        *auth_records,
        *sessions,
        *tokens,
        *throttle,
        *api_keys,
        *sign_in,
        *account_mail,
        *oauth2_accounts,
        *totps,
        *events,
        *realtime,
        *queue,
        *scheduler,
        *webhooks,
        *storage,
        *thumbs,
        *logs,
        metrics,
        notify_workers,
        [w = worker.get()](const std::string& kind) { return w->Knows(kind); },
        config.guest_cache_mb * 1024 * 1024,
        backup_store.get(),
        {}};
    if (serves_http) {
        deps.restore_backup = [this](const std::string& key) {
            return RestoreBackup(key);
        };
    }
    std::shared_ptr<http::Middleware> access_log;
    if (config.http.access_log == "stdout") {
        access_log = std::make_shared<http::AccessLogMiddleware>();
    } else if (config.http.access_log != "off") {
        const int fd = ::open(config.http.access_log.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
        if (fd < 0) {
            return MakeError(
                ErrorCode::kUnavailable,
                "cannot open the access log " + config.http.access_log + ": " +
                    std::error_code(errno, std::generic_category()).message()
            );
        }
        access_log = std::make_shared<http::AccessLogMiddleware>(std::make_shared<obs::LineWriter>(fd, true));
    }
    api::RegisterRoutes(*router, deps, config.http.cors_origins, std::move(access_log));
    const std::filesystem::path admin_dir =
        config.admin_dir.empty() ? api::AdminAssets::Find() : std::filesystem::path(config.admin_dir);
    auto assets = api::AdminAssets::Load(admin_dir);
    if (assets->Empty()) {
        obs::Warn("admin dashboard not found; /_/ explains how to build it", {{"dir", admin_dir.string()}});
    }
    auto gate = std::make_shared<api::InstallGate>();
    if (auto count = d.superusers->Count(); count && *count == 0 && serves_http) {
        install_token = gate->Arm(std::chrono::steady_clock::now());
    }
    api::RegisterAdminRoutes(*router, deps, std::move(assets), std::move(gate));
    return Ok();
}

void Application::Impl::AddCollectors(DataDir::Impl& d, bool runs_jobs) {
    metrics.Add([](obs::Exposition& out) { obs::CollectProcessMetrics(out); });
    metrics.Add([this](obs::Exposition& out) {
        if (server) {
            server->CollectMetrics(out);
        }
    });
    metrics.Add([db = d.db.get()](obs::Exposition& out) { db->CollectMetrics(out); });
    if (replica) {
        metrics.Add([r = replica.get()](obs::Exposition& out) { r->CollectMetrics(out); });
    }
    metrics.Add([hub = realtime.get()](obs::Exposition& out) { hub->CollectMetrics(out); });
    metrics.Add([q = queue.get()](obs::Exposition& out) { q->CollectMetrics(out); });
    if (runs_jobs) {
        metrics.Add([w = worker.get(), hooks = webhooks.get()](obs::Exposition& out) {
            w->CollectMetrics(out);
            hooks->CollectMetrics(out);
        });
    }
    // How far behind the outbox's consumers are: this process's dispatcher (realtime) and the
    // webhook relay (one position for every process of the data directory).
    metrics.Add([db = d.db.get(), ev = events.get(), hooks = webhooks.get()](obs::Exposition& out) {
        const auto latest = events::LatestId(*db);
        if (!latest) {
            return;
        }
        out.Family(
            "basalt_outbox_lag_events",
            obs::MetricType::kGauge,
            "Committed changes an outbox consumer has not handled yet (realtime: this process; webhooks: the relay)."
        );
        out.Sample(
            "basalt_outbox_lag_events",
            {{"consumer", "realtime"}},
            static_cast<double>(std::max<std::int64_t>(0, *latest - ev->Position()))
        );
        if (const auto cursor = hooks->Cursor(); cursor && *cursor != std::numeric_limits<std::int64_t>::max()) {
            out.Sample(
                "basalt_outbox_lag_events",
                {{"consumer", "webhooks"}},
                static_cast<double>(std::max<std::int64_t>(0, *latest - *cursor))
            );
        }
        out.GaugeValue(
            "basalt_outbox_newest_id",
            "The id of the newest committed change in the outbox.",
            static_cast<double>(*latest)
        );
    });
    metrics.Add([store = logs.get()](obs::Exposition& out) {
        out.CounterValue(
            "basalt_logs_dropped_total",
            "Log entries dropped because the log store's queue was full.",
            static_cast<double>(store->Dropped())
        );
    });
}

Result<void> Application::Impl::RunScheduledBackup() {
    const std::string name = backups::AutoName(settings->Mail().app_name, data->impl_->clock.Now());
    Result<void> made = [&]() -> Result<void> {
        BASALT_ASSIGN_OR_RETURN(auto op, backup_store->Begin(name));
        return backup_store->Create(op);
    }();
    if (!made) {
        obs::Error("backups: the scheduled backup failed", {{"name", name}, {"error", made.error().message}});
    }
    const std::int64_t keep = settings->Backups().max_keep;
    if (keep > 0) {
        auto removed = backup_store->Prune(backups::kAutoPrefix, static_cast<std::size_t>(keep));
        if (!removed) {
            obs::Warn("backups: old scheduled backups could not be listed", {{"error", removed.error().message}});
        } else if (!removed->empty()) {
            obs::Info(
                "backups: old scheduled backups removed", {{"count", static_cast<std::int64_t>(removed->size())}}
            );
        }
    }
    return made;
}

Result<void> Application::Impl::RestoreBackup(const std::string& key) {
    {
        std::lock_guard lock(restore_mu);
        if (pending_restore) {
            return MakeError(ErrorCode::kConflict, "a restore is under way");
        }
    }
    if (!config::RunsJobs(config.role)) {
        // A worker process of its own would go on with the old data's files: it must be stopped.
        const int fd = ::open((data->Path() / ".lock-worker").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        const bool busy = fd >= 0 && ::flock(fd, LOCK_EX | LOCK_NB) != 0;
        if (fd >= 0) {
            ::close(fd);
        }
        if (busy) {
            return MakeError(
                ErrorCode::kInvalidArgument,
                "a worker process (--role worker) uses this data directory: stop it first, then restart it after the "
                "restore"
            );
        }
    }
    BASALT_ASSIGN_OR_RETURN(auto op, backup_store->Begin(key));
    // A backup in the bucket is downloaded beside the data first (.tmp is on the same disk).
    BASALT_ASSIGN_OR_RETURN(const auto zip, backup_store->Fetch(key, data->Path() / ".tmp"));
    auto prepared = PrepareRestore(config, zip);
    if (zip.parent_path() != backup_store->Dir()) {
        std::error_code ec;
        std::filesystem::remove(zip, ec);
    }
    BASALT_ASSIGN_OR_RETURN(auto staged, std::move(prepared));
    obs::Info(
        "restore: the backup is checked; the server restarts on it",
        {{"backup", key}, {"files", static_cast<std::int64_t>(staged.summary.files)}}
    );
    {
        std::lock_guard lock(restore_mu);
        pending_restore = std::move(staged);
        restore_op.emplace(std::move(op));
    }
    // Graceful: the answer to this request is written before the connection closes.
    if (server) {
        server->Stop();
    }
    return Ok();
}

Result<void> Application::Impl::StartMetricsListener() {
    if (config.metrics_listen.empty()) {
        return Ok();
    }
    config::HttpConfig http;
    BASALT_TRY(config::ParseListenAddress(config.metrics_listen, http));
    http.threads = 1;
    http.max_connections = 64;
    http.cors_origins.clear();
    auto metrics_router = std::make_shared<http::Router>();
    const http::SyncHandler scrape = [this](http::Request& /*req*/) {
        return api::MetricsResponse(metrics);
    };
    metrics_router->Add(http::Method::kGet, "/metrics", scrape);
    metrics_router->Add(http::Method::kGet, "/api/metrics", scrape);
    metrics_server = std::make_unique<http::Server>(http, std::move(metrics_router));
    metrics_host = http.host.find(':') != std::string::npos ? "[" + http.host + "]" : http.host;
    BASALT_TRY(metrics_server->Listen());
    obs::Info("metrics listener", {{"host", http.host}, {"port", static_cast<std::int64_t>(metrics_server->Port())}});
    metrics_thread = std::thread([s = metrics_server.get()] { s->Run(); });
    return Ok();
}

Result<void> Application::Start() {
    Impl& s = *impl_;
    RaiseOpenFileLimit(s.config.http.max_connections);
    db::WalTap wal_tap;
    if (!s.config.replica.dest.empty()) {
        backups::ReplicaOptions ro;
        BASALT_ASSIGN_OR_RETURN(
            auto place, backups::OpenReplicaPlace(s.config.replica.dest, ReplicaBucket(s.config.replica))
        );
        ro.dest = place.bucket ? std::filesystem::absolute(s.config.data_dir) / ".replica" : place.dir;
        ro.remote = std::move(place.bucket);
        ro.remote_prefix = std::move(place.prefix);
        ro.database = std::filesystem::absolute(s.config.data_dir) / "data.db";
        ro.retention = s.config.replica.retention;
        ro.snapshot_every = s.config.replica.snapshot_every;
        s.replica = std::make_unique<backups::Replicator>(std::move(ro));
        BASALT_TRY(s.replica->Prepare());
        wal_tap = s.replica->Tap();
    }
    BASALT_ASSIGN_OR_RETURN(s.data, DataDir::Open(s.config, wal_tap));
    if (s.replica) {
        s.replica->Start();
        obs::Info("replicating", {{"dest", s.config.replica.dest}});
    }
    const bool serves_http = config::ServesHttp(s.config.role);
    const bool runs_jobs = config::RunsJobs(s.config.role);
    BASALT_TRY(s.LockRoles(serves_http, runs_jobs));
    backups::RemoveRestoreLeftovers(s.data->Path());
    DataDir::Impl& d = *s.data->impl_;
    BASALT_TRY(s.OpenServices(d));
    BASALT_TRY(s.StartEventsAndJobs(d, runs_jobs));
    s.OpenRequestServices(d, runs_jobs);
    BASALT_TRY(s.RegisterAllRoutes(d, serves_http));
    s.AddCollectors(d, runs_jobs);
    BASALT_TRY(s.StartMetricsListener());
    if (!serves_http) {
        return Ok();
    }
    // Large uploads stream to unnamed files beside the storage (same disk, never /tmp's memory).
    config::HttpConfig http = s.config.http;
    http.spool_dir = (s.data->Path() / ".tmp").string();
    s.server = std::make_unique<http::Server>(http, s.router);
    return s.server->Listen();
}

std::uint16_t Application::Port() const {
    return impl_->server ? impl_->server->Port() : 0;
}

std::uint16_t Application::MetricsPort() const {
    return impl_->metrics_server ? impl_->metrics_server->Port() : 0;
}

std::optional<backups::StagedRestore> Application::TakeRestore() {
    Impl& s = *impl_;
    std::lock_guard lock(s.restore_mu);
    s.restore_op.reset();
    return std::exchange(s.pending_restore, std::nullopt);
}

std::string Application::MetricsUrl() const {
    const Impl& s = *impl_;
    if (!s.metrics_server) {
        return {};
    }
    return "http://" + s.metrics_host + ":" + std::to_string(s.metrics_server->Port());
}

void Application::Run() {
    Impl& s = *impl_;
    if (s.server) {
        s.server->StopOnSignals();
        s.server->Run();
        obs::Info("server stopped");
        return;
    }
    // A worker process: jobs run on their own threads until SIGINT/SIGTERM.
    struct sigaction action {};
    action.sa_handler = OnStopSignal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
    std::unique_lock lock(s.stop_mu);
    while (!s.stop_requested && !g_stop_signal.load()) {
        s.stop_cv.wait_for(lock, std::chrono::milliseconds(100));
    }
    obs::Info("worker stopped");
}

void Application::Stop() {
    Impl& s = *impl_;
    if (s.server) {
        s.server->Stop();
        return;
    }
    std::lock_guard lock(s.stop_mu);
    s.stop_requested = true;
    s.stop_cv.notify_all();
}
identity::SuperuserStore& Application::Superusers() {
    return impl_->data->Superusers();
}
const std::string& Application::InstallToken() const {
    return impl_->install_token;
}

const std::filesystem::path& Application::DataPath() const {
    return impl_->data->Path();
}

}  // namespace basalt::app
