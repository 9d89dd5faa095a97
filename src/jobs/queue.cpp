// SPDX-License-Identifier: MIT
#include "jobs/queue.hpp"

#include <algorithm>

#include "core/ids.hpp"
#include "core/random.hpp"
#include "obs/log.hpp"
#include "obs/trace.hpp"

namespace basalt::jobs {

namespace {

constexpr const char* kColumns =
    "id, kind, payload, COALESCE(idempotencyKey, ''), status, attempts, maxAttempts, runAt, lastError, created, "
    "updated, traceparent, tracestate";

Job JobFrom(const std::vector<db::Value>& row) {
    Job j;
    j.id = db::AsString(row[0]);
    j.kind = db::AsString(row[1]);
    j.payload = db::AsString(row[2]);
    j.idempotency_key = db::AsString(row[3]);
    j.status = db::AsString(row[4]);
    j.attempts = db::AsInt(row[5]);
    j.max_attempts = db::AsInt(row[6]);
    j.run_at_ms = db::AsInt(row[7]);
    j.last_error = db::AsString(row[8]);
    j.created = db::AsString(row[9]);
    j.updated = db::AsString(row[10]);
    j.traceparent = db::AsString(row[11]);
    j.tracestate = db::AsString(row[12]);
    return j;
}

// The span of one run of `job`: a child of the span that enqueued it, or a new trace.
obs::TraceContext RunSpan(const Job& job) {
    auto parent = obs::ParseTraceparent(job.traceparent);
    if (!parent) {
        return obs::NewSpan();
    }
    parent->tracestate = job.tracestate;
    return obs::NewSpan(*parent);
}

// A job's status inside a write; kNotFound when there is no such job.
Result<std::string> StatusOf(db::Executor& ex, const std::string& id) {
    BASALT_ASSIGN_OR_RETURN(auto rs, ex.Query("SELECT status FROM _jobs WHERE id = ?", {id}));
    if (rs.rows.empty()) {
        return MakeError(ErrorCode::kNotFound, "The requested resource wasn't found.");
    }
    return db::AsString(rs.rows[0][0]);
}

db::Value KeyOrNull(const std::string& key) {
    return key.empty() ? db::Value(nullptr) : db::Value(key);
}

}  // namespace

std::chrono::milliseconds Backoff(std::int64_t attempt, std::chrono::milliseconds base, std::chrono::milliseconds cap) {
    const std::int64_t shift = std::clamp<std::int64_t>(attempt - 1, 0, 30);
    const std::int64_t full = std::min<std::int64_t>(cap.count(), base.count() << shift);
    const std::int64_t half = full / 2;
    const std::int64_t jitter =
        half > 0 ? static_cast<std::int64_t>(FastRandom64() % static_cast<std::uint64_t>(half + 1)) : 0;
    return std::chrono::milliseconds(half + jitter);
}

std::int64_t Queue::NowMs() const {
    return std::chrono::duration_cast<std::chrono::milliseconds>(clock_.Now().time_since_epoch()).count();
}

Result<std::string> Queue::EnqueueIn(db::Executor& ex, const NewJob& job) const {
    if (job.kind.empty()) {
        return MakeError(ErrorCode::kInvalidArgument, "a job needs a kind", "kind");
    }
    if (job.max_attempts < 1 || job.max_attempts > kMaxAttemptsLimit) {
        return MakeError(ErrorCode::kInvalidArgument, "maxAttempts must be between 1 and 100", "maxAttempts");
    }
    const std::string now = FormatDateTime(clock_.Now());
    const std::string id = NewRecordId();
    db::Value traceparent = nullptr;
    db::Value tracestate = nullptr;
    if (!job.traceparent.empty()) {
        traceparent = job.traceparent;
        tracestate = KeyOrNull(job.tracestate);
    } else if (const obs::TraceContext* span = obs::CurrentSpan()) {
        traceparent = obs::FormatTraceparent(*span);
        tracestate = KeyOrNull(span->tracestate);
    }
    BASALT_ASSIGN_OR_RETURN(
        auto n,
        ex.Exec(
            "INSERT INTO _jobs (id, kind, payload, idempotencyKey, status, attempts, maxAttempts, runAt, leaseUntil, "
            "worker, lastError, created, updated, traceparent, tracestate) VALUES (?, ?, ?, ?, 'pending', 0, ?, ?, 0, "
            "'', '', ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            {id,
             job.kind,
             job.payload,
             KeyOrNull(job.idempotency_key),
             job.max_attempts,
             NowMs() + job.delay.count(),
             now,
             now,
             std::move(traceparent),
             std::move(tracestate)}
        )
    );
    if (n == 1) {
        return id;
    }
    BASALT_ASSIGN_OR_RETURN(
        auto rs, ex.Query("SELECT id FROM _jobs WHERE kind = ? AND idempotencyKey = ?", {job.kind, job.idempotency_key})
    );
    if (rs.rows.empty()) {
        return MakeError(ErrorCode::kInternal, "job insert ignored without an existing job");
    }
    return db::AsString(rs.rows[0][0]);
}

Result<std::string> Queue::Enqueue(const NewJob& job) const {
    std::string id;
    auto r = db_.Write([&](db::Executor& ex) -> Result<void> {
        BASALT_ASSIGN_OR_RETURN(auto j, EnqueueIn(ex, job));
        id = std::move(j);
        return Ok();
    });
    if (!r) {
        return r.error();
    }
    return id;
}

void Queue::Submit(NewJob job, std::function<void(Result<void>)> done) const {
    db_.SubmitWrite(
        [this, job = std::move(job)](db::Executor& ex) -> Result<void> {
            BASALT_TRY(EnqueueIn(ex, job));
            return Ok();
        },
        std::move(done)
    );
}

Result<std::vector<Job>> Queue::Claim(const std::string& worker, std::size_t limit, std::chrono::milliseconds lease)
    const {
    const std::int64_t now = NowMs();
    // A cheap read first: an idle queue costs no write (no fsync) per poll.
    BASALT_ASSIGN_OR_RETURN(
        auto due,
        db_.Read(
            "SELECT 1 FROM _jobs WHERE (status = 'pending' AND runAt <= ?) OR (status = 'running' AND leaseUntil <= ?) "
            "LIMIT 1",
            {now, now}
        )
    );
    if (due.rows.empty()) {
        return std::vector<Job>{};
    }
    std::vector<Job> claimed;
    auto r = db_.Write([&](db::Executor& ex) -> Result<void> {
        claimed.clear();
        const std::string stamp = FormatDateTime(clock_.Now());
        BASALT_TRY(ex.Exec(
            "UPDATE _jobs SET status = 'failed', lastError = 'the worker running its last attempt stopped (lease "
            "expired)', leaseUntil = 0, updated = ? WHERE status = 'running' AND leaseUntil <= ? AND attempts >= "
            "maxAttempts",
            {stamp, now}
        ));
        // PostgreSQL: the same statement with "FOR UPDATE SKIP LOCKED" in the subquery, so that
        // workers on several nodes claim disjoint jobs without waiting on each other.
        BASALT_ASSIGN_OR_RETURN(
            auto rs,
            ex.Query(
                std::string(
                    "UPDATE _jobs SET status = 'running', attempts = attempts + 1, leaseUntil = ?, worker = ?, "
                    "updated = ? WHERE id IN (SELECT id FROM _jobs WHERE (status = 'pending' AND runAt <= ?) OR "
                    "(status = 'running' AND leaseUntil <= ?) ORDER BY runAt LIMIT ?) RETURNING "
                ) + kColumns,
                {now + lease.count(), worker, stamp, now, now, static_cast<std::int64_t>(limit)}
            )
        );
        for (const auto& row : rs.rows) {
            claimed.push_back(JobFrom(row));
        }
        return Ok();
    });
    if (!r) {
        return r.error();
    }
    return claimed;
}

Result<void> Queue::Complete(const Job& job, const std::string& worker, bool redact) const {
    return db_.Write([&](db::Executor& ex) -> Result<void> {
        BASALT_TRY(ex.Exec(
            std::string("UPDATE _jobs SET status = 'done', leaseUntil = 0, lastError = '', updated = ?") +
                (redact ? ", payload = '{}'" : "") + " WHERE id = ? AND worker = ? AND status = 'running'",
            {FormatDateTime(clock_.Now()), job.id, worker}
        ));
        return Ok();
    });
}

Result<void> Queue::Fail(const Job& job, const std::string& worker, const std::string& error, bool final) const {
    const bool dead = final || job.attempts >= job.max_attempts;
    const std::int64_t next = NowMs() + Backoff(job.attempts).count();
    const std::string message = error.substr(0, 2000);
    return db_.Write([&](db::Executor& ex) -> Result<void> {
        BASALT_TRY(ex.Exec(
            "UPDATE _jobs SET status = ?, runAt = ?, leaseUntil = 0, lastError = ?, updated = ? WHERE id = ? AND "
            "worker = ? AND status = 'running'",
            {std::string(dead ? "failed" : "pending"),
             dead ? job.run_at_ms : next,
             message,
             FormatDateTime(clock_.Now()),
             job.id,
             worker}
        ));
        return Ok();
    });
}

Result<std::optional<Job>> Queue::Get(const std::string& id) const {
    BASALT_ASSIGN_OR_RETURN(auto rs, db_.Read(std::string("SELECT ") + kColumns + " FROM _jobs WHERE id = ?", {id}));
    if (rs.rows.empty()) {
        return std::optional<Job>();
    }
    return std::optional<Job>(JobFrom(rs.rows[0]));
}

Result<Queue::Page> Queue::List(
    const std::string& status, const std::string& kind, std::int64_t page, std::int64_t per_page
) const {
    Page out;
    const std::string where = " FROM _jobs WHERE (? = '' OR status = ?) AND (? = '' OR kind = ?)";
    BASALT_ASSIGN_OR_RETURN(
        auto rs,
        db_.Read(
            std::string("SELECT ") + kColumns + where + " ORDER BY created DESC, id DESC LIMIT ? OFFSET ?",
            {status, status, kind, kind, per_page, (page - 1) * per_page}
        )
    );
    for (const auto& row : rs.rows) {
        out.items.push_back(JobFrom(row));
    }
    BASALT_ASSIGN_OR_RETURN(auto count, db_.Read("SELECT COUNT(*)" + where, {status, status, kind, kind}));
    out.total = db::AsInt(count.rows[0][0]);
    return out;
}

Result<void> Queue::Retry(const std::string& id) const {
    return db_.Write([&](db::Executor& ex) -> Result<void> {
        BASALT_ASSIGN_OR_RETURN(auto status, StatusOf(ex, id));
        if (status != "failed" && status != "done") {
            return MakeError(ErrorCode::kConflict, "Only failed or done jobs can be retried.");
        }
        BASALT_TRY(ex.Exec(
            "UPDATE _jobs SET status = 'pending', attempts = 0, runAt = ?, leaseUntil = 0, updated = ? WHERE id = ?",
            {NowMs(), FormatDateTime(clock_.Now()), id}
        ));
        return Ok();
    });
}

Result<void> Queue::Discard(const std::string& id) const {
    return db_.Write([&](db::Executor& ex) -> Result<void> {
        BASALT_ASSIGN_OR_RETURN(auto status, StatusOf(ex, id));
        if (status == "running") {
            return MakeError(ErrorCode::kConflict, "A running job cannot be discarded.");
        }
        BASALT_TRY(ex.Exec("DELETE FROM _jobs WHERE id = ?", {id}));
        return Ok();
    });
}

Result<std::int64_t> Queue::PruneDone(std::chrono::milliseconds age) const {
    return db_.WriteOne(
        "DELETE FROM _jobs WHERE status = 'done' AND updated < ?", {FormatDateTime(clock_.Now() - age)}
    );
}

Worker::Worker(Queue& queue, Options options) : queue_(queue), options_(options), id_(NewRecordId()) {}

Worker::~Worker() {
    Stop();
}

void Worker::Handle(const std::string& kind, Handler handler, bool redact) {
    handlers_[kind] = {std::move(handler), redact};
    stats_[kind] = std::make_unique<KindStats>();
}

void Worker::CollectMetrics(obs::Exposition& out) const {
    out.Family(
        "basalt_job_runs_total",
        obs::MetricType::kCounter,
        "Job attempts this process ran, by kind and result (retry: failed, to be tried again; failed: for good)."
    );
    auto runs = [&](const std::string& kind, const KindStats& s) {
        out.Sample("basalt_job_runs_total", {{"kind", kind}, {"result", "ok"}}, static_cast<double>(s.ok.Value()));
        out.Sample(
            "basalt_job_runs_total", {{"kind", kind}, {"result", "retry"}}, static_cast<double>(s.retry.Value())
        );
        out.Sample(
            "basalt_job_runs_total", {{"kind", kind}, {"result", "failed"}}, static_cast<double>(s.failed.Value())
        );
    };
    for (const auto& [kind, s] : stats_) {
        runs(kind, *s);
    }
    runs("unknown", unknown_stats_);
    out.Family("basalt_job_run_duration_seconds", obs::MetricType::kHistogram, "Time one job attempt took, by kind.");
    for (const auto& [kind, s] : stats_) {
        const obs::Label labels[] = {{"kind", kind}};
        out.HistogramSamples("basalt_job_run_duration_seconds", labels, s->seconds.Snapshot());
    }
}

void Queue::CollectMetrics(obs::Exposition& out) const {
    out.Family("basalt_jobs", obs::MetricType::kGauge, "Jobs in the queue, by status.");
    std::map<std::string, double> by_status{{"pending", 0}, {"running", 0}, {"done", 0}, {"failed", 0}};
    if (auto rs = db_.Read("SELECT status, count(*) FROM _jobs GROUP BY status")) {
        for (const auto& row : rs->rows) {
            by_status[db::AsString(row[0])] = static_cast<double>(db::AsInt(row[1]));
        }
    }
    for (const auto& [status, n] : by_status) {
        out.Sample("basalt_jobs", {{"status", status}}, n);
    }
    const std::int64_t now = NowMs();
    double oldest = 0;
    if (auto rs = db_.Read("SELECT min(runAt) FROM _jobs WHERE status = 'pending' AND runAt <= ?", {now});
        rs && !rs->rows.empty() && !db::IsNull(rs->rows[0][0])) {
        oldest = static_cast<double>(now - db::AsInt(rs->rows[0][0])) / 1000.0;
    }
    out.GaugeValue(
        "basalt_jobs_oldest_due_seconds",
        "How long the oldest due pending job has waited to run (0: none waits).",
        oldest
    );
}

bool Worker::Knows(const std::string& kind) const {
    return handlers_.count(kind) != 0;
}

void Worker::Start() {
    loop_.Start([this](const std::stop_token& stop) { Run(stop); }, options_.threads);
}

void Worker::Notify() {
    loop_.Notify();
}

void Worker::Stop() {
    loop_.Stop();
}

void Worker::Run(const std::stop_token& stop) {
    constexpr std::size_t kClaimBatch = 8;
    while (!stop.stop_requested()) {
        // Read before claiming: an enqueue notified while this claim runs ends the next wait.
        std::uint64_t seen = loop_.Wakeups();
        auto claimed = queue_.Claim(id_, kClaimBatch, options_.lease);
        if (!claimed) {
            obs::Warn("job claim failed", {{"error", claimed.error().message}});
        }
        if (!claimed || claimed->empty()) {
            loop_.WaitForWake(stop, seen, options_.poll);
            continue;
        }
        for (const Job& job : *claimed) {
            const obs::ScopedSpan span(RunSpan(job));  // its log lines and writes carry the trace
            auto h = handlers_.find(job.kind);
            const auto started = std::chrono::steady_clock::now();
            Result<void> outcome = Ok();
            if (h == handlers_.end()) {
                outcome = MakeError(ErrorCode::kInvalidArgument, "no handler for job kind '" + job.kind + "'");
            } else {
                try {
                    outcome = h->second.first(job);
                } catch (const std::exception& e) {
                    outcome = MakeError(ErrorCode::kInternal, std::string("handler threw: ") + e.what());
                }
            }
            // A handler's kInvalidArgument or kForbidden is final (a malformed job, a target the
            // SSRF guard refuses): retrying cannot help, so it is dead-lettered at once.
            const bool final = !outcome && (outcome.error().code == ErrorCode::kInvalidArgument ||
                                            outcome.error().code == ErrorCode::kForbidden);
            const auto st = stats_.find(job.kind);
            KindStats& stats = st != stats_.end() ? *st->second : unknown_stats_;
            stats.seconds.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
            (outcome ? stats.ok : final || job.attempts >= job.max_attempts ? stats.failed : stats.retry).Add();
            if (!outcome) {
                // The app's log (and with it the logs API): a failed attempt is a warning, the last
                // one an error.
                const bool last = final || job.attempts >= job.max_attempts;
                obs::Log(
                    last ? obs::Level::kError : obs::Level::kWarn,
                    last ? "job failed for good" : "job attempt failed",
                    {{"job", job.id}, {"kind", job.kind}, {"attempt", job.attempts}, {"error", outcome.error().message}}
                );
            }
            const Result<void> saved = outcome ? queue_.Complete(job, id_, h != handlers_.end() && h->second.second)
                                               : queue_.Fail(job, id_, outcome.error().message, final);
            if (!saved) {
                obs::Warn("job outcome not saved", {{"job", job.id}, {"error", saved.error().message}});
            }
        }
    }
}

}  // namespace basalt::jobs
