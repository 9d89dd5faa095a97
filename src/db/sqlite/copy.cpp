// SPDX-License-Identifier: MIT
// An online copy of a database file (backups): SQLite's backup API in one step, so the copy is one
// read transaction's snapshot while the writer goes on (in WAL mode a reader holds no writer).
#include <array>
#include <charconv>
#include <cstdio>
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

// A file: URI for a path (`%`, `?` and `#` escaped).
std::string FileUri(const std::string& path) {
    std::string uri = "file:";
    for (const char c : path) {
        if (c == '%' || c == '?' || c == '#') {
            std::array<char, 4> hex{};
            std::snprintf(hex.data(), hex.size(), "%%%02X", static_cast<unsigned char>(c));
            uri += hex.data();
        } else {
            uri += c;
        }
    }
    return uri + "?immutable=1";
}

bool HasSqliteHeader(const std::string& path) {
    std::FILE* f = std::fopen(path.c_str(), "rbe");
    if (f == nullptr) {
        return false;
    }
    std::array<char, 16> head{};
    const std::size_t n = std::fread(head.data(), 1, head.size(), f);
    std::fclose(f);
    return n == head.size() && std::string(head.data(), head.size()) == std::string("SQLite format 3\0", 16);
}

// Runs `sql` and hands each row's first column (as text, "" for NULL) to `row`.
int EachRow(sqlite3* handle, const char* sql, const auto& row) {
    sqlite3_stmt* stmt = nullptr;
    int rc = sqlite3_prepare_v2(handle, sql, -1, &stmt, nullptr);
    if (rc != SQLITE_OK) {
        return rc;
    }
    while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
        const auto* text = sqlite3_column_text(stmt, 0);
        row(text != nullptr ? std::string(reinterpret_cast<const char*>(text)) : std::string());
    }
    sqlite3_finalize(stmt);
    return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

}  // namespace

Result<DatabaseFileInfo> CheckDatabaseFile(const std::string& path) {
    if (!HasSqliteHeader(path)) {
        return MakeError(ErrorCode::kInvalidArgument, "not an SQLite database");
    }
    sqlite3* handle = nullptr;
    const int open_rc = sqlite3_open_v2(
        FileUri(path).c_str(), &handle, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX, nullptr
    );
    const auto fail = [&](const std::string& why) {
        sqlite3_close_v2(handle);
        return MakeError(ErrorCode::kInvalidArgument, why);
    };
    if (open_rc != SQLITE_OK) {
        return fail(std::string("cannot be opened: ") + sqlite3_errstr(open_rc));
    }
    std::vector<std::string> problems;
    int rc =
        EachRow(handle, "PRAGMA integrity_check(8)", [&](std::string line) { problems.push_back(std::move(line)); });
    if (rc != SQLITE_OK) {
        return fail(std::string("damaged: ") + sqlite3_errmsg(handle));
    }
    if (problems.size() != 1 || problems.front() != "ok") {
        std::string why = "damaged (integrity check):";
        for (const std::string& p : problems) {
            why += " " + p + ";";
        }
        return fail(why);
    }
    DatabaseFileInfo info;
    rc = EachRow(handle, "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name", [&](std::string name) {
        info.tables.push_back(std::move(name));
    });
    if (rc != SQLITE_OK) {
        return fail(std::string("unreadable schema: ") + sqlite3_errmsg(handle));
    }
    bool has_version = false;
    EachRow(handle, "SELECT name FROM pragma_table_info('_migrations')", [&](const std::string& column) {
        has_version = has_version || column == "version";
    });
    if (has_version) {
        EachRow(handle, "SELECT MAX(version) FROM _migrations", [&](const std::string& v) {
            std::int64_t n = 0;
            const auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
            if (!v.empty() && ec == std::errc() && end == v.data() + v.size()) {
                info.migration_version = n;
            }
        });
    }
    sqlite3_close_v2(handle);
    return info;
}

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
