// SPDX-License-Identifier: MIT
#pragma once

#include "api/deps.hpp"
#include "http/router.hpp"

namespace basalt::api {

/// PocketBase's backups API (apis/backup*.go): GET/POST /api/backups, POST /api/backups/upload,
/// GET /api/backups/{key}?token= (a superuser's file token), DELETE /api/backups/{key} and, when
/// Deps::restore_backup is set, POST /api/backups/{key}/restore (docs/backups.md). Nothing is
/// registered when Deps::backups is null.
void RegisterBackupRoutes(http::Router& router, const Deps& deps);

}  // namespace basalt::api
