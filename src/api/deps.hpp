// SPDX-License-Identifier: MIT
#pragma once

#include "api/blocking.hpp"
#include "auth/superusers.hpp"
#include "collections/store.hpp"
#include "core/clock.hpp"
#include "db/database.hpp"
#include "events/events.hpp"
#include "identity/api_keys.hpp"
#include "identity/auth_records.hpp"
#include "identity/sessions.hpp"
#include "identity/throttle.hpp"
#include "identity/tokens.hpp"
#include "mail/outbox.hpp"
#include "realtime/hub.hpp"
#include "records/service.hpp"
#include "settings/settings_store.hpp"

namespace basalt::api {

/// What the Web API handlers work with; built and owned by app::Application.
struct Deps {
    db::Database& db;
    auth::SuperuserStore& superusers;
    BlockingPool& blocking;
    const Clock& clock;
    collections::CollectionStore& collections;
    records::RecordService& records;
    settings::SettingsStore& settings;
    identity::AuthRecords& auth_records;
    identity::SessionStore& sessions;
    identity::TokenService& tokens;
    identity::Throttle& throttle;
    mail::Outbox& outbox;
    identity::ApiKeyStore& api_keys;
    events::Dispatcher& events;
    realtime::Hub& realtime;
};

}  // namespace basalt::api
