// SPDX-License-Identifier: MIT
// RowOrders: see row_order.hpp.
#include "db/sqlite/row_order.hpp"

#include <algorithm>
#include <limits>
#include <utility>

#include "db/sqlite/connection.hpp"

namespace basalt::db::sqlite {

namespace {

// A broken pair is checked again after this, doubling up to the maximum.
constexpr std::chrono::seconds kFirstRecheck{60};
constexpr std::chrono::seconds kMaxRecheck{3600};

std::string QuoteName(std::string_view name) {
    std::string out = "\"";
    for (const char ch : name) {
        out += ch;
        if (ch == '"') {
            out += '"';
        }
    }
    out += '"';
    return out;
}

std::int64_t PragmaInt(Connection& c, const char* sql) {
    auto r = c.Query(sql, {});
    if (!r || r->rows.empty() || r->rows[0].empty()) {
        return -2;  // unknown: differs from any value read before, so everything is forgotten
    }
    return AsInt(r->rows[0][0], -2);
}

}  // namespace

struct RowOrders::Tracker {
    enum class Phase { kNew, kChecking, kHolds, kBroken };

    std::string table;
    std::string column;
    std::atomic<std::uint64_t> token{0};
    // Writer thread only.
    Phase phase = Phase::kNew;
    int column_index = -1;
    bool any_row = false;   // `upto` and `last` describe a row
    std::int64_t upto = 0;  // the highest rowid checked (kChecking), or an upper bound of the table's (kHolds)
    std::string last;       // the column's value at `upto`: no row has a greater one
    std::chrono::steady_clock::time_point recheck_at;
    std::chrono::seconds recheck_after = kFirstRecheck;
};

std::uint64_t RowOrders::Token(std::string_view table, std::string_view column, bool& asked) {
    std::string key;
    key.reserve(table.size() + column.size() + 1);
    key.append(table).push_back('\0');
    key.append(column);
    std::lock_guard lock(mu_);
    auto it = by_key_.find(key);
    if (it != by_key_.end()) {
        return it->second->token.load(std::memory_order_acquire);
    }
    auto t = std::make_shared<Tracker>();
    t->table = std::string(table);
    t->column = std::string(column);
    by_key_.emplace(std::move(key), std::move(t));
    any_.store(true, std::memory_order_release);
    wanted_.store(true, std::memory_order_release);
    asked = true;
    return 0;
}

void RowOrders::Install(sqlite3* writer) {
    sqlite3_preupdate_hook(writer, &RowOrders::OnPreupdate, this);
}

void RowOrders::OnPreupdate(
    void* self, sqlite3* db, int op, const char* schema, const char* table, sqlite3_int64 key1, sqlite3_int64 key2
) {
    auto* rows = static_cast<RowOrders*>(self);
    if (rows->active_.empty() || std::string_view(schema) != "main") {
        return;
    }
    for (const auto& t : rows->active_) {
        if (t->table == table) {
            rows->Change(*t, db, op, key1, key2);
        }
    }
}

void RowOrders::Change(Tracker& t, sqlite3* db, int op, sqlite3_int64 key1, sqlite3_int64 key2) {
    if (t.phase != Tracker::Phase::kChecking && t.phase != Tracker::Phase::kHolds) {
        return;
    }
    const bool checking = t.phase == Tracker::Phase::kChecking;
    if (op == SQLITE_DELETE) {
        // Rows taken away leave the others in order. The top row gone, the next insert may take its
        // rowid again (SQLite gives the highest rowid plus one): `last` stays an upper bound.
        if (!checking && t.any_row && key1 == t.upto) {
            Save(t);
            --t.upto;
        }
        return;
    }
    sqlite3_value* now = nullptr;
    if (sqlite3_preupdate_new(db, t.column_index, &now) != SQLITE_OK || now == nullptr) {
        Break(t);
        return;
    }
    if (op == SQLITE_UPDATE) {
        sqlite3_value* before = nullptr;
        if (sqlite3_preupdate_old(db, t.column_index, &before) != SQLITE_OK || before == nullptr) {
            Break(t);
            return;
        }
        const bool same_value = sqlite3_value_type(before) == SQLITE_TEXT && sqlite3_value_type(now) == SQLITE_TEXT &&
                                sqlite3_value_bytes(before) == sqlite3_value_bytes(now) &&
                                std::string_view(reinterpret_cast<const char*>(sqlite3_value_text(before))) ==
                                    std::string_view(reinterpret_cast<const char*>(sqlite3_value_text(now)));
        // Checking: rows past the checked part are read later as they are then.
        const bool unchecked = checking && (!t.any_row || (key1 > t.upto && key2 > t.upto));
        if (!unchecked && (key1 != key2 || !same_value)) {
            Break(t);
        }
        return;
    }
    // An insert.
    if (checking) {
        if (t.any_row && key2 <= t.upto) {
            Break(t);  // inside the part already checked
        }
        return;
    }
    if (sqlite3_value_type(now) != SQLITE_TEXT) {
        Break(t);
        return;
    }
    const std::string_view value(reinterpret_cast<const char*>(sqlite3_value_text(now)), sqlite3_value_bytes(now));
    if (t.any_row && (key2 <= t.upto || value < t.last)) {
        Break(t);
        return;
    }
    Save(t);
    t.any_row = true;
    t.upto = key2;
    t.last = std::string(value);
}

void RowOrders::Save(Tracker& t) {
    const bool saved = std::any_of(journal_.begin(), journal_.end(), [&](const Saved& s) { return s.tracker == &t; });
    if (!saved) {
        journal_.push_back(
            {&t, static_cast<int>(t.phase), t.any_row, t.upto, t.last, t.token.load(std::memory_order_relaxed)}
        );
    }
}

void RowOrders::Break(Tracker& t) {
    Save(t);
    t.phase = Tracker::Phase::kBroken;
    t.token.store(0, std::memory_order_seq_cst);
    t.recheck_at = std::chrono::steady_clock::now() + t.recheck_after;
    t.recheck_after = std::min(t.recheck_after * 2, kMaxRecheck);
}

void RowOrders::Undo() {
    // Newest first: one entry per tracker, so the order does not matter, but it is the natural one.
    for (auto it = journal_.rbegin(); it != journal_.rend(); ++it) {
        Tracker& t = *it->tracker;
        t.phase = static_cast<Tracker::Phase>(it->phase);
        t.any_row = it->any_row;
        t.upto = it->upto;
        t.last = std::move(it->last);
        // A token given out again is the one readers had: their post-read comparison still holds,
        // since the rolled-back change never committed.
        t.token.store(it->token, std::memory_order_seq_cst);
    }
    journal_.clear();
}

void RowOrders::Reset() {
    journal_.clear();
    active_.clear();
    std::lock_guard lock(mu_);
    for (auto& [key, t] : by_key_) {
        t->token.store(0, std::memory_order_seq_cst);
    }
    by_key_.clear();
    any_.store(false, std::memory_order_release);
    wanted_.store(false, std::memory_order_release);
}

bool RowOrders::ExternalChange(Connection& writer) {
    const std::int64_t data = PragmaInt(writer, "PRAGMA data_version");
    const std::int64_t schema = PragmaInt(writer, "PRAGMA schema_version");
    const bool changed = (data_version_ != -1 && data != data_version_) || schema != schema_version_;
    data_version_ = data;
    schema_version_ = schema;
    return changed;
}

void RowOrders::BeforeCommit(Connection& writer) {
    if (!any_.load(std::memory_order_acquire)) {
        return;
    }
    if (PragmaInt(writer, "PRAGMA schema_version") != schema_version_) {
        Reset();
    }
}

void RowOrders::Refresh(Connection& writer) {
    if (!any_.load(std::memory_order_acquire)) {
        data_version_ = -1;  // taken again when something is tracked
        return;
    }
    if (ExternalChange(writer) && !active_.empty()) {
        Reset();
        return;
    }
    if (wanted_.exchange(false, std::memory_order_acq_rel)) {
        std::lock_guard lock(mu_);
        for (const auto& [key, t] : by_key_) {
            if (std::find(active_.begin(), active_.end(), t) == active_.end()) {
                active_.push_back(t);
            }
        }
    }
    const auto now = std::chrono::steady_clock::now();
    bool more = false;
    for (const auto& t : active_) {
        if (t->phase == Tracker::Phase::kNew || (t->phase == Tracker::Phase::kBroken && now >= t->recheck_at)) {
            Start(writer, *t);
        }
        if (t->phase == Tracker::Phase::kChecking) {
            CheckChunk(writer, *t);
            more = more || t->phase == Tracker::Phase::kChecking;
        }
    }
    if (more) {
        wanted_.store(true, std::memory_order_release);
    }
}

// Where the column is in the table (the hook reads values by position), and whether the table has
// rowids at all.
void RowOrders::Start(Connection& writer, Tracker& t) {
    t.phase = Tracker::Phase::kBroken;
    t.recheck_at = std::chrono::steady_clock::now() + t.recheck_after;
    t.token.store(0, std::memory_order_seq_cst);
    auto info = writer.Query(
        "SELECT (SELECT wr FROM pragma_table_list WHERE schema = 'main' AND name = ?1 AND type = 'table'), "
        "(SELECT cid FROM pragma_table_xinfo(?1) WHERE name = ?2)",
        std::vector<Value>{Value(t.table), Value(t.column)}
    );
    if (!info || info->rows.empty() || IsNull(info->rows[0][0]) || IsNull(info->rows[0][1]) ||
        AsInt(info->rows[0][0]) != 0) {
        return;  // no such table or column, or a table without rowids: never in rowid order
    }
    t.column_index = static_cast<int>(AsInt(info->rows[0][1]));
    t.phase = Tracker::Phase::kChecking;
    t.any_row = false;
    t.upto = 0;
    t.last.clear();
}

void RowOrders::CheckChunk(Connection& writer, Tracker& t) {
    const std::string sql = "SELECT _rowid_, " + QuoteName(t.column) + " FROM " + QuoteName(t.table) +
                            (t.any_row ? " WHERE _rowid_ > ?" : "") + " ORDER BY _rowid_ LIMIT " +
                            std::to_string(kChunkRows);
    std::vector<Value> params;
    if (t.any_row) {
        params.emplace_back(t.upto);
    }
    std::int64_t rows = 0;
    bool ordered = true;
    auto r = writer.QueryEach(sql, params, [&](const RowView& row) -> Result<void> {
        ++rows;
        const std::string_view value = row.TypeOf(1) == RowView::Type::kText ? row.Text(1) : std::string_view();
        if (row.TypeOf(1) != RowView::Type::kText || (t.any_row && value < t.last)) {
            ordered = false;
            return MakeError(ErrorCode::kInternal, "out of order");  // stops the read
        }
        t.any_row = true;
        t.upto = row.Int(0);
        t.last = std::string(value);
        return Ok();
    });
    if (!ordered || !r) {
        Break(t);
        journal_.clear();  // between transactions: nothing to undo
        return;
    }
    if (rows < kChunkRows) {
        Holds(t);
    }
}

void RowOrders::Holds(Tracker& t) {
    t.phase = Tracker::Phase::kHolds;
    t.recheck_after = kFirstRecheck;
    t.token.store(generation_.fetch_add(1, std::memory_order_relaxed) + 1, std::memory_order_seq_cst);
}

}  // namespace basalt::db::sqlite
