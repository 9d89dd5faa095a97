// SPDX-License-Identifier: MIT
#include "app/application.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <unistd.h>

#include "api/blocking.hpp"
#include "api/routes.hpp"
#include "app/system_migrations.hpp"
#include "auth/superusers.hpp"
#include "collections/store.hpp"
#include "db/sqlite/sqlite_database.hpp"
#include "events/events.hpp"
#include "http/router.hpp"
#include "http/server.hpp"
#include "identity/api_keys.hpp"
#include "identity/auth_records.hpp"
#include "identity/sessions.hpp"
#include "identity/throttle.hpp"
#include "identity/tokens.hpp"
#include "mail/outbox.hpp"
#include "obs/log.hpp"
#include "realtime/hub.hpp"
#include "records/service.hpp"
#include "settings/settings_store.hpp"

namespace basalt::app {

struct DataDir::Impl {
    std::filesystem::path path;
    SystemClock clock;
    std::unique_ptr<db::Database> db;
    std::unique_ptr<auth::SuperuserStore> superusers;

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
auth::SuperuserStore& DataDir::Superusers() {
    return *impl_->superusers;
}

Result<std::unique_ptr<DataDir>> DataDir::Open(const config::AppConfig& config) {
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
    db::SqliteOptions opts;
    opts.path = (impl->path / "data.db").string();
    opts.busy_timeout = config.db.busy_timeout;
    opts.max_readers = config.db.max_readers;
    auto db = db::OpenSqlite(opts);
    if (!db) {
        return db.error();
    }
    impl->db = std::move(*db);
    auto applied = db::ApplyMigrations(*impl->db, SystemMigrations());
    if (!applied) {
        return applied.error();
    }
    if (*applied > 0) {
        obs::Info("applied system migrations", {{"count", *applied}});
    }
    impl->superusers = std::make_unique<auth::SuperuserStore>(*impl->db, impl->clock);
    return std::unique_ptr<DataDir>(new DataDir(std::move(impl)));
}

struct Application::Impl {
    config::AppConfig config;
    int lock_fd = -1;
    std::unique_ptr<DataDir> data;
    std::unique_ptr<collections::CollectionStore> collections;
    std::unique_ptr<identity::AuthRecords> auth_records;
    std::unique_ptr<identity::SessionStore> sessions;
    std::unique_ptr<identity::TokenService> tokens;
    std::unique_ptr<identity::Throttle> throttle;
    std::unique_ptr<mail::Outbox> outbox;
    std::unique_ptr<identity::ApiKeyStore> api_keys;
    std::unique_ptr<events::Dispatcher> events;
    std::unique_ptr<records::RecordService> records;
    std::unique_ptr<realtime::Hub> realtime;
    std::unique_ptr<settings::SettingsStore> settings;
    std::unique_ptr<api::BlockingPool> blocking;
    std::shared_ptr<http::Router> router;
    std::unique_ptr<http::Server> server;

    ~Impl() {
        server.reset();
        if (blocking) {
            blocking->Stop();
        }
        if (outbox) {
            outbox->Stop();  // mail already queued goes out before the process ends
        }
        if (events) {
            events->Stop();
        }
        if (realtime) {
            realtime->Stop();
        }
        data.reset();
        if (lock_fd >= 0) {
            ::close(lock_fd);
        }
    }
};

Application::Application(config::AppConfig config) : impl_(std::make_unique<Impl>()) {
    impl_->config = std::move(config);
}
Application::~Application() = default;

namespace {

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

}  // namespace

Result<void> Application::Start() {
    Impl& s = *impl_;
    RaiseOpenFileLimit(s.config.http.max_connections);
    auto data = DataDir::Open(s.config);
    if (!data) {
        return data.error();
    }
    s.data = std::move(*data);
    // One server per data directory: a second `serve` would fight over the same files.
    const auto lock_path = s.data->Path() / ".lock";
    s.lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s.lock_fd < 0 || ::flock(s.lock_fd, LOCK_EX | LOCK_NB) != 0) {
        return MakeError(ErrorCode::kUnavailable, "another basalt server is already using " + s.data->Path().string());
    }
    DataDir::Impl& d = *s.data->impl_;
    s.collections = std::make_unique<collections::CollectionStore>(*d.db, d.clock);
    if (auto r = s.collections->Load(); !r) {
        return r.error();
    }
    s.auth_records = std::make_unique<identity::AuthRecords>(*d.db);
    s.sessions = std::make_unique<identity::SessionStore>(*d.db, d.clock);
    s.tokens = std::make_unique<identity::TokenService>(*s.collections, *s.auth_records, *s.sessions, d.clock);
    s.throttle = std::make_unique<identity::Throttle>();
    s.outbox = std::make_unique<mail::Outbox>();
    s.api_keys = std::make_unique<identity::ApiKeyStore>(*d.db, *s.collections, *s.auth_records, d.clock);
    s.records = std::make_unique<records::RecordService>(*d.db, *s.collections, d.clock);
    realtime::Hub::Limits rt;
    rt.stream.heartbeat = s.config.realtime.heartbeat;
    rt.stream.idle = s.config.realtime.idle;
    rt.stream.max_duration = s.config.realtime.max_duration;
    rt.stream.max_queued_bytes = s.config.realtime.max_queued_bytes;
    s.realtime = std::make_unique<realtime::Hub>(*s.collections, *s.records, rt);
    s.events = std::make_unique<events::Dispatcher>(*d.db);
    s.events->Subscribe([hub = s.realtime.get()](const events::Event& e) { hub->Publish(e); });
    if (auto r = s.events->Start(); !r) {
        return r.error();
    }
    s.settings = std::make_unique<settings::SettingsStore>(*d.db);
    if (auto r = s.settings->Load(); !r) {
        return r.error();
    }
    s.blocking = std::make_unique<api::BlockingPool>(s.config.auth.hash_threads, s.config.auth.max_hash_queue);
    s.router = std::make_shared<http::Router>();
    api::Deps deps{
        *d.db,
        *d.superusers,
        *s.blocking,
        d.clock,
        *s.collections,
        *s.records,
        *s.settings,
        *s.auth_records,
        *s.sessions,
        *s.tokens,
        *s.throttle,
        *s.outbox,
        *s.api_keys,
        *s.events,
        *s.realtime};
    api::RegisterRoutes(*s.router, deps, s.config.http.cors_origins);
    s.server = std::make_unique<http::Server>(s.config.http, s.router);
    return s.server->Listen();
}

std::uint16_t Application::Port() const {
    return impl_->server->Port();
}

void Application::Run() {
    impl_->server->StopOnSignals();
    impl_->server->Run();
    obs::Info("server stopped");
}

void Application::Stop() {
    impl_->server->Stop();
}
auth::SuperuserStore& Application::Superusers() {
    return impl_->data->Superusers();
}
const std::filesystem::path& Application::DataPath() const {
    return impl_->data->Path();
}

}  // namespace basalt::app
