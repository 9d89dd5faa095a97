// SPDX-License-Identifier: MIT
#pragma once

#include "api/blocking.hpp"
#include "auth/superusers.hpp"
#include "collections/store.hpp"
#include "core/clock.hpp"
#include "db/database.hpp"
#include "records/service.hpp"
#include "settings/settings_store.hpp"

namespace basalt::api {

/// What the Web API handlers work with; built and owned by app::Application.
struct Deps {
    db::Database& db;
    auth::SuperuserStore& superusers;
    auth::TokenService& tokens;
    BlockingPool& blocking;
    const Clock& clock;
    collections::CollectionStore& collections;
    records::RecordService& records;
    settings::SettingsStore& settings;
};

}  // namespace basalt::api
