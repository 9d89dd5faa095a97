// SPDX-License-Identifier: MIT
#pragma once

#include <functional>

#include "api/blocking.hpp"
#include "backups/backup_store.hpp"
#include "collections/store.hpp"
#include "core/clock.hpp"
#include "db/database.hpp"
#include "events/events.hpp"
#include "identity/account_mail.hpp"
#include "identity/api_keys.hpp"
#include "identity/auth_records.hpp"
#include "identity/oauth2_accounts.hpp"
#include "identity/sessions.hpp"
#include "identity/sign_in.hpp"
#include "identity/superusers.hpp"
#include "identity/throttle.hpp"
#include "identity/tokens.hpp"
#include "identity/totps.hpp"
#include "jobs/cron.hpp"
#include "jobs/queue.hpp"
#include "logs/log_store.hpp"
#include "obs/metrics.hpp"
#include "realtime/hub.hpp"
#include "records/service.hpp"
#include "settings/settings_store.hpp"
#include "storage/storage.hpp"
#include "thumbs/thumbnailer.hpp"
#include "webhooks/webhooks.hpp"

namespace basalt::api {

/// What the Web API handlers work with; built and owned by app::Application.
struct Deps {
    db::Database& db;
    identity::SuperuserStore& superusers;
    BlockingPool& blocking;  // CPU-bound work (password hashing) and blocking writes
    BlockingPool& queries;   // reads that may scan (lists, views that join or read view collections)
    BlockingPool& io;        // slow outbound I/O (OAuth2 round trips, SMTP): never starves the two above
    const Clock& clock;
    collections::CollectionStore& collections;
    records::RecordService& records;
    settings::SettingsStore& settings;
    identity::AuthRecords& auth_records;
    identity::SessionStore& sessions;
    identity::TokenService& tokens;
    identity::Throttle& throttle;
    identity::ApiKeyStore& api_keys;
    identity::SignInService& sign_in;
    identity::AccountMail& account_mail;
    identity::OAuth2Accounts& oauth2_accounts;
    identity::TotpStore& totps;
    events::Dispatcher& events;
    realtime::Hub& realtime;
    jobs::Queue& jobs;
    jobs::Scheduler& crons;
    webhooks::Service& webhooks;
    storage::Storage& storage;    // the files of file fields
    thumbs::Thumbnailer& thumbs;  // makes `?thumb=` images of them, off the I/O threads
    logs::LogStore& logs;         // request and app logs (auxiliary.db)
    obs::Registry& metrics;       // the process's metrics; the API adds its own collectors to it
    /// Wakes this process's job workers (empty in an api-only process).
    std::function<void()> notify_workers;
    /// Whether a job kind has a handler (jobs enqueued through the API must).
    std::function<bool(const std::string&)> job_kinds;
    /// Bytes of guests' record lists and views kept in the response cache (GuestCache); 0: off.
    std::size_t guest_cache_bytes = 0;
    /// The backups of the data directory (`<data dir>/backups`); null: no backups API.
    backups::BackupStore* backups = nullptr;
    /// Checks the backup of that name and, when it can be restored, has the server restart on it
    /// (answers before the restart). kInvalidArgument: refused, with the reason; kConflict: another
    /// backup or restore runs. Blocks. Empty: no restore route.
    std::function<Result<void>(const std::string&)> restore_backup;
};

}  // namespace basalt::api
