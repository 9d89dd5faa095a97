// SPDX-License-Identifier: MIT
// An online copy of a database file (backups): SQLite's backup API in one step, so the copy is one
// read transaction's snapshot while the writer goes on (in WAL mode a reader holds no writer).
#include <string>

#include <sqlite3.h>

#include "db/sqlite/sqlite_database.hpp"

namespace basalt::db {

namespace {

Error CopyError(sqlite3* handle, int rc, const std::string& what) {
    std::string msg = what + ": ";
    msg += handle != nullptr ? sqlite3_errmsg(handle) : sqlite3_errstr(rc);
    const int primary = rc & 0xFF;
    const bool busy = primary == SQLITE_BUSY || primary == SQLITE_LOCKED || primary == SQLITE_FULL;
    return MakeError(busy ? ErrorCode::kUnavailable : ErrorCode::kInternal, std::move(msg));
}

}  // namespace

Result<void> CopyDatabase(const std::string& from, const std::string& to) {
    sqlite3* src = nullptr;
    sqlite3* dst = nullptr;
    const auto close_both = [&] {
        sqlite3_close_v2(src);
        sqlite3_close_v2(dst);
    };
    int rc = sqlite3_open_v2(from.c_str(), &src, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        Error e = CopyError(src, rc, "open " + from);
        close_both();
        return e;
    }
    sqlite3_busy_timeout(src, 5000);
    rc = sqlite3_open_v2(to.c_str(), &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
        Error e = CopyError(dst, rc, "create " + to);
        close_both();
        return e;
    }
    sqlite3_backup* backup = sqlite3_backup_init(dst, "main", src, "main");
    if (backup == nullptr) {
        Error e = CopyError(dst, SQLITE_ERROR, "backup of " + from);
        close_both();
        return e;
    }
    // -1: every page in one step, under one read transaction: a consistent snapshot that a write of
    // another connection meanwhile does not restart.
    rc = sqlite3_backup_step(backup, -1);
    const int finish = sqlite3_backup_finish(backup);
    if (rc != SQLITE_DONE || finish != SQLITE_OK) {
        Error e = CopyError(dst, rc != SQLITE_DONE ? rc : finish, "backup of " + from);
        close_both();
        return e;
    }
    // The copy stands alone: no -wal or -shm files beside it wherever it is restored or opened.
    rc = sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) {
        Error e = CopyError(dst, rc, "journal mode of " + to);
        close_both();
        return e;
    }
    close_both();
    return Ok();
}

}  // namespace basalt::db
