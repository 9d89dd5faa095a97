// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/result.hpp"

namespace basalt::obs {
class Exposition;
}

namespace basalt::db {

/// The SQL dialect of a backend; the query compiler and DDL writers branch on it.
enum class Dialect { kSqlite, kPostgres };

/// A bound parameter or a column value. Booleans travel as integers (0/1).
using Value = std::variant<std::nullptr_t, std::int64_t, double, std::string>;

/// A materialised query result: column names and rows of values.
struct ResultSet {
    std::vector<std::string> columns;
    std::vector<std::vector<Value>> rows;

    /// Index of a column by name, or -1.
    int ColumnIndex(std::string_view name) const;
};

/// Convenience accessors; a NULL or a value of another type yields the fallback.
std::string AsString(const Value& v, std::string fallback = {});
std::int64_t AsInt(const Value& v, std::int64_t fallback = 0);
bool IsNull(const Value& v);

/// One row of a streamed query: typed access to the columns without copies. Views (Text) are valid
/// only while the callback that received the row runs.
class RowView {
public:
    enum class Type { kNull, kInt, kFloat, kText };
    virtual ~RowView() = default;
    virtual int Size() const = 0;
    virtual std::string_view Name(int column) const = 0;
    virtual Type TypeOf(int column) const = 0;
    virtual std::int64_t Int(int column) const = 0;
    virtual double Float(int column) const = 0;
    virtual std::string_view Text(int column) const = 0;
};

/// Where one result column of a query comes from: the table and column it reads directly, or empty
/// strings for an expression.
struct ColumnSource {
    std::string name;    // the result column's name (its alias)
    std::string table;   // the origin table, or empty
    std::string column;  // the origin column, or empty
};

/// How Executor::RunScript runs a script of statements (the superusers' SQL console).
struct ScriptOptions {
    /// Keep the rows of the last statement (at most `max_rows`; it is not stepped further). When
    /// false nothing is kept and `affected_rows` is reported instead (writes).
    bool keep_rows = true;
    std::size_t max_rows = 1000;
    /// Statements still running past it are interrupted (the script fails).
    std::chrono::steady_clock::time_point deadline = std::chrono::steady_clock::time_point::max();
    /// Stop before the first statement that would write (see ScriptResult::needs_writer).
    bool read_only = false;
};

/// One result column of a script's last statement.
struct ScriptColumn {
    std::string name;
    std::string type;  // the declared type of the column it reads, upper-cased ("TEXT"); "" for expressions
};

/// What a script did.
struct ScriptResult {
    std::vector<ScriptColumn> columns;     // of the last statement, when rows are kept
    std::vector<std::vector<Value>> rows;  // its rows, at most max_rows
    /// Without kept rows: the rows the last data-changing statement changed (0 when the script
    /// changed none).
    std::int64_t affected_rows = 0;
    /// With read_only: a statement would write. It and the statements after it did not run (those
    /// before it only read): run the whole script again where writes are allowed.
    bool needs_writer = false;
    /// A statement created, altered or dropped a table, index, view or trigger, or wrote to
    /// `_collections`: definitions derived from the schema may be stale.
    bool schema_changed = false;
};

/// Called once per row of a streamed query; returning an Error stops the query with it.
using RowFn = std::function<Result<void>(const RowView&)>;

/// Runs statements on one connection. Placeholders are `?` in order; backends translate them.
/// Not thread-safe: an Executor belongs to the call it was passed to.
class Executor {
public:
    virtual ~Executor() = default;
    /// Runs a statement that returns rows. Fails with kInternal on SQL errors, kUnavailable when busy.
    virtual Result<ResultSet> Query(std::string_view sql, std::span<const Value> params) = 0;
    /// Runs a statement that returns rows and hands each row to `fn` as it is read (nothing is
    /// materialised). Fails as Query does, or with `fn`'s error.
    virtual Result<void> QueryEach(std::string_view sql, std::span<const Value> params, const RowFn& fn) = 0;

    /// Runs a statement and returns the number of rows it changed. Unique or foreign-key violations
    /// fail with kConflict; busy/locked past the timeout with kUnavailable.
    virtual Result<std::int64_t> Exec(std::string_view sql, std::span<const Value> params) = 0;

    /// Compiles one read-only SELECT without running it and tells where each result column comes
    /// from. kInvalidArgument (with the engine's message) for invalid SQL, several statements, a
    /// statement that would write, or one that reads a column `may_read` refuses (table, column:
    /// every column any part of the statement reads, expressions and subqueries included).
    virtual Result<std::vector<ColumnSource>> Describe(
        std::string_view select_sql, const std::function<bool(std::string_view, std::string_view)>& may_read
    ) = 0;

    /// Runs `sql`, one or several `;`-separated statements, in order (the superusers' SQL console).
    /// Each statement runs until it is done or has produced its first row (a data change completes
    /// in its first step); with `keep_rows` the last one is stepped for up to `max_rows` rows. Transaction control
    /// (BEGIN, COMMIT, SAVEPOINT, ...), ATTACH and DETACH, and pragmas that would change the connection's settings
    /// (journal_mode, synchronous, foreign_keys, query_only, ...) are refused: the script runs inside the caller's
    /// transaction on a connection basalt keeps. kInvalidArgument with the engine's message for invalid SQL, a failing
    /// statement, a refused one or the deadline; kUnavailable when busy. Statements that ran before a failure are not
    /// undone here: run writes inside a write, whose savepoint is.
    virtual Result<ScriptResult> RunScript(std::string_view sql, const ScriptOptions& options) = 0;

    /// Inside a write: runs `fn` once the transaction holding this write has committed durably, on
    /// the writer thread, before the write's WriteDone. Never runs when this write (its savepoint) or
    /// its transaction rolls back. Keep `fn` short and non-blocking (forget a cache, wake a thread).
    /// On a reader connection it is never called.
    virtual void AfterCommit(std::function<void()> fn) = 0;

    Result<ResultSet> Query(std::string_view sql, std::initializer_list<Value> params = {}) {
        return Query(sql, std::span<const Value>(params.begin(), params.size()));
    }
    Result<std::int64_t> Exec(std::string_view sql, std::initializer_list<Value> params = {}) {
        return Exec(sql, std::span<const Value>(params.begin(), params.size()));
    }
};

/// A unit of write work: runs inside its own savepoint of a (possibly shared) transaction. When it
/// returns an error, everything it did is rolled back and the error is its result; its neighbours in
/// the same group are unaffected.
using WriteFn = std::function<Result<void>(Executor&)>;
/// Called once with the outcome of a write, after the transaction holding it committed durably
/// (or failed). Runs on the writer thread: keep it short (post elsewhere).
using WriteDone = std::function<void(Result<void>)>;
/// A read-only unit of work on one connection, for several statements that must see one snapshot.
using ReadFn = std::function<Result<void>(Executor&)>;

/// The storage engine seen by services. Reads run on reader connections on the calling thread;
/// every write goes through one writer that commits concurrent writes in groups (one transaction and
/// one fsync per group, a savepoint per write). An acknowledged write is durable.
/// Thread-safe.
class Database {
public:
    virtual ~Database() = default;

    virtual Dialect GetDialect() const = 0;

    /// One read statement on a reader connection (short, indexed reads may run on I/O threads).
    virtual Result<ResultSet> Read(std::string_view sql, std::span<const Value> params) = 0;
    Result<ResultSet> Read(std::string_view sql, std::initializer_list<Value> params = {}) {
        return Read(sql, std::span<const Value>(params.begin(), params.size()));
    }
    /// One streamed read statement on a reader connection (see Executor::QueryEach).
    virtual Result<void> ReadEach(std::string_view sql, std::span<const Value> params, const RowFn& fn) = 0;

    /// Several reads in one read transaction (one snapshot).
    virtual Result<void> ReadTx(const ReadFn& fn) = 0;

    /// Queues `fn` for the writer; `done` gets the outcome once it is durable. Never blocks on I/O.
    /// After Close() `done` is called at once with kUnavailable. `fn` runs under the submitting
    /// thread's span (obs::CurrentSpan), so what it writes to the outbox and the job queue, and what
    /// it logs, carries the trace of the request (or job) that asked for it.
    virtual void SubmitWrite(WriteFn fn, WriteDone done) = 0;

    /// Blocking form of SubmitWrite, for startup, the CLI and tests. Never call it on an I/O thread.
    Result<void> Write(WriteFn fn);
    /// One statement in a write of its own (blocking, as Write); returns how many rows it changed.
    Result<std::int64_t> WriteOne(std::string sql, std::vector<Value> params);

    /// A schema change: `fn` runs alone in its own transaction with foreign-key enforcement off, so
    /// that tables can be rebuilt and dropped without cascading; before the commit every foreign key
    /// is checked and a violation fails the change with kConflict. Blocking, like Write.
    virtual Result<void> WriteSchema(WriteFn fn) = 0;

    /// Called on the writer thread after every transaction that committed at least one write (schema
    /// changes too), after the writes' own AfterCommit functions and before their WriteDone: what
    /// follows any commit (the data version, waking event consumers) is wired here once, so no caller
    /// can forget it. Set once, before the first write.
    virtual void SetCommitObserver(std::function<void()> observer) = 0;

    /// A token for "reading `table` by rowid yields `column` in order" (every value text, none
    /// below the one before it in BINARY order), or 0 when that is not known to hold. A sort by
    /// the column can then read the table by rowid instead of walking an index with a row lookup
    /// per entry (a list sorted by `created`). The first call for a pair starts a check in the
    /// background and answers 0. A caller that read with a non-zero token asks again after the read:
    /// another answer means a write may have broken the order before the read, which must then be
    /// done again the plain way. Other processes' writes are noticed within about a second. Thread-safe.
    virtual std::uint64_t RowOrderToken(std::string_view /*table*/, std::string_view /*column*/) { return 0; }

    /// Finishes queued writes, stops the writer, closes connections. Idempotent.
    virtual void Close() = 0;

    /// The engine's metrics (basalt_db_*: the write queue, groups, commit and sync latency, reader
    /// connections opened, checkpoints, the WAL's size). Thread-safe; a backend may write none.
    virtual void CollectMetrics(obs::Exposition& /*out*/) const {}
};

}  // namespace basalt::db
