// SPDX-License-Identifier: MIT
#pragma once

#include "api/deps.hpp"
#include "http/router.hpp"

namespace basalt::api {

/// POST /api/batch: record creates, upserts, updates and deletes in one transaction (all or
/// nothing), enabled and limited by settings.batch, PocketBase's request and response shapes.
http::Handler BatchHandler(const Deps& deps);

}  // namespace basalt::api
