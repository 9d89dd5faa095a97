// SPDX-License-Identifier: MIT
// Connection::RunScript: the SQL scripts of the superusers' query tool, under an authorizer that
// keeps the connection's own settings and transactions out of their reach, and a deadline.
#include <cctype>
#include <chrono>
#include <cstring>

#include "db/sqlite/connection.hpp"

namespace basalt::db::sqlite {

namespace {

// Whether `rest` holds no further statement: only whitespace, semicolons and comments.
bool OnlyTrivia(std::string_view rest) {
    std::size_t i = 0;
    while (i < rest.size()) {
        const char c = rest[i];
        if (c == ';' || std::isspace(static_cast<unsigned char>(c)) != 0) {
            ++i;
        } else if (c == '-' && i + 1 < rest.size() && rest[i + 1] == '-') {
            const auto eol = rest.find('\n', i);
            i = eol == std::string_view::npos ? rest.size() : eol + 1;
        } else if (c == '/' && i + 1 < rest.size() && rest[i + 1] == '*') {
            const auto end = rest.find("*/", i + 2);
            i = end == std::string_view::npos ? rest.size() : end + 2;
        } else {
            return false;
        }
    }
    return true;
}

bool EqualsNoCase(const char* a, std::string_view b) {
    if (a == nullptr || std::strlen(a) != b.size()) {
        return false;
    }
    for (std::size_t i = 0; i < b.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
            return false;
        }
    }
    return true;
}

// Pragmas that set how a connection behaves: a script may read them but not change them, since the
// connection (the writer, a pooled reader) outlives the script.
constexpr std::string_view kConnectionPragmas[] = {
    "analysis_limit",
    "automatic_index",
    "auto_vacuum",
    "busy_timeout",
    "cache_size",
    "cache_spill",
    "case_sensitive_like",
    "cell_size_check",
    "checkpoint_fullfsync",
    "count_changes",
    "data_store_directory",
    "defer_foreign_keys",
    "empty_result_callbacks",
    "encoding",
    "foreign_keys",
    "full_column_names",
    "fullfsync",
    "hard_heap_limit",
    "ignore_check_constraints",
    "journal_mode",
    "journal_size_limit",
    "legacy_alter_table",
    "locking_mode",
    "max_page_count",
    "mmap_size",
    "page_size",
    "query_only",
    "read_uncommitted",
    "recursive_triggers",
    "reverse_unordered_selects",
    "schema_version",
    "secure_delete",
    "short_column_names",
    "soft_heap_limit",
    "synchronous",
    "temp_store",
    "temp_store_directory",
    "threads",
    "trusted_schema",
    "wal_autocheckpoint",
    "writable_schema",
};

// What the authorizer saw while a script was compiled.
struct ScriptWatch {
    std::string refused;  // why a statement was refused, or empty
    bool schema_changed = false;
};

int ScriptAuthorizer(void* user, int action, const char* a1, const char* a2, const char*, const char*) {
    auto* w = static_cast<ScriptWatch*>(user);
    switch (action) {
        case SQLITE_TRANSACTION:
        case SQLITE_SAVEPOINT:
            w->refused =
                "transaction control (BEGIN, COMMIT, ROLLBACK, SAVEPOINT, RELEASE) is not available: "
                "each query runs in a transaction of its own";
            return SQLITE_DENY;
        case SQLITE_ATTACH:
        case SQLITE_DETACH:
            w->refused = "ATTACH and DETACH are not available";
            return SQLITE_DENY;
        case SQLITE_PRAGMA:
            if (a2 != nullptr) {
                for (const auto name : kConnectionPragmas) {
                    if (EqualsNoCase(a1, name)) {
                        w->refused =
                            "PRAGMA " + std::string(name) + " cannot be changed here: basalt manages that setting";
                        return SQLITE_DENY;
                    }
                }
            }
            return SQLITE_OK;
        case SQLITE_CREATE_INDEX:
        case SQLITE_CREATE_TABLE:
        case SQLITE_CREATE_TRIGGER:
        case SQLITE_CREATE_VIEW:
        case SQLITE_DROP_INDEX:
        case SQLITE_DROP_TABLE:
        case SQLITE_DROP_TRIGGER:
        case SQLITE_DROP_VIEW:
        case SQLITE_ALTER_TABLE:
        case SQLITE_CREATE_VTABLE:
        case SQLITE_DROP_VTABLE:
            w->schema_changed = true;
            return SQLITE_OK;
        case SQLITE_INSERT:
        case SQLITE_UPDATE:
        case SQLITE_DELETE:
            w->schema_changed = w->schema_changed || EqualsNoCase(a1, "_collections");
            return SQLITE_OK;
        default:
            return SQLITE_OK;
    }
}

int PastDeadline(void* user) {
    const auto* deadline = static_cast<const std::chrono::steady_clock::time_point*>(user);
    return std::chrono::steady_clock::now() > *deadline ? 1 : 0;
}

// The error of a failed script statement: what the authorizer refused, the deadline, a busy or
// locked database (retryable), else SQLite's message as the client's error.
Error ScriptFailure(sqlite3* handle, const ScriptWatch& watch, int rc) {
    const int primary = rc & 0xFF;
    if (!watch.refused.empty()) {
        return MakeError(ErrorCode::kInvalidArgument, watch.refused);
    }
    if (primary == SQLITE_INTERRUPT) {
        return MakeError(ErrorCode::kInvalidArgument, "interrupted: the query ran past its time limit");
    }
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
        return SqliteError(handle, rc, "script");
    }
    return MakeError(ErrorCode::kInvalidArgument, sqlite3_errmsg(handle));
}

// Steps one statement of a script: once (its work done) unless `keep`, else collecting its rows
// into `out` up to `max_rows`. SQLITE_OK, or the code of the step that failed.
int StepScriptStatement(sqlite3_stmt* s, bool keep, std::size_t max_rows, ScriptResult& out) {
    for (;;) {
        if (keep && out.rows.size() >= max_rows) {
            return SQLITE_OK;
        }
        const int step = sqlite3_step(s);
        if (step == SQLITE_DONE) {
            return SQLITE_OK;
        }
        if (step != SQLITE_ROW) {
            return step;
        }
        if (!keep) {
            return SQLITE_OK;  // not the statement whose rows are kept: its first step did its work
        }
        const int n = sqlite3_column_count(s);
        std::vector<Value> row;
        row.reserve(static_cast<std::size_t>(n));
        for (int i = 0; i < n; ++i) {
            row.push_back(ColumnValue(s, i));
        }
        out.rows.push_back(std::move(row));
    }
}

// The result columns of `s`: names and declared types (uppercased).
std::vector<ScriptColumn> ScriptColumns(sqlite3_stmt* s) {
    std::vector<ScriptColumn> columns;
    for (int i = 0; i < sqlite3_column_count(s); ++i) {
        const char* type = sqlite3_column_decltype(s, i);
        std::string upper = type != nullptr ? type : "";
        for (char& c : upper) {
            c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        }
        columns.push_back({sqlite3_column_name(s, i), std::move(upper)});
    }
    return columns;
}

// Takes the authorizer and the progress handler off the connection when the script ends.
struct ScriptHooksReset {
    sqlite3* h;
    ~ScriptHooksReset() {
        sqlite3_set_authorizer(h, nullptr, nullptr);
        sqlite3_progress_handler(h, 0, nullptr, nullptr);
    }
};

}  // namespace

Result<ScriptResult> Connection::RunScript(std::string_view sql, const ScriptOptions& o) {
    ScriptWatch watch;
    sqlite3_set_authorizer(handle_, ScriptAuthorizer, &watch);
    auto deadline = o.deadline;  // read by the progress handler every 1000 VM steps
    sqlite3_progress_handler(handle_, 1000, PastDeadline, &deadline);
    const ScriptHooksReset reset{handle_};
    const sqlite3_int64 changes_before = sqlite3_total_changes64(handle_);
    ScriptResult out;
    const char* p = sql.data();
    const char* const end = sql.data() + sql.size();
    while (p < end) {
        sqlite3_stmt* raw = nullptr;
        const char* tail = nullptr;
        const int rc = sqlite3_prepare_v2(handle_, p, static_cast<int>(end - p), &raw, &tail);
        std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> s(raw, sqlite3_finalize);
        if (rc != SQLITE_OK) {
            return ScriptFailure(handle_, watch, rc);
        }
        if (tail == nullptr || tail <= p) {
            break;  // nothing consumed (a NUL byte): the rest is not SQL
        }
        p = tail;
        if (s == nullptr) {
            continue;  // whitespace or a comment
        }
        if (o.read_only && sqlite3_stmt_readonly(s.get()) == 0) {
            out.needs_writer = true;
            return out;
        }
        const bool keep = o.keep_rows && OnlyTrivia(std::string_view(p, static_cast<std::size_t>(end - p)));
        if (keep) {
            out.rows.clear();
        }
        if (const int step = StepScriptStatement(s.get(), keep, o.max_rows, out); step != SQLITE_OK) {
            return ScriptFailure(handle_, watch, step);
        }
        if (keep) {
            out.columns = ScriptColumns(s.get());
        }
    }
    if (!o.keep_rows && sqlite3_total_changes64(handle_) != changes_before) {
        out.affected_rows = static_cast<std::int64_t>(sqlite3_changes64(handle_));
    }
    out.schema_changed = watch.schema_changed;
    return out;
}

}  // namespace basalt::db::sqlite
