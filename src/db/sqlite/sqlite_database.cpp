// SPDX-License-Identifier: MIT
#include "db/sqlite/sqlite_database.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <future>
#include <mutex>
#include <system_error>
#include <thread>
#include <tuple>
#include <unordered_map>
#include <utility>

#include <fcntl.h>
#include <sqlite3.h>
#include <unistd.h>

namespace basalt::db {

namespace {

constexpr std::size_t kStatementCacheSize = 256;
constexpr int kAutoCheckpointFrames = 1000;  // SQLite's default wal_autocheckpoint
constexpr auto kPassiveEvery = std::chrono::milliseconds(50);
constexpr std::size_t kMaxAnalyzeEvery = 1000000;

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

// One SQLite connection with a cache of prepared statements. Used by one thread at a time.
class Connection final : public Executor {
public:
    // `deferred_sync`: COMMIT writes the WAL without an fsync (synchronous=NORMAL), for a writer whose
    // sync thread makes each group durable before answering (SqliteOptions::sync_thread).
    // Checkpoints still fsync in that mode.
    static Result<std::unique_ptr<Connection>> Open(const SqliteOptions& o, bool reader, bool deferred_sync = false) {
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

    ~Connection() override {
        for (auto& [sql, stmt] : cache_) {
            sqlite3_finalize(stmt);
        }
        sqlite3_close_v2(handle_);
    }
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    Result<ResultSet> Query(std::string_view sql, std::span<const Value> params) override {
        auto stmt = Prepare(sql, params);
        if (!stmt) {
            return stmt.error();
        }
        sqlite3_stmt* s = *stmt;
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

    Result<void> QueryEach(std::string_view sql, std::span<const Value> params, const RowFn& fn) override {
        auto stmt = Prepare(sql, params);
        if (!stmt) {
            return stmt.error();
        }
        sqlite3_stmt* s = *stmt;
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

    Result<std::int64_t> Exec(std::string_view sql, std::span<const Value> params) override {
        auto stmt = Prepare(sql, params);
        if (!stmt) {
            return stmt.error();
        }
        sqlite3_stmt* s = *stmt;
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

    Result<std::vector<ColumnSource>> Describe(
        std::string_view sql, const std::function<bool(std::string_view, std::string_view)>& may_read
    ) override {
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

    Result<ScriptResult> RunScript(std::string_view sql, const ScriptOptions& o) override {
        ScriptWatch watch;
        sqlite3_set_authorizer(handle_, ScriptAuthorizer, &watch);
        auto deadline = o.deadline;  // read by the progress handler every 1000 VM steps
        sqlite3_progress_handler(handle_, 1000, PastDeadline, &deadline);
        struct Reset {
            sqlite3* h;
            ~Reset() {
                sqlite3_set_authorizer(h, nullptr, nullptr);
                sqlite3_progress_handler(h, 0, nullptr, nullptr);
            }
        } reset{handle_};
        auto failed = [&](int rc) -> Error {
            const int primary = rc & 0xFF;
            if (!watch.refused.empty()) {
                return MakeError(ErrorCode::kInvalidArgument, watch.refused);
            }
            if (primary == SQLITE_INTERRUPT) {
                return MakeError(ErrorCode::kInvalidArgument, "interrupted: the query ran past its time limit");
            }
            if (primary == SQLITE_BUSY || primary == SQLITE_LOCKED) {
                return SqliteError(handle_, rc, "script");
            }
            return MakeError(ErrorCode::kInvalidArgument, sqlite3_errmsg(handle_));
        };
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
                return failed(rc);
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
            for (;;) {
                if (keep && out.rows.size() >= o.max_rows) {
                    break;
                }
                const int step = sqlite3_step(s.get());
                if (step == SQLITE_DONE) {
                    break;
                }
                if (step != SQLITE_ROW) {
                    return failed(step);
                }
                if (!keep) {
                    break;  // not the statement whose rows are kept: its first step did its work
                }
                const int n = sqlite3_column_count(s.get());
                std::vector<Value> row;
                row.reserve(static_cast<std::size_t>(n));
                for (int i = 0; i < n; ++i) {
                    row.push_back(ColumnValue(s.get(), i));
                }
                out.rows.push_back(std::move(row));
            }
            if (keep) {
                out.columns.clear();
                for (int i = 0; i < sqlite3_column_count(s.get()); ++i) {
                    const char* type = sqlite3_column_decltype(s.get(), i);
                    std::string upper = type != nullptr ? type : "";
                    for (char& c : upper) {
                        c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
                    }
                    out.columns.push_back({sqlite3_column_name(s.get(), i), std::move(upper)});
                }
            }
        }
        if (!o.keep_rows && sqlite3_total_changes64(handle_) != changes_before) {
            out.affected_rows = static_cast<std::int64_t>(sqlite3_changes64(handle_));
        }
        out.schema_changed = watch.schema_changed;
        return out;
    }

    // Runs a statement without parameters (transaction control: BEGIN, SAVEPOINT, RELEASE, COMMIT),
    // from the statement cache: the writer runs several per write, and parsing them each time was a
    // measurable part of a create.
    Result<void> Raw(const char* sql) {
        auto r = Exec(sql, std::span<const Value>());
        if (!r) {
            return r.error();
        }
        return Ok();
    }

    // Runs several statements without parameters or caching.
    Result<void> Script(const char* sql) {
        const int rc = sqlite3_exec(handle_, sql, nullptr, nullptr, nullptr);
        if (rc != SQLITE_OK) {
            return SqliteError(handle_, rc, sql);
        }
        return Ok();
    }

    bool InTransaction() const { return sqlite3_get_autocommit(handle_) == 0; }

    void AfterCommit(std::function<void()> fn) override { after_commit_.push_back(std::move(fn)); }
    /// How many after-commit functions are pending (a savepoint's mark).
    std::size_t PendingAfterCommit() const { return after_commit_.size(); }
    /// Drops what the writes since `mark` asked for (their savepoint rolled back).
    void DropAfterCommit(std::size_t mark) { after_commit_.resize(std::min(mark, after_commit_.size())); }
    /// Takes every pending function (the transaction committed, or is dropped when it did not).
    std::vector<std::function<void()>> TakeAfterCommit() { return std::exchange(after_commit_, {}); }

    sqlite3* Handle() const { return handle_; }

    std::uint64_t stats_generation = 0;  // the statistics it loaded (readers; see Analyze)

private:
    explicit Connection(sqlite3* handle) : handle_(handle) {}

    Result<sqlite3_stmt*> Prepare(std::string_view sql, std::span<const Value> params) {
        sqlite3_stmt* s = nullptr;
        auto it = cache_.find(std::string(sql));
        if (it != cache_.end()) {
            s = it->second;
        } else {
            const char* tail = nullptr;
            const int rc = sqlite3_prepare_v3(
                handle_, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &s, &tail
            );
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

    static Value ColumnValue(sqlite3_stmt* s, int i) {
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

    sqlite3* handle_;
    std::unordered_map<std::string, sqlite3_stmt*> cache_;
    std::vector<std::function<void()>> after_commit_;
};

class SqliteDatabase final : public Database {
public:
    SqliteDatabase(SqliteOptions options, std::unique_ptr<Connection> writer, std::unique_ptr<Connection> checkpointer)
        : options_(std::move(options)),
          writer_(std::move(writer)),
          checkpointer_(std::move(checkpointer)) {
        // The WAL's length after each commit, for the checkpoints (see Checkpoint). Registering the
        // hook also turns off SQLite's own automatic checkpoint, which ran in the committing thread.
        sqlite3_wal_hook(
            writer_->Handle(),
            [](void* self, sqlite3*, const char*, int frames) {
                auto* db = static_cast<SqliteDatabase*>(self);
                db->wal_frames_.store(frames, std::memory_order_relaxed);
                if (frames >= kAutoCheckpointFrames) {
                    db->checkpoint_cv_.notify_one();
                }
                return SQLITE_OK;
            },
            this
        );
        analyze_after_ = options_.analyze_every;
        if (options_.sync_thread) {
            const char* main = sqlite3_db_filename(writer_->Handle(), "main");
            if (main != nullptr && *main != '\0') {
                wal_path_ = sqlite3_filename_wal(main);
            }
            sync_thread_ = std::thread([this] { RunSyncer(); });
        }
        thread_ = std::thread([this] { RunWriter(); });
        if (checkpointer_) {
            checkpoint_thread_ = std::thread([this] { RunCheckpointer(); });
        }
    }

    ~SqliteDatabase() override { SqliteDatabase::Close(); }
    SqliteDatabase(const SqliteDatabase&) = delete;
    SqliteDatabase& operator=(const SqliteDatabase&) = delete;

    Dialect GetDialect() const override { return Dialect::kSqlite; }

    Result<ResultSet> Read(std::string_view sql, std::span<const Value> params) override {
        auto conn = AcquireReader();
        if (!conn) {
            return conn.error();
        }
        auto r = (*conn)->Query(sql, params);
        ReleaseReader(std::move(*conn));
        return r;
    }

    Result<void> ReadEach(std::string_view sql, std::span<const Value> params, const RowFn& fn) override {
        auto conn = AcquireReader();
        if (!conn) {
            return conn.error();
        }
        auto r = (*conn)->QueryEach(sql, params, fn);
        ReleaseReader(std::move(*conn));
        return r;
    }

    Result<void> ReadTx(const ReadFn& fn) override {
        auto conn = AcquireReader();
        if (!conn) {
            return conn.error();
        }
        Connection& c = **conn;
        auto r = c.Raw("BEGIN");
        if (r) {
            r = fn(c);
            (void)c.Raw("COMMIT");
        }
        ReleaseReader(std::move(*conn));
        return r;
    }

    void SubmitWrite(WriteFn fn, WriteDone done) override {
        {
            std::lock_guard lock(mu_);
            if (!closing_) {
                queue_.push_back({std::move(fn), std::move(done), false});
                cv_.notify_one();
                return;
            }
        }
        done(MakeError(ErrorCode::kUnavailable, "database is closed"));
    }

    Result<void> WriteSchema(WriteFn fn) override {
        std::promise<Result<void>> promise;
        auto future = promise.get_future();
        {
            std::lock_guard lock(mu_);
            if (closing_) {
                return MakeError(ErrorCode::kUnavailable, "database is closed");
            }
            queue_.push_back({std::move(fn), [&promise](Result<void> r) { promise.set_value(std::move(r)); }, true});
            cv_.notify_one();
        }
        return future.get();
    }

    void SetCommitObserver(std::function<void()> observer) override {
        std::lock_guard lock(mu_);
        observer_ = std::move(observer);
    }

    void Close() override {
        {
            std::lock_guard lock(mu_);
            if (closing_) {
                return;
            }
            closing_ = true;
        }
        cv_.notify_all();
        if (thread_.joinable()) {
            thread_.join();
        }
        {
            std::lock_guard lock(sync_mu_);
            sync_stop_ = true;
        }
        sync_cv_.notify_all();
        if (sync_thread_.joinable()) {
            sync_thread_.join();  // after the writer: it drains what the writer handed over
        }
        if (wal_fd_ >= 0) {
            ::close(wal_fd_);
            wal_fd_ = -1;
        }
        {
            std::lock_guard lock(checkpoint_mu_);
            checkpoint_stop_ = true;
        }
        checkpoint_cv_.notify_all();
        if (checkpoint_thread_.joinable()) {
            checkpoint_thread_.join();
        }
        checkpointer_.reset();
        for (auto& shard : shards_) {
            std::lock_guard lock(shard.mu);
            shard.conns.clear();
        }
        writer_.reset();
    }

private:
    struct Pending {
        WriteFn fn;
        WriteDone done;
        bool schema = false;  // runs alone, foreign keys off (WriteSchema)
    };

    // A group the writer finished, waiting for the sync thread: its answers are given, and what it
    // asked to run after the commit is run, once the WAL holding it is durable.
    struct Finished {
        std::vector<WriteDone> done;
        std::vector<Result<void>> results;
        std::vector<std::function<void()>> after_commit;
        bool committed = false;  // false: rolled back, nothing to make durable
        bool any_write = false;  // at least one write of the group committed
    };

    // Reader connections live in shards picked by thread, so that I/O threads rarely share a lock.
    struct Shard {
        std::mutex mu;
        std::vector<std::unique_ptr<Connection>> conns;
    };
    static constexpr std::size_t kShards = 8;

    static std::size_t ShardIndex() {
        thread_local const std::size_t index = std::hash<std::thread::id>()(std::this_thread::get_id()) % kShards;
        return index;
    }

    Result<std::unique_ptr<Connection>> AcquireReader() {
        const std::uint64_t generation = stats_generation_.load(std::memory_order_acquire);
        Shard& shard = shards_[ShardIndex()];
        {
            std::lock_guard lock(shard.mu);
            while (!shard.conns.empty()) {
                auto c = std::move(shard.conns.back());
                shard.conns.pop_back();
                if (c->stats_generation == generation) {
                    return c;
                }
                // Planned with older statistics (see Analyze): closed (outside this loop's use).
            }
        }
        auto c = Connection::Open(options_, /*reader=*/true);
        if (c) {
            (*c)->stats_generation = generation;
        }
        return c;
    }

    void ReleaseReader(std::unique_ptr<Connection> conn) {
        if (conn->InTransaction()) {
            (void)conn->Raw("ROLLBACK");
        }
        (void)conn->TakeAfterCommit();  // a reader never commits a write
        Shard& shard = shards_[ShardIndex()];
        std::lock_guard lock(shard.mu);
        if (shard.conns.size() < std::max<std::size_t>(2, options_.max_readers / kShards)) {
            shard.conns.push_back(std::move(conn));
        }
    }

    void RunWriter() {
        Analyze();  // statistics for the planner as the data stands at start
        std::vector<Pending> batch;
        std::vector<Result<void>> results;
        for (;;) {
            {
                std::unique_lock lock(mu_);
                cv_.wait(lock, [&] { return closing_ || !queue_.empty(); });
                if (queue_.empty()) {
                    return;  // closing and drained
                }
                // A schema change runs alone; a group stops before the next one.
                const std::size_t n = std::min(queue_.size(), options_.max_group);
                for (std::size_t i = 0; i < n; ++i) {
                    if (queue_.front().schema && !batch.empty()) {
                        break;
                    }
                    batch.push_back(std::move(queue_.front()));
                    queue_.pop_front();
                    if (batch.back().schema) {
                        break;
                    }
                }
            }
            Finished f;
            if (batch.front().schema) {
                Result<void> r = CommitSchema(batch.front().fn);
                f.committed = f.any_write = static_cast<bool>(r);
                results.push_back(std::move(r));
                Analyze();  // new tables and indexes get their statistics at once
            } else {
                std::tie(f.committed, f.any_write) = CommitGroup(batch, results);
                writes_since_analyze_ += batch.size();
                if (options_.analyze_every != 0 && writes_since_analyze_ >= analyze_after_) {
                    analyze_after_ = std::min<std::size_t>(analyze_after_ * 2, kMaxAnalyzeEvery);
                    Analyze();
                }
            }
            f.after_commit = writer_->TakeAfterCommit();
            if (!f.committed) {
                f.after_commit.clear();
            }
            f.results = std::move(results);
            for (auto& p : batch) {
                f.done.push_back(std::move(p.done));
            }
            batch.clear();
            results.clear();
            if (options_.sync_thread) {
                {
                    std::lock_guard lock(sync_mu_);
                    synced_.push_back(std::move(f));
                }
                sync_cv_.notify_one();
            } else {
                Settle(f, Ok());  // synchronous=FULL: COMMIT returned after the fsync
            }
            Checkpoint();
        }
    }

    // The sync thread: one fsync of the WAL covers every group the writer finished meanwhile (their
    // pages were written before they were handed over), so the writer executes group n+1 while
    // group n's fsync runs, instead of waiting for it. Groups are settled in commit order.
    void RunSyncer() {
        std::vector<Finished> groups;
        for (;;) {
            {
                std::unique_lock lock(sync_mu_);
                sync_cv_.wait(lock, [&] { return sync_stop_ || !synced_.empty(); });
                if (synced_.empty()) {
                    return;  // stopping, and the writer (joined first) has nothing left
                }
                groups.swap(synced_);
            }
            const bool any_committed =
                std::any_of(groups.begin(), groups.end(), [](const Finished& g) { return g.committed; });
            const Result<void> synced = any_committed ? SyncWal() : Ok();
            for (auto& g : groups) {
                Settle(g, synced);
            }
            groups.clear();
        }
    }

    // fdatasync of the WAL through a descriptor of our own (opened on first use: the file exists
    // once a group has committed). Any descriptor of the file syncs the file's data.
    Result<void> SyncWal() {
        if (wal_path_.empty()) {
            return Ok();  // an in-memory or temporary database: nothing to make durable
        }
        if (wal_fd_ < 0) {
            wal_fd_ = ::open(wal_path_.c_str(), O_RDONLY | O_CLOEXEC);
            if (wal_fd_ < 0) {
                return MakeError(
                    ErrorCode::kInternal, "cannot open the WAL to sync it: " + std::system_category().message(errno)
                );
            }
        }
        if (::fdatasync(wal_fd_) != 0) {
            return MakeError(ErrorCode::kInternal, "cannot sync the WAL: " + std::system_category().message(errno));
        }
        return Ok();
    }

    // Runs what the committed writes asked for and the observer, then answers the writes. When the
    // WAL could not be made durable the committed writes are answered with that error (they are
    // visible, so caches are still told).
    void Settle(Finished& g, const Result<void>& synced) {
        if (g.committed) {
            for (auto& fn : g.after_commit) {
                fn();
            }
            if (g.any_write) {
                std::function<void()> observer;
                {
                    std::lock_guard lock(mu_);
                    observer = observer_;
                }
                if (observer) {
                    observer();
                }
            }
            if (!synced) {
                for (auto& r : g.results) {
                    if (r) {
                        r = synced.error();
                    }
                }
            }
        }
        for (std::size_t i = 0; i < g.done.size(); ++i) {
            if (g.done[i]) {
                g.done[i](std::move(g.results[i]));
            }
        }
    }

    // Keeps the WAL bounded under any load, in two parts.
    // - Copying WAL frames into the database file (and its fsync) happens on a checkpointer thread of
    //   its own, as PASSIVE checkpoints (they never block the writer or readers) whenever the WAL
    //   passes 1000 pages, at most every 50 ms (RunCheckpointer). SQLite's default runs the same
    //   checkpoint inside the committing thread after every commit past 1000 pages: with a steady
    //   write load that put a database fsync into nearly every group commit.
    // - The WAL only starts over from its beginning when a writer finds it wholly copied and no reader
    //   using it, which a steady stream of overlapping reads prevents (checkpoint starvation): the
    //   file then grows without end. So once it passes wal_truncate_frames, the writer (between
    //   groups: no write in flight) runs a TRUNCATE checkpoint, which waits for readers of older
    //   snapshots (statements: milliseconds), copies what is left (little: the checkpointer kept up)
    //   and empties the file. It waits at most checkpoint_wait; if a long read is still running it
    //   gives up and tries again after the next group, so writes are never held up long.
    void Checkpoint() {
        if (options_.wal_truncate_frames == 0 ||
            wal_frames_.load(std::memory_order_relaxed) < static_cast<int>(options_.wal_truncate_frames)) {
            return;
        }
        sqlite3* h = writer_->Handle();
        sqlite3_busy_timeout(h, static_cast<int>(options_.checkpoint_wait.count()));
        int log = 0;
        int copied = 0;
        const int rc = sqlite3_wal_checkpoint_v2(h, nullptr, SQLITE_CHECKPOINT_TRUNCATE, &log, &copied);
        sqlite3_busy_timeout(h, static_cast<int>(options_.busy_timeout.count()));
        ++checkpoints_;
        if (rc == SQLITE_OK) {
            wal_frames_.store(0, std::memory_order_relaxed);
        } else {
            ++checkpoints_busy_;
        }
    }

    void RunCheckpointer() {
        auto last = std::chrono::steady_clock::now() - kPassiveEvery;
        std::unique_lock lock(checkpoint_mu_);
        for (;;) {
            checkpoint_cv_.wait_for(lock, kPassiveEvery, [&] {
                return checkpoint_stop_ || wal_frames_.load(std::memory_order_relaxed) >= kAutoCheckpointFrames;
            });
            if (checkpoint_stop_) {
                return;
            }
            const auto since = std::chrono::steady_clock::now() - last;
            if (since < kPassiveEvery) {
                checkpoint_cv_.wait_for(lock, kPassiveEvery - since, [&] { return checkpoint_stop_; });
                if (checkpoint_stop_) {
                    return;
                }
            }
            if (wal_frames_.load(std::memory_order_relaxed) < kAutoCheckpointFrames) {
                continue;
            }
            lock.unlock();
            (void
            )sqlite3_wal_checkpoint_v2(checkpointer_->Handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
            last = std::chrono::steady_clock::now();
            lock.lock();
        }
    }

    // One transaction for the whole group; each write in its own savepoint. Returns whether the
    // transaction committed and whether a write of it did.
    std::pair<bool, bool> CommitGroup(std::vector<Pending>& batch, std::vector<Result<void>>& results) {
        Connection& c = *writer_;
        auto begin = c.Raw("BEGIN IMMEDIATE");
        if (!begin) {
            results.assign(batch.size(), begin.error());
            return {false, false};
        }
        bool any_write = false;
        for (auto& p : batch) {
            ++writes_;
            if (options_.fail_nth_write_for_test != 0 && writes_ == options_.fail_nth_write_for_test) {
                results.emplace_back(MakeError(ErrorCode::kInternal, "injected write failure"));
                continue;
            }
            auto sp = c.Raw("SAVEPOINT w");
            if (!sp) {
                results.emplace_back(sp.error());
                continue;
            }
            const std::size_t mark = c.PendingAfterCommit();
            Result<void> r = RunOne(p.fn, c);
            if (r) {
                r = c.Raw("RELEASE w");
            }
            if (!r) {
                (void)c.Raw("ROLLBACK TO w");
                (void)c.Raw("RELEASE w");
                c.DropAfterCommit(mark);
            } else {
                any_write = true;
            }
            results.push_back(std::move(r));
        }
        auto commit = c.Raw("COMMIT");
        if (!commit) {
            (void)c.Raw("ROLLBACK");
            for (auto& r : results) {
                if (r) {
                    r = commit.error();
                }
            }
        }
        return {static_cast<bool>(commit), any_write};
    }

    // One schema change in its own transaction with foreign keys off (the pragma is a no-op inside a
    // transaction, so it is set around it), every foreign key checked before the commit.
    Result<void> CommitSchema(const WriteFn& fn) {
        Connection& c = *writer_;
        ++writes_;
        if (auto off = c.Raw("PRAGMA foreign_keys=OFF"); !off) {
            return off;
        }
        Result<void> r = c.Raw("BEGIN IMMEDIATE");
        if (r) {
            r = RunOne(fn, c);
        }
        if (r) {
            auto violations = c.Query("PRAGMA foreign_key_check", {});
            if (!violations) {
                r = violations.error();
            } else if (!violations->rows.empty()) {
                r = MakeError(
                    ErrorCode::kConflict,
                    "existing records of " + AsString(violations->rows.front()[0]) + " reference missing records"
                );
            }
        }
        if (r) {
            r = c.Raw("COMMIT");
        }
        if (!r && c.InTransaction()) {
            (void)c.Raw("ROLLBACK");
        }
        (void)c.Raw("PRAGMA foreign_keys=ON");
        return r;
    }

    // Refreshes the query planner's statistics (sqlite_stat1). Without them SQLite picks an equality
    // index over an ORDER BY index even when every row matches (`owner = ?` over one owner's notes),
    // and sorts the whole table per page. analysis_limit keeps the cost bounded on large tables.
    //
    // Other connections do not see new statistics: SQLite loads them with the schema, and ANALYZE
    // does not change the schema. A reader that kept the statistics of an empty outbox planned
    // `_events WHERE id > ? ORDER BY id` as a full scan and a sort, which under a write load cost more
    // than the writes. So each ANALYZE moves stats_generation_, and a reader connection opened before
    // it is closed when next released and a fresh one opened in its place (AcquireReader).
    // ANALYZE runs at start, after schema changes, and after analyze_every writes, then 2x, 4x ...
    // as many (up to 1,000,000): statistics stay within a factor of two of growing tables without an
    // ANALYZE (and fresh connections) every few thousand writes under a steady load.
    //
    // Index by index, not `ANALYZE` of everything: for a table without an index ANALYZE records only
    // its row count, and counts it by reading the whole table whatever analysis_limit says — a
    // second per 2 GB outbox with the writer paused (every write waiting), measured on a 1.3M-row
    // `_events`; the 3 indexes of a 1.3M-row table took 40 ms. Such row counts are then dropped: the
    // planner's default for a table it has no statistics for plans rowid ranges as it should, where
    // a stale count (an empty table's) had planned the outbox read as a full scan and a sort.
    void Analyze() {
        writes_since_analyze_ = 0;
        Connection& c = *writer_;
        auto indexes = c.Query("SELECT name FROM sqlite_schema WHERE type = 'index'", {});
        if (!indexes) {
            return;  // statistics are an optimisation: a failure leaves the old ones
        }
        std::string script = "PRAGMA analysis_limit=1000;";
        for (const auto& row : indexes->rows) {
            std::string name = AsString(row[0]);
            std::string quoted = "\"";
            for (const char ch : name) {
                quoted += ch;
                if (ch == '"') {
                    quoted += '"';
                }
            }
            script += " ANALYZE " + quoted + "\";";
        }
        if (!indexes->rows.empty()) {
            script += " DELETE FROM sqlite_stat1 WHERE idx IS NULL;";
        }
        if (auto r = c.Script(script.c_str()); !r) {
            return;
        }
        stats_generation_.fetch_add(1, std::memory_order_acq_rel);
    }

    static Result<void> RunOne(const WriteFn& fn, Connection& c) {
        // The writer thread serves every request: an exception escaping one write function must fail
        // that write, not the process or its neighbours. This is the one broad catch outside the router.
        try {
            return fn(c);
        } catch (const std::exception& e) {
            return MakeError(ErrorCode::kInternal, std::string("write threw: ") + e.what());
        }
    }

    SqliteOptions options_;
    std::unique_ptr<Connection> writer_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Pending> queue_;
    bool closing_ = false;
    std::function<void()> observer_;        // under mu_
    std::atomic<int> wal_frames_{0};        // set by the WAL hook (writer thread)
    std::size_t checkpoints_ = 0;           // writer thread only
    std::size_t checkpoints_busy_ = 0;      // writer thread only: gave up waiting for a reader
    std::size_t writes_ = 0;                // writer thread only
    std::size_t writes_since_analyze_ = 0;  // writer thread only
    std::size_t analyze_after_ = 0;         // writer thread only: writes before the next ANALYZE
    std::atomic<std::uint64_t> stats_generation_{0};
    std::array<Shard, kShards> shards_;
    std::thread thread_;
    std::unique_ptr<Connection> checkpointer_;  // its own connection: PASSIVE checkpoints
    std::mutex checkpoint_mu_;
    std::condition_variable checkpoint_cv_;
    bool checkpoint_stop_ = false;  // under checkpoint_mu_
    std::thread checkpoint_thread_;
    std::string wal_path_;  // empty: no WAL file to sync
    int wal_fd_ = -1;       // sync thread only
    std::mutex sync_mu_;
    std::condition_variable sync_cv_;
    std::vector<Finished> synced_;  // under sync_mu_: finished groups, in commit order
    bool sync_stop_ = false;        // under sync_mu_
    std::thread sync_thread_;
};

}  // namespace

Result<std::unique_ptr<Database>> OpenSqlite(const SqliteOptions& options) {
    auto writer = Connection::Open(options, /*reader=*/false, options.sync_thread);
    if (!writer) {
        return writer.error();
    }
    auto checkpointer = Connection::Open(options, /*reader=*/false);
    if (!checkpointer) {
        return checkpointer.error();
    }
    return std::unique_ptr<Database>(
        std::make_unique<SqliteDatabase>(options, std::move(*writer), std::move(*checkpointer))
    );
}

}  // namespace basalt::db
