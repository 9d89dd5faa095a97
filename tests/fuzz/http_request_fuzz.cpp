// SPDX-License-Identifier: MIT
// Raw bytes -> Beast parser with the server's limits -> the real middleware chain and routes.
// Any crash, sanitizer report or non-JSON error body is a finding.
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string_view>

#include <boost/json/parse.hpp>

#include "api/routes.hpp"
#include "app/system_migrations.hpp"
#include "db/sqlite/sqlite_database.hpp"
#include "http/event_stream.hpp"
#include "http/server.hpp"
#include "identity/external_auths.hpp"
#include "identity/mfas.hpp"
#include "identity/otps.hpp"
#include "logs/log_store.hpp"
#include "obs/log.hpp"
#include "obs/metrics.hpp"
#include "thumbs/thumbnailer.hpp"

namespace {

struct World {
    basalt::SystemClock clock;
    std::unique_ptr<basalt::db::Database> db;
    std::unique_ptr<basalt::identity::SuperuserStore> store;
    std::unique_ptr<basalt::collections::CollectionStore> collections;
    std::unique_ptr<basalt::identity::AuthRecords> auth_records;
    std::unique_ptr<basalt::identity::SessionStore> sessions;
    std::unique_ptr<basalt::identity::TokenService> tokens;
    std::unique_ptr<basalt::identity::Throttle> throttle;
    std::unique_ptr<basalt::identity::ApiKeyStore> api_keys;
    std::unique_ptr<basalt::events::Dispatcher> events;
    std::unique_ptr<basalt::records::RecordService> records;
    std::unique_ptr<basalt::settings::SettingsStore> settings;
    std::unique_ptr<basalt::realtime::Hub> hub;
    std::unique_ptr<basalt::jobs::Queue> queue;
    std::unique_ptr<basalt::jobs::Scheduler> scheduler;
    std::unique_ptr<basalt::webhooks::Service> webhooks;
    std::unique_ptr<basalt::storage::Storage> storage;
    std::unique_ptr<basalt::thumbs::Thumbnailer> thumbs;
    std::unique_ptr<basalt::identity::OtpStore> otps;
    std::unique_ptr<basalt::identity::MfaStore> mfas;
    std::unique_ptr<basalt::identity::TotpStore> totps;
    std::unique_ptr<basalt::identity::ExternalAuthStore> external_auths;
    std::unique_ptr<basalt::identity::AccountMail> account_mail;
    std::unique_ptr<basalt::identity::SignInService> sign_in;
    std::unique_ptr<basalt::identity::OAuth2Accounts> oauth2_accounts;
    std::unique_ptr<basalt::logs::LogStore> logs;
    basalt::obs::Registry metrics;
    std::unique_ptr<basalt::api::BlockingPool> pool;
    basalt::http::Router router;
    basalt::config::HttpConfig cfg;

    World() {
        basalt::obs::SetMinLevel(basalt::obs::Level::kError);
        char tmpl[] = "/tmp/basalt-fuzz-XXXXXX";
        const char* dir = mkdtemp(tmpl);
        basalt::db::SqliteOptions o;
        o.path = std::string(dir) + "/data.db";
        auto opened = basalt::db::OpenSqlite(o);
        if (!opened) {
            std::abort();
        }
        db = std::move(*opened);
        (void)basalt::db::ApplyMigrations(*db, basalt::app::SystemMigrations());
        store = std::make_unique<basalt::identity::SuperuserStore>(*db, clock);
        collections = std::make_unique<basalt::collections::CollectionStore>(*db, clock);
        (void)collections->Load();
        auth_records = std::make_unique<basalt::identity::AuthRecords>(*db);
        sessions = std::make_unique<basalt::identity::SessionStore>(*db, clock);
        tokens = std::make_unique<basalt::identity::TokenService>(*collections, *auth_records, *sessions, clock);
        throttle = std::make_unique<basalt::identity::Throttle>();
        api_keys = std::make_unique<basalt::identity::ApiKeyStore>(*db, *collections, *auth_records, clock);
        events = std::make_unique<basalt::events::Dispatcher>(*db);
        records = std::make_unique<basalt::records::RecordService>(*db, *collections, clock);
        settings = std::make_unique<basalt::settings::SettingsStore>(*db);
        (void)settings->Load();
        hub = std::make_unique<basalt::realtime::Hub>(*collections, *records, basalt::realtime::Hub::Limits{});
        queue = std::make_unique<basalt::jobs::Queue>(*db, clock);
        scheduler = std::make_unique<basalt::jobs::Scheduler>(*db, *queue, clock);
        webhooks = std::make_unique<basalt::webhooks::Service>(*db, *queue, *settings, clock);
        storage = *basalt::storage::OpenLocal(std::filesystem::temp_directory_path() / "basalt-fuzz-storage");
        thumbs = std::make_unique<basalt::thumbs::Thumbnailer>(*storage, basalt::thumbs::ThumbnailerOptions{});
        records->SetStorage(storage.get());
        otps = std::make_unique<basalt::identity::OtpStore>(*db, clock);
        mfas = std::make_unique<basalt::identity::MfaStore>(*db, clock);
        totps = std::make_unique<basalt::identity::TotpStore>(*db, clock);
        external_auths = std::make_unique<basalt::identity::ExternalAuthStore>(*db, clock);
        account_mail = std::make_unique<basalt::identity::AccountMail>(
            *db, *records, *auth_records, *settings, *queue, clock, nullptr
        );
        sign_in = std::make_unique<basalt::identity::SignInService>(
            *db, *records, *auth_records, *sessions, *tokens, *mfas, *totps, *otps, *account_mail
        );
        oauth2_accounts =
            std::make_unique<basalt::identity::OAuth2Accounts>(*db, *records, *auth_records, *external_auths);
        logs = std::move(*basalt::logs::LogStore::Open(std::string(dir) + "/auxiliary.db", clock));
        // Rate limits on, far above what a fuzzing run sends, so every request walks the limiter's
        // path and label parsing (and the request log writes every request).
        (void)settings->Patch(boost::json::parse(R"({"rateLimits":{"enabled":true,"rules":[
            {"label":"*:create","audience":"","duration":1,"maxRequests":100000000},
            {"label":"users:auth","audience":"@guest","duration":1,"maxRequests":100000000},
            {"label":"/api/","audience":"","duration":1,"maxRequests":100000000}]}})")
                                  .as_object());
        pool = std::make_unique<basalt::api::BlockingPool>(1, 16);
        // Named members: a field added to Deps fails this build rather than shifting the others.
        basalt::api::RegisterRoutes(
            router,
            {.db = *db,
             .superusers = *store,
             .blocking = *pool,
             .queries = *pool,
             .io = *pool,
             .clock = clock,
             .collections = *collections,
             .records = *records,
             .settings = *settings,
             .auth_records = *auth_records,
             .sessions = *sessions,
             .tokens = *tokens,
             .throttle = *throttle,
             .api_keys = *api_keys,
             .sign_in = *sign_in,
             .account_mail = *account_mail,
             .oauth2_accounts = *oauth2_accounts,
             .totps = *totps,
             .events = *events,
             .realtime = *hub,
             .jobs = *queue,
             .crons = *scheduler,
             .webhooks = *webhooks,
             .storage = *storage,
             .thumbs = *thumbs,
             .logs = *logs,
             .metrics = metrics,
             .notify_workers = nullptr,
             .job_kinds = [](const std::string& kind) { return kind == "cron.run"; },
             .guest_cache_bytes = 1 << 20},
            {"*"},
            nullptr
        );
        cfg.max_header_bytes = 4096;
        cfg.max_body_bytes = 8192;
    }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static World world;
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto res = basalt::http::HandleRawRequestForTest(world.router, world.cfg, input);
    if (res.stream) {
        res.stream->Close();  // a realtime client: forgotten at once
    }
    if (res.status < 100 || res.status > 599) {
        std::abort();
    }
    if (res.status >= 400 && (res.body.empty() || res.body.front() != '{' || res.body.back() != '}')) {
        std::abort();  // every error must be in the JSON error shape
    }
    return 0;
}
