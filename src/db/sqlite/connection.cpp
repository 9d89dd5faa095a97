// SPDX-License-Identifier: MIT
// Opening a connection (its pragmas) and running statements from its cache of prepared ones.
#include "db/sqlite/connection.hpp"

#include <mutex>

namespace basalt::db::sqlite {

namespace {

constexpr std::size_t kStatementCacheSize = 256;

// The current row of a statement, read in place.
class StatementRow final : public RowView {
public:
    explicit StatementRow(sqlite3_stmt* s) : s_(s) {}
    int Size() const override { return sqlite3_column_count(s_); }
    std::string_view Name(int c) const override { return sqlite3_column_name(s_, c); }
    Type TypeOf(int c) const override {
        switch (sqlite3_column_type(s_, c)) {
            case SQLITE_INTEGER:
                return Type::kInt;
            case SQLITE_FLOAT:
                return Type::kFloat;
            case SQLITE_NULL:
                return Type::kNull;
            default:
                return Type::kText;
        }
    }
    std::int64_t Int(int c) const override { return sqlite3_column_int64(s_, c); }
    double Float(int c) const override { return sqlite3_column_double(s_, c); }
    std::string_view Text(int c) const override {
        const auto* p = static_cast<const char*>(sqlite3_column_blob(s_, c));
        const int n = sqlite3_column_bytes(s_, c);
        return p != nullptr ? std::string_view(p, static_cast<std::size_t>(n)) : std::string_view();
    }

private:
    sqlite3_stmt* s_;
};

}  // namespace

Error SqliteError(sqlite3* handle, int rc, std::string_view context) {
    const int primary = rc & 0xFF;
    std::string msg(context);
    msg += ": ";
    msg += handle != nullptr ? sqlite3_errmsg(handle) : sqlite3_errstr(rc);
    if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
        return MakeError(ErrorCode::kUnavailable, std::move(msg));
    }
    if (primary == SQLITE_CONSTRAINT) {
        return MakeError(ErrorCode::kConflict, std::move(msg));
    }
    if (primary == SQLITE_FULL) {
        return MakeError(ErrorCode::kUnavailable, std::move(msg));
    }
    return MakeError(ErrorCode::kInternal, std::move(msg));
}

Value ColumnValue(sqlite3_stmt* s, int i) {
    switch (sqlite3_column_type(s, i)) {
        case SQLITE_INTEGER:
            return static_cast<std::int64_t>(sqlite3_column_int64(s, i));
        case SQLITE_FLOAT:
            return sqlite3_column_double(s, i);
        case SQLITE_TEXT:
        case SQLITE_BLOB: {
            const auto* p = static_cast<const char*>(sqlite3_column_blob(s, i));
            const int n = sqlite3_column_bytes(s, i);
            return std::string(p != nullptr ? p : "", static_cast<std::size_t>(n));
        }
        default:
            return nullptr;
    }
}

namespace {

// Process-wide SQLite configuration, before its first use: no memory statistics. With them on (the
// default build), every allocation SQLite makes takes one global mutex to count it, which all the
// readers and the writer then contend for; basalt never reads those statistics.
void ConfigureSqliteOnce() {
    static std::once_flag once;
    std::call_once(once, [] {
        sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);  // SQLITE_MISUSE if already initialized: harmless
    });
}

}  // namespace

Result<std::unique_ptr<Connection>> Connection::Open(const SqliteOptions& o, bool reader, bool deferred_sync) {
    ConfigureSqliteOnce();
    sqlite3* handle = nullptr;
    const int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    const int rc = sqlite3_open_v2(o.path.c_str(), &handle, flags, nullptr);
    auto conn = std::unique_ptr<Connection>(new Connection(handle));
    if (rc != SQLITE_OK) {
        return MakeError(ErrorCode::kUnavailable, "cannot open database " + o.path + ": " + sqlite3_errstr(rc));
    }
    sqlite3_extended_result_codes(handle, 1);
    sqlite3_busy_timeout(handle, static_cast<int>(o.busy_timeout.count()));
    std::string setup = deferred_sync ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
                                      : "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; ";
    setup +=
        "PRAGMA foreign_keys=ON; PRAGMA temp_store=MEMORY; PRAGMA cache_size=-16000; "
        "PRAGMA journal_size_limit=67108864;";
    if (reader) {
        setup += " PRAGMA query_only=1;";
    }
    char* err = nullptr;
    if (sqlite3_exec(handle, setup.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
        std::string msg = err != nullptr ? err : "unknown error";
        sqlite3_free(err);
        return MakeError(ErrorCode::kUnavailable, "cannot set up database " + o.path + ": " + msg);
    }
    return conn;
}

Connection::~Connection() {
    for (auto& [sql, stmt] : cache_) {
        sqlite3_finalize(stmt);
    }
    sqlite3_close_v2(handle_);
}

Result<ResultSet> Connection::Query(std::string_view sql, std::span<const Value> params) {
    BASALT_ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare(sql, params));
    ResultSet rs;
    int ncol = 0;
    // The columns are read after the first step: a cached statement over `*` is prepared again
    // by that step when the schema changed (ALTER TABLE ADD COLUMN), and only then has the new
    // column list.
    auto read_columns = [&] {
        ncol = sqlite3_column_count(s);
        rs.columns.reserve(static_cast<std::size_t>(ncol));
        for (int i = 0; i < ncol; ++i) {
            rs.columns.emplace_back(sqlite3_column_name(s, i));
        }
    };
    for (bool first = true;; first = false) {
        const int rc = sqlite3_step(s);
        if (first) {
            read_columns();
        }
        if (rc == SQLITE_DONE) {
            break;
        }
        if (rc != SQLITE_ROW) {
            auto e = SqliteError(handle_, rc, "query");
            sqlite3_reset(s);
            return e;
        }
        std::vector<Value> row;
        row.reserve(static_cast<std::size_t>(ncol));
        for (int i = 0; i < ncol; ++i) {
            row.push_back(ColumnValue(s, i));
        }
        rs.rows.push_back(std::move(row));
    }
    sqlite3_reset(s);
    return rs;
}

Result<void> Connection::QueryEach(std::string_view sql, std::span<const Value> params, const RowFn& fn) {
    BASALT_ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare(sql, params));
    const StatementRow row(s);
    for (;;) {
        const int rc = sqlite3_step(s);
        if (rc == SQLITE_DONE) {
            break;
        }
        if (rc != SQLITE_ROW) {
            auto e = SqliteError(handle_, rc, "query");
            sqlite3_reset(s);
            return e;
        }
        if (auto r = fn(row); !r) {
            sqlite3_reset(s);
            return r;
        }
    }
    sqlite3_reset(s);
    return Ok();
}

Result<std::int64_t> Connection::Exec(std::string_view sql, std::span<const Value> params) {
    BASALT_ASSIGN_OR_RETURN(sqlite3_stmt * s, Prepare(sql, params));
    int rc = SQLITE_ROW;
    while (rc == SQLITE_ROW) {
        rc = sqlite3_step(s);
    }
    if (rc != SQLITE_DONE) {
        auto e = SqliteError(handle_, rc, "exec");
        sqlite3_reset(s);
        return e;
    }
    sqlite3_reset(s);
    return static_cast<std::int64_t>(sqlite3_changes64(handle_));
}

Result<std::vector<ColumnSource>> Connection::Describe(
    std::string_view sql, const std::function<bool(std::string_view, std::string_view)>& may_read
) {
    // The authorizer sees every column the statement would read, whatever expression wraps it.
    struct Check {
        const std::function<bool(std::string_view, std::string_view)>* may_read;
        std::string refused;
    } check{&may_read, {}};
    if (may_read) {
        sqlite3_set_authorizer(
            handle_,
            [](void* user, int action, const char* table, const char* column, const char*, const char*) {
                auto* c = static_cast<Check*>(user);
                if (action == SQLITE_READ && table != nullptr &&
                    !(*c->may_read)(table, column != nullptr ? column : "")) {
                    c->refused = table;
                    return SQLITE_DENY;
                }
                return SQLITE_OK;
            },
            &check
        );
    }
    sqlite3_stmt* s = nullptr;
    const char* tail = nullptr;
    const int rc = sqlite3_prepare_v2(handle_, sql.data(), static_cast<int>(sql.size()), &s, &tail);
    if (may_read) {
        sqlite3_set_authorizer(handle_, nullptr, nullptr);
    }
    if (!check.refused.empty()) {
        sqlite3_finalize(s);
        return MakeError(ErrorCode::kInvalidArgument, "the query may not read " + check.refused);
    }
    if (rc != SQLITE_OK) {
        return MakeError(ErrorCode::kInvalidArgument, sqlite3_errmsg(handle_));
    }
    std::unique_ptr<sqlite3_stmt, int (*)(sqlite3_stmt*)> owned(s, sqlite3_finalize);
    if (s == nullptr) {
        return MakeError(ErrorCode::kInvalidArgument, "the query is empty");
    }
    const std::string_view rest(tail, static_cast<std::size_t>(sql.data() + sql.size() - tail));
    if (rest.find_first_not_of(" \t\r\n;") != std::string_view::npos) {
        return MakeError(ErrorCode::kInvalidArgument, "multiple statements are not supported");
    }
    if (sqlite3_stmt_readonly(s) == 0 || sqlite3_column_count(s) == 0) {
        return MakeError(ErrorCode::kInvalidArgument, "only a read-only SELECT is allowed");
    }
    std::vector<ColumnSource> out;
    for (int i = 0; i < sqlite3_column_count(s); ++i) {
        const char* table = sqlite3_column_table_name(s, i);
        const char* column = sqlite3_column_origin_name(s, i);
        out.push_back({sqlite3_column_name(s, i), table != nullptr ? table : "", column != nullptr ? column : ""});
    }
    return out;
}

Result<void> Connection::Script(const char* sql) {
    const int rc = sqlite3_exec(handle_, sql, nullptr, nullptr, nullptr);
    if (rc != SQLITE_OK) {
        return SqliteError(handle_, rc, sql);
    }
    return Ok();
}

Result<sqlite3_stmt*> Connection::Prepare(std::string_view sql, std::span<const Value> params) {
    sqlite3_stmt* s = nullptr;
    auto it = cache_.find(std::string(sql));
    if (it != cache_.end()) {
        s = it->second;
    } else {
        const char* tail = nullptr;
        const int rc =
            sqlite3_prepare_v3(handle_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &s, &tail);
        if (rc != SQLITE_OK) {
            return SqliteError(handle_, rc, "prepare");
        }
        if (s == nullptr) {
            return MakeError(ErrorCode::kInternal, "prepare: empty statement");
        }
        if (cache_.size() >= kStatementCacheSize) {
            for (auto& [k, v] : cache_) {
                sqlite3_finalize(v);
            }
            cache_.clear();
        }
        cache_.emplace(std::string(sql), s);
    }
    sqlite3_clear_bindings(s);
    if (static_cast<std::size_t>(sqlite3_bind_parameter_count(s)) != params.size()) {
        return MakeError(ErrorCode::kInternal, "bind: parameter count mismatch");
    }
    for (std::size_t i = 0; i < params.size(); ++i) {
        const int idx = static_cast<int>(i + 1);
        int rc = SQLITE_OK;
        const Value& v = params[i];
        if (std::holds_alternative<std::nullptr_t>(v)) {
            rc = sqlite3_bind_null(s, idx);
        } else if (const auto* n = std::get_if<std::int64_t>(&v)) {
            rc = sqlite3_bind_int64(s, idx, *n);
        } else if (const auto* d = std::get_if<double>(&v)) {
            rc = sqlite3_bind_double(s, idx, *d);
        } else {
            const auto& str = std::get<std::string>(v);
            rc = sqlite3_bind_text64(s, idx, str.data(), str.size(), SQLITE_TRANSIENT, SQLITE_UTF8);
        }
        if (rc != SQLITE_OK) {
            return SqliteError(handle_, rc, "bind");
        }
    }
    return s;
}

}  // namespace basalt::db::sqlite
