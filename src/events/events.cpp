// SPDX-License-Identifier: MIT
#include "events/events.hpp"

#include <algorithm>
#include <chrono>
#include <thread>

#include "obs/log.hpp"
#include "obs/trace.hpp"

namespace basalt::events {

Result<void> Append(
    db::Executor& ex,
    std::string_view created,
    std::string_view collection_id,
    std::string_view collection_name,
    std::string_view record_id,
    std::string_view action,
    std::string_view record
) {
    auto [traceparent, tracestate] = TraceColumns();
    BASALT_TRY(ex.Exec(
        "INSERT INTO _events (created, collectionId, collectionName, recordId, action, record, traceparent, "
        "tracestate) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        {std::string(created),
         std::string(collection_id),
         std::string(collection_name),
         std::string(record_id),
         std::string(action),
         std::string(record),
         std::move(traceparent),
         std::move(tracestate)}
    ));
    return Ok();
}

std::pair<db::Value, db::Value> TraceColumns() {
    const obs::TraceContext* span = obs::CurrentSpan();
    if (span == nullptr) {
        return {nullptr, nullptr};
    }
    return {
        obs::FormatTraceparent(*span),
        span->tracestate.empty() ? db::Value(nullptr) : db::Value(span->tracestate),
    };
}

Result<std::vector<Event>> ReadAfter(db::Database& db, std::int64_t after, std::size_t limit, bool with_record) {
    BASALT_ASSIGN_OR_RETURN(
        auto rs,
        db.Read(
            with_record
                ? "SELECT id, created, collectionId, collectionName, recordId, action, record, traceparent, "
                  "tracestate FROM _events WHERE id > ? ORDER BY id LIMIT ?"
                : "SELECT id, created, collectionId, collectionName, recordId, action, '', traceparent, tracestate "
                  "FROM _events WHERE id > ? ORDER BY id LIMIT ?",
            {after, static_cast<std::int64_t>(limit)}
        )
    );
    std::vector<Event> out;
    out.reserve(rs.rows.size());
    for (const auto& row : rs.rows) {
        out.push_back(Event{
            db::AsInt(row[0]),
            db::AsString(row[1]),
            db::AsString(row[2]),
            db::AsString(row[3]),
            db::AsString(row[4]),
            db::AsString(row[5]),
            db::AsString(row[6]),
            db::AsString(row[7]),
            db::AsString(row[8])});
    }
    return out;
}

Result<std::int64_t> LatestId(db::Database& db) {
    BASALT_ASSIGN_OR_RETURN(auto rs, db.Read("SELECT COALESCE(MAX(id), 0) FROM _events"));
    return db::AsInt(rs.rows[0][0]);
}

Dispatcher::~Dispatcher() {
    Stop();
}

void Dispatcher::Subscribe(Consumer consumer, std::function<bool()> wants_records) {
    consumers_.push_back(std::move(consumer));
    if (wants_records) {
        wants_records_.push_back(std::move(wants_records));
    }
}

Result<void> Dispatcher::Start() {
    BASALT_ASSIGN_OR_RETURN(auto latest, LatestId(db_));
    cursor_.store(latest, std::memory_order_relaxed);
    loop_.Start([this](const std::stop_token& stop) { Run(stop); });
    return Ok();
}

void Dispatcher::Notify() {
    loop_.Notify();
}

void Dispatcher::Stop() {
    loop_.Stop();
}

void Dispatcher::Run(const std::stop_token& stop) {
    auto last_read = std::chrono::steady_clock::now() - gap_;
    std::uint64_t seen = 0;
    for (;;) {
        if (!loop_.WaitForWake(stop, seen, poll_)) {
            return;
        }
        // Under a write load every commit wakes the dispatcher; reading the outbox per commit
        // cost more than the writes themselves (a read transaction re-reads its pages after
        // every change). Reads are at least gap_ apart: the commits in between are read at once.
        const auto since = std::chrono::steady_clock::now() - last_read;
        if (since < gap_ && !loop_.SleepFor(stop, gap_ - since)) {
            return;
        }
        seen = loop_.Wakeups();  // what woke it during the gap is read now
        last_read = std::chrono::steady_clock::now();
        for (;;) {
            const bool with_record =
                std::any_of(wants_records_.begin(), wants_records_.end(), [](const auto& wants) { return wants(); });
            auto batch = ReadAfter(db_, cursor_.load(std::memory_order_relaxed), 500, with_record);
            if (!batch) {
                obs::Warn("events not read", {{"error", batch.error().message}});
                break;
            }
            for (const Event& e : *batch) {
                for (const auto& consumer : consumers_) {
                    consumer(e);
                }
                cursor_.store(e.id, std::memory_order_relaxed);
            }
            if (batch->size() < 500) {
                break;
            }
        }
    }
}

// Rows per delete of Prune: small enough that writes queued behind one wait a few ms.
constexpr std::int64_t kPruneBatch = 1000;
// After each full batch Prune waits twice as long as the batch took, so it holds at most a third
// of the writer's time and a backlog is spread over seconds instead of stalling creates.
constexpr int kPrunePauseFactor = 2;

Result<std::int64_t> Prune(
    db::Database& db,
    std::string_view created_before,
    std::int64_t max_id,
    std::size_t max_rows,
    std::chrono::milliseconds budget
) {
    BASALT_ASSIGN_OR_RETURN(auto latest, LatestId(db));
    // Ids follow commit order: everything at or below `beyond` is outside the newest max_rows.
    const std::int64_t beyond = latest - static_cast<std::int64_t>(max_rows);
    const auto started = std::chrono::steady_clock::now();
    std::int64_t total = 0;
    for (;;) {
        const auto batch_started = std::chrono::steady_clock::now();
        BASALT_ASSIGN_OR_RETURN(
            auto n,
            db.WriteOne(
                "DELETE FROM _events WHERE id IN (SELECT id FROM _events WHERE id <= ? AND (created < ? OR id <= ?) "
                "ORDER BY id LIMIT ?)",
                {max_id, std::string(created_before), beyond, kPruneBatch}
            )
        );
        total += n;
        const auto now = std::chrono::steady_clock::now();
        if (n < kPruneBatch || (budget.count() > 0 && now - started >= budget)) {
            return total;  // done, or the next run goes on
        }
        std::this_thread::sleep_for((now - batch_started) * kPrunePauseFactor);
    }
}

}  // namespace basalt::events
