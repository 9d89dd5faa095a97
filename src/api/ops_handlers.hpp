// SPDX-License-Identifier: MIT
#pragma once

#include "api/deps.hpp"
#include "http/router.hpp"

namespace basalt::api {

/// Superusers' operations APIs: the job queue (/api/jobs), webhooks (/api/webhooks) and the
/// scheduler (/api/crons, as PocketBase).
void RegisterOpsRoutes(http::Router& router, const Deps& deps);

}  // namespace basalt::api
