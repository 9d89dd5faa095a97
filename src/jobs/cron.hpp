// SPDX-License-Identifier: MIT
#pragma once

#include <bitset>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/background_loop.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "db/database.hpp"
#include "jobs/queue.hpp"

namespace basalt::jobs {

/// A cron schedule: five fields (minute hour day-of-month month day-of-week; `*`, numbers, ranges
/// `a-b`, lists `a,b`, steps `*/n` and `a-b/n`; day-of-week 0-6 with 7 also Sunday) or a macro
/// (@yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly). UTC, minute resolution. A
/// time matches when every field matches (as PocketBase's scheduler).
class Schedule {
public:
    /// kInvalidArgument naming the bad field.
    static Result<Schedule> Parse(std::string_view expression);
    bool Matches(SystemTime t) const;
    /// The first matching minute strictly after `t`, or nullopt when none comes within five years
    /// (a schedule such as February 30th).
    std::optional<SystemTime> Next(SystemTime t) const;

private:
    std::bitset<60> minutes_;
    std::bitset<24> hours_;
    std::bitset<32> days_;    // 1-31
    std::bitset<13> months_;  // 1-12
    std::bitset<7> weekdays_;
};

/// Recurring work: crons registered in code, each firing as a "cron.run" job (so it runs on a
/// worker, with the queue's retries). A fire is enqueued with the idempotency key
/// "<id>@<scheduled minute>", so several processes scheduling the same cron enqueue it once. A cron
/// whose time passed while basalt was down runs once at start. Thread-safe.
class Scheduler {
public:
    using Fn = std::function<Result<void>()>;
    struct Cron {
        std::string id;
        std::string expression;
    };

    Scheduler(db::Database& db, Queue& queue, const Clock& clock) : db_(db), queue_(queue), clock_(clock) {}
    ~Scheduler();
    Scheduler(const Scheduler&) = delete;
    Scheduler& operator=(const Scheduler&) = delete;

    /// Registers a cron (before Start). kInvalidArgument for a bad expression or a duplicate id.
    Result<void> Add(const std::string& id, const std::string& expression, Fn fn);
    /// Adds or replaces a cron at any time, before or after Start (a schedule read from the
    /// settings). A cron that ran before under this id keeps its last run. kInvalidArgument for a bad
    /// expression.
    Result<void> Set(const std::string& id, const std::string& expression, Fn fn);
    /// Removes a cron (nothing when there is none); a fire already enqueued then fails as unknown.
    void Remove(const std::string& id);
    std::vector<Cron> List() const;
    /// Runs a cron now (as a job). kNotFound for an unknown id.
    Result<void> RunNow(const std::string& id) const;
    /// The job handler of "cron.run": runs the cron named in the payload.
    Result<void> RunJob(const Job& job) const;

    /// Starts the clock thread (worker processes only); fires missed crons once.
    Result<void> Start();
    void Stop();

private:
    struct Entry {
        std::string expression;
        Schedule schedule;
        Fn fn;
        std::int64_t last_run_ms = 0;
    };
    /// Enqueues every cron whose next time after its last run has come.
    void FireDue();
    /// The stored last run of `id`, or now stored as its last run when it has none (a new cron
    /// starts counting from now).
    Result<std::int64_t> LastRun(const std::string& id);

    db::Database& db_;
    Queue& queue_;
    const Clock& clock_;
    mutable std::mutex mu_;
    std::map<std::string, Entry> crons_;
    bool started_ = false;  // guarded by mu_
    BackgroundLoop loop_;   // the clock; last: stopped before the members its thread uses go
};

}  // namespace basalt::jobs
