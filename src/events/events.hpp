// SPDX-License-Identifier: MIT
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "core/background_loop.hpp"
#include "core/result.hpp"
#include "db/database.hpp"

namespace basalt::events {

/// One committed change, from the transactional outbox (`_events`): written in the change's own
/// transaction, so every committed change has exactly one and a rolled-back change none. Ids follow
/// commit order.
struct Event {
    std::int64_t id = 0;
    std::string created;
    std::string collection_id;
    std::string collection_name;
    std::string record_id;
    std::string action;  // create | update | delete
    std::string record;  // the record's JSON (every field; consumers apply visibility)
    /// The span of the write that made it (see TraceColumns), empty when it had none: what follows
    /// the event (webhook deliveries) continues that trace.
    std::string traceparent;
    std::string tracestate;
};

/// The outbox's traceparent and tracestate for a change made now: the calling thread's span
/// (obs::CurrentSpan; a write runs under its submitter's) as a version 00 traceparent and its
/// tracestate, each null when absent.
std::pair<db::Value, db::Value> TraceColumns();

/// Writes an event into the outbox through `ex` (inside the change's own transaction). `record` is
/// the JSON payload; the id is assigned by the database; the trace columns are TraceColumns().
Result<void> Append(
    db::Executor& ex,
    std::string_view created,
    std::string_view collection_id,
    std::string_view collection_name,
    std::string_view record_id,
    std::string_view action,
    std::string_view record
);

/// Events with id > `after`, oldest first, at most `limit`; without their record JSON unless
/// `with_record`.
Result<std::vector<Event>> ReadAfter(db::Database& db, std::int64_t after, std::size_t limit, bool with_record = true);
/// The id of the newest event (0 when there is none).
Result<std::int64_t> LatestId(db::Database& db);

/// Retention: deletes events with ids up to `max_id` (consumers that track a position pass theirs,
/// so nothing they have not read goes) that were created before `created_before` or are beyond the
/// newest `max_rows`. Deletes in batches of 1,000, each its own write of a few ms, pausing twice a
/// batch's time after each (at most a third of the writer: 10,000 at a time, back to back, stalled
/// sustained creates for seconds), and returns once `budget` is spent (0: no limit; the next run
/// goes on). Returns how many.
Result<std::int64_t> Prune(
    db::Database& db,
    std::string_view created_before,
    std::int64_t max_id,
    std::size_t max_rows,
    std::chrono::milliseconds budget = std::chrono::milliseconds(0)
);

/// Delivers new events to in-process consumers in commit order, on its own thread: woken by Notify()
/// after a write, and every `poll` in case a write happened elsewhere (another process). A consumer
/// must be quick (hand the event on); it is never called concurrently with itself.
class Dispatcher {
public:
    using Consumer = std::function<void(const Event&)>;

    /// `poll`: how often it looks for writes made elsewhere; `gap`: reads of the outbox are at least
    /// this far apart (commits in between are handed on together), bounding what it costs under load.
    explicit Dispatcher(
        db::Database& db,
        std::chrono::milliseconds poll = std::chrono::milliseconds(200),
        std::chrono::milliseconds gap = std::chrono::milliseconds(5)
    )
        : db_(db),
          poll_(poll),
          gap_(gap) {}
    ~Dispatcher();
    Dispatcher(const Dispatcher&) = delete;
    Dispatcher& operator=(const Dispatcher&) = delete;

    /// Adds a consumer (before Start). `wants_records` says whether it needs the events' record JSON
    /// at the moment (null: never): when no consumer does, the outbox is read without it, which
    /// under a write load is most of what reading it costs.
    void Subscribe(Consumer consumer, std::function<bool()> wants_records = nullptr);
    /// Starts after the newest event already stored: consumers see what is committed from now on.
    Result<void> Start();
    void Notify();
    void Stop();
    /// The newest event handed to the consumers (thread-safe).
    std::int64_t Position() const { return cursor_.load(std::memory_order_relaxed); }

private:
    void Run(const std::stop_token& stop);

    db::Database& db_;
    std::chrono::milliseconds poll_;
    std::chrono::milliseconds gap_;
    std::vector<Consumer> consumers_;
    std::vector<std::function<bool()>> wants_records_;
    std::atomic<std::int64_t> cursor_{0};  // written by the loop thread
    BackgroundLoop loop_;                  // last: stopped before the members its thread uses go
};

}  // namespace basalt::events
