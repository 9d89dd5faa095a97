// SPDX-License-Identifier: MIT
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "core/background_loop.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "db/database.hpp"
#include "obs/metrics.hpp"

namespace basalt::jobs {

/// A job as stored in `_jobs`.
struct Job {
    std::string id;
    std::string kind;     // the handler that runs it ("webhook.deliver", "mail.send", "cron.run", ...)
    std::string payload;  // JSON
    std::string idempotency_key;
    std::string status;  // pending | running | done | failed (dead-lettered)
    std::int64_t attempts = 0;
    std::int64_t max_attempts = 0;
    std::int64_t run_at_ms = 0;  // when it may run next
    std::string last_error;
    std::string created;
    std::string updated;
    /// The span that enqueued it (empty: none; a run then starts a new trace) and its tracestate.
    std::string traceparent;
    std::string tracestate;
};

struct NewJob {
    std::string kind;
    std::string payload = "{}";
    /// Unique per kind: enqueueing the same key again is a no-op (at-least-once producers, once-only jobs).
    std::string idempotency_key;
    std::int64_t max_attempts = 8;
    std::chrono::milliseconds delay{0};
    /// The span its runs continue (a traceparent) and its tracestate. Empty: the enqueuing
    /// thread's span (obs::CurrentSpan; a write runs under its submitter's), if any.
    std::string traceparent;
    std::string tracestate;
};

inline constexpr std::int64_t kMaxAttemptsLimit = 100;

/// The retry delay after failed attempt `attempt` (1-based): exponential from `base`, capped at
/// `cap`, with "equal jitter" (half fixed, half random) so that retries of many jobs spread out.
std::chrono::milliseconds Backoff(
    std::int64_t attempt,
    std::chrono::milliseconds base = std::chrono::seconds(1),
    std::chrono::milliseconds cap = std::chrono::hours(1)
);

/// The durable job queue over `_jobs`: enqueue (inside a caller's transaction or on its own), claim
/// with a lease, complete, fail with retries and dead-lettering, and the superuser's retry/discard.
/// Claiming is one statement that picks due jobs and leases them (SQLite: inside the single writer;
/// PostgreSQL: the same shape with FOR UPDATE SKIP LOCKED in the subquery). Thread-safe.
class Queue {
public:
    Queue(db::Database& db, const Clock& clock) : db_(db), clock_(clock) {}

    /// Adds a job through `ex` (inside the caller's transaction: it commits with the caller's change).
    /// Returns the job id, or the existing job's id when the idempotency key was used before.
    Result<std::string> EnqueueIn(db::Executor& ex, const NewJob& job) const;
    /// Adds a job in a write of its own (blocking: not on an I/O thread).
    Result<std::string> Enqueue(const NewJob& job) const;
    /// Adds a job without waiting for the write (the caller's timing does not depend on it: mail for
    /// enumeration-safe endpoints). `done` runs on the writer thread after the commit (or failure).
    void Submit(NewJob job, std::function<void(Result<void>)> done) const;

    /// Leases up to `limit` due jobs (pending and due, or running with an expired lease) to `worker`
    /// for `lease`; each claim counts an attempt. Jobs whose lease expired on their last attempt are
    /// dead-lettered instead.
    Result<std::vector<Job>> Claim(const std::string& worker, std::size_t limit, std::chrono::milliseconds lease) const;
    /// Marks a claimed job done (only while `worker` holds it). `redact` empties its payload (secrets).
    Result<void> Complete(const Job& job, const std::string& worker, bool redact = false) const;
    /// Records a failed attempt: retried after Backoff(attempts), or dead-lettered after the last one,
    /// or at once when `final` (retrying cannot help).
    Result<void> Fail(const Job& job, const std::string& worker, const std::string& error, bool final = false) const;

    Result<std::optional<Job>> Get(const std::string& id) const;
    struct Page {
        std::vector<Job> items;
        std::int64_t total = 0;
    };
    Result<Page> List(const std::string& status, const std::string& kind, std::int64_t page, std::int64_t per_page)
        const;
    /// A failed or done job back to pending, due now, with its attempts reset. kNotFound; kConflict
    /// when it is pending or running.
    Result<void> Retry(const std::string& id) const;
    /// Removes a job that is not running. kNotFound; kConflict when running.
    Result<void> Discard(const std::string& id) const;
    /// Deletes finished (done) jobs older than `age`.
    Result<std::int64_t> PruneDone(std::chrono::milliseconds age) const;

    /// basalt_jobs{status} and basalt_jobs_oldest_due_seconds (how long the oldest due pending job
    /// has waited), read from the table at each scrape (two indexed queries).
    void CollectMetrics(obs::Exposition& out) const;

private:
    std::int64_t NowMs() const;

    db::Database& db_;
    const Clock& clock_;
};

/// Runs jobs: `threads` workers claim from the queue and run the handler registered for each kind.
/// Each run is a span of its own (obs::ScopedSpan: what the handler logs carries it): a child of the
/// span that enqueued the job, or the root of a new trace (crons, jobs enqueued outside a request).
/// A handler's error (or exception) is a failed attempt. Woken by Notify() after an enqueue in this
/// process and polling every `poll` otherwise (jobs enqueued by other processes, retries coming due).
class Worker {
public:
    using Handler = std::function<Result<void>(const Job&)>;
    struct Options {
        unsigned threads = 2;
        std::chrono::milliseconds lease{std::chrono::seconds(60)};
        std::chrono::milliseconds poll{std::chrono::milliseconds(500)};
    };

    Worker(Queue& queue, Options options);
    ~Worker();
    Worker(const Worker&) = delete;
    Worker& operator=(const Worker&) = delete;

    /// Registers the handler of `kind` (before Start). `redact`: the payload is emptied when done.
    void Handle(const std::string& kind, Handler handler, bool redact = false);
    bool Knows(const std::string& kind) const;
    /// basalt_job_runs_total{kind,result} (ok, retry, failed) and
    /// basalt_job_run_duration_seconds{kind}, of this process's workers. Thread-safe.
    void CollectMetrics(obs::Exposition& out) const;
    void Start();
    void Notify();
    /// Lets running jobs finish and stops. Idempotent.
    void Stop();

private:
    void Run(const std::stop_token& stop);

    Queue& queue_;
    Options options_;
    std::string id_;
    std::map<std::string, std::pair<Handler, bool>> handlers_;
    struct KindStats {
        obs::Counter ok;
        obs::Counter retry;
        obs::Counter failed;
        obs::Histogram seconds{obs::LatencyBuckets()};
    };
    // One per registered kind (filled before Start, read-only after) and one for unknown kinds.
    std::map<std::string, std::unique_ptr<KindStats>> stats_;
    KindStats unknown_stats_;
    BackgroundLoop loop_;  // the worker threads; last: stopped before the members they use go
};

}  // namespace basalt::jobs
