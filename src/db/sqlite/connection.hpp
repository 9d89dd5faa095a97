// SPDX-License-Identifier: MIT
// One SQLite connection (src/db/sqlite only: the implementation of OpenSqlite, not an interface).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <sqlite3.h>

#include "db/database.hpp"
#include "db/sqlite/sqlite_database.hpp"

namespace basalt::db::sqlite {

/// An SQLite result code as an Error: busy, locked and full are kUnavailable, constraints kConflict.
Error SqliteError(sqlite3* handle, int rc, std::string_view context);

/// One SQLite connection with a cache of prepared statements. Used by one thread at a time.
/// connection.cpp (opening, statements), script.cpp (RunScript).
class Connection final : public Executor {
public:
    /// `deferred_sync`: COMMIT writes the WAL without an fsync (synchronous=NORMAL), for a writer
    /// whose sync thread makes each group durable before answering (SqliteOptions::sync_thread).
    /// Checkpoints still fsync in that mode.
    static Result<std::unique_ptr<Connection>> Open(const SqliteOptions& o, bool reader, bool deferred_sync = false);

    ~Connection() override;
    Connection(const Connection&) = delete;
    Connection& operator=(const Connection&) = delete;

    Result<ResultSet> Query(std::string_view sql, std::span<const Value> params) override;
    Result<void> QueryEach(std::string_view sql, std::span<const Value> params, const RowFn& fn) override;
    Result<std::int64_t> Exec(std::string_view sql, std::span<const Value> params) override;
    Result<std::vector<ColumnSource>> Describe(
        std::string_view sql, const std::function<bool(std::string_view, std::string_view)>& may_read
    ) override;
    Result<ScriptResult> RunScript(std::string_view sql, const ScriptOptions& o) override;

    /// Runs a statement without parameters (transaction control: BEGIN, SAVEPOINT, RELEASE, COMMIT),
    /// from the statement cache: the writer runs several per write, and parsing them each time was a
    /// measurable part of a create.
    Result<void> Raw(const char* sql) {
        BASALT_TRY(Exec(sql, std::span<const Value>()));
        return Ok();
    }

    /// Runs several statements without parameters or caching.
    Result<void> Script(const char* sql);

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

    /// The cached (or newly prepared) statement for `sql` with `params` bound.
    Result<sqlite3_stmt*> Prepare(std::string_view sql, std::span<const Value> params);

    sqlite3* handle_;
    std::unordered_map<std::string, sqlite3_stmt*> cache_;
    std::vector<std::function<void()>> after_commit_;
};

/// Column `i` of the current row of `s` as a Value.
Value ColumnValue(sqlite3_stmt* s, int i);

}  // namespace basalt::db::sqlite
