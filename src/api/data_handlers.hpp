// SPDX-License-Identifier: MIT
#pragma once

#include "api/deps.hpp"
#include "http/router.hpp"

namespace basalt::api {

/// The collections API (superusers only) and the records API (API rules), PocketBase's routes.
void RegisterDataRoutes(http::Router& router, const Deps& deps);

}  // namespace basalt::api
