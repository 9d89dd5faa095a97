// SPDX-License-Identifier: MIT
// Which columns follow their table's rowid order, kept true while the table is written to
// (Database::RowOrderToken; src/db/sqlite only). A list sorted by `created` then reads its table by
// rowid instead of walking the `created` index with one table lookup per entry (half the cost of a
// filtered, sorted page: docs/benchmarks.md, W2).
//
// A pair (table, column) is checked once by reading the table in rowid order, a chunk between two
// write groups, on the writer connection (so no write slips between the chunks unseen). From then on
// SQLite's pre-update hook on the writer connection sees every row this process changes before its
// commit: an insert keeps the order when its rowid is past the last one and its value is not below
// the last value; an update that changes the column, an insert elsewhere, a value that is not text
// break it. A broken pair is checked again later (backing off). Commits by other processes and
// schema changes are not seen row by row: they forget everything (PRAGMA data_version and
// schema_version, compared before each commit and between groups, at least once a second).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <sqlite3.h>

namespace basalt::db::sqlite {

class Connection;

class RowOrders {
public:
    /// Rows a check reads per chunk (one chunk between two write groups).
    static constexpr std::int64_t kChunkRows = 16384;

    RowOrders() = default;
    RowOrders(const RowOrders&) = delete;
    RowOrders& operator=(const RowOrders&) = delete;

    /// Any thread: the token of (table, column), 0 unless its order is known to hold. The first call
    /// for a pair asks the writer for a check (Wanted() turns true, `asked` is set).
    std::uint64_t Token(std::string_view table, std::string_view column, bool& asked);
    /// Something for Refresh to do: a check to start or go on with.
    bool Wanted() const { return wanted_.load(std::memory_order_acquire); }
    /// Some pair is known (the writer then looks for other processes' commits once a second).
    bool Any() const { return any_.load(std::memory_order_acquire); }

    // --- writer thread only ---
    /// Installs the pre-update hook on the writer connection.
    void Install(sqlite3* writer);
    /// Between transactions: forgets everything when another process committed or the schema
    /// changed, then reads one chunk of each pending check.
    void Refresh(Connection& writer);
    /// In a transaction, before its COMMIT: forgets everything when the schema changed in it.
    void BeforeCommit(Connection& writer);
    /// Forgets everything (a schema change commits; a transaction rolled back as a whole).
    void Reset();
    /// A write's savepoint begins: what the hook changes from here can be undone.
    void Mark() { journal_.clear(); }
    /// That savepoint rolled back: the hook's changes since Mark() are undone.
    void Undo();

private:
    struct Tracker;
    // A tracker's state before a write changed it, put back when that write rolls back.
    struct Saved {
        Tracker* tracker;
        int phase;
        bool any_row;
        std::int64_t upto;
        std::string last;
        std::uint64_t token;
    };

    static void OnPreupdate(
        void* self, sqlite3* db, int op, const char* schema, const char* table, sqlite3_int64 key1, sqlite3_int64 key2
    );
    void Change(Tracker& t, sqlite3* db, int op, sqlite3_int64 key1, sqlite3_int64 key2);
    void Break(Tracker& t);
    void Save(Tracker& t);
    void Start(Connection& writer, Tracker& t);
    void CheckChunk(Connection& writer, Tracker& t);
    void Holds(Tracker& t);
    bool ExternalChange(Connection& writer);

    std::mutex mu_;
    std::unordered_map<std::string, std::shared_ptr<Tracker>> by_key_;  // under mu_
    std::atomic<bool> wanted_{false};
    std::atomic<bool> any_{false};
    std::atomic<std::uint64_t> generation_{0};
    // Writer thread only.
    std::vector<std::shared_ptr<Tracker>> active_;
    std::vector<Saved> journal_;
    std::int64_t data_version_ = -1;
    std::int64_t schema_version_ = -1;
};

}  // namespace basalt::db::sqlite
