// SPDX-License-Identifier: MIT
#pragma once

#include "api/deps.hpp"
#include "http/router.hpp"

namespace basalt::api {

/// GET/POST /api/realtime (server-sent events, PocketBase's protocol) and /api/oauth2-redirect (the
/// OAuth2 popup flow: the provider's answer goes to the realtime client named by `state`).
void RegisterRealtimeRoutes(http::Router& router, const Deps& deps);

}  // namespace basalt::api
