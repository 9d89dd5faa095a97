// SPDX-License-Identifier: MIT
#include "jobs/cron.hpp"

#include <charconv>
#include <ctime>

#include "obs/log.hpp"

namespace basalt::jobs {

namespace {

using std::chrono::minutes;

// One field: items separated by commas; each `*`, `n` or `a-b`, optionally `/step`.
template <std::size_t N>
Result<void> ParseField(std::string_view text, int lo, int hi, std::bitset<N>& out, const char* name) {
    auto bad = [&](const std::string& why) {
        return MakeError(ErrorCode::kInvalidArgument, std::string("invalid cron ") + name + " field: " + why);
    };
    auto number = [&](std::string_view s, int& v) {
        if (s.empty() || s.size() > 3) {
            return false;
        }
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        return ec == std::errc() && p == s.data() + s.size();
    };
    if (text.empty()) {
        return bad("empty");
    }
    std::size_t pos = 0;
    while (pos <= text.size()) {
        const auto comma = text.find(',', pos);
        const std::string_view item = text.substr(pos, comma == std::string_view::npos ? text.npos : comma - pos);
        std::string_view range = item;
        int step = 1;
        if (const auto slash = item.find('/'); slash != std::string_view::npos) {
            range = item.substr(0, slash);
            if (!number(item.substr(slash + 1), step) || step < 1 || step > hi) {
                return bad("bad step in '" + std::string(item) + "'");
            }
        }
        int a = lo;
        int b = hi;
        if (range != "*") {
            const auto dash = range.find('-');
            if (dash == std::string_view::npos) {
                if (!number(range, a)) {
                    return bad("'" + std::string(item) + "' is not a number");
                }
                b = item.find('/') != std::string_view::npos ? hi : a;  // "5/15": from 5 on
            } else if (!number(range.substr(0, dash), a) || !number(range.substr(dash + 1), b)) {
                return bad("bad range '" + std::string(item) + "'");
            }
        }
        if (a < lo || b > hi || a > b) {
            return bad("'" + std::string(item) + "' is outside " + std::to_string(lo) + "-" + std::to_string(hi));
        }
        for (int v = a; v <= b; v += step) {
            out.set(static_cast<std::size_t>(v));
        }
        if (comma == std::string_view::npos) {
            break;
        }
        pos = comma + 1;
    }
    return Ok();
}

std::tm Utc(SystemTime t) {
    const std::time_t s = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&s, &tm);
    return tm;
}

SystemTime FromUtc(std::tm tm) {
    return std::chrono::system_clock::from_time_t(timegm(&tm));
}

std::int64_t Millis(SystemTime t) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}

}  // namespace

Result<Schedule> Schedule::Parse(std::string_view expression) {
    std::string text(expression);
    if (text == "@yearly" || text == "@annually") {
        text = "0 0 1 1 *";
    } else if (text == "@monthly") {
        text = "0 0 1 * *";
    } else if (text == "@weekly") {
        text = "0 0 * * 0";
    } else if (text == "@daily" || text == "@midnight") {
        text = "0 0 * * *";
    } else if (text == "@hourly") {
        text = "0 * * * *";
    }
    std::vector<std::string_view> fields;
    std::string_view rest = text;
    while (!rest.empty()) {
        const auto start = rest.find_first_not_of(" \t");
        if (start == std::string_view::npos) {
            break;
        }
        rest.remove_prefix(start);
        const auto end = rest.find_first_of(" \t");
        fields.push_back(rest.substr(0, end));
        rest = end == std::string_view::npos ? std::string_view() : rest.substr(end);
    }
    if (fields.size() != 5) {
        return MakeError(
            ErrorCode::kInvalidArgument,
            "a cron expression has five fields (minute hour day month weekday) or is a macro such as @daily"
        );
    }
    Schedule s;
    std::bitset<8> weekdays;
    BASALT_TRY(ParseField(fields[0], 0, 59, s.minutes_, "minute"));
    BASALT_TRY(ParseField(fields[1], 0, 23, s.hours_, "hour"));
    BASALT_TRY(ParseField(fields[2], 1, 31, s.days_, "day-of-month"));
    BASALT_TRY(ParseField(fields[3], 1, 12, s.months_, "month"));
    BASALT_TRY(ParseField(fields[4], 0, 7, weekdays, "day-of-week"));
    for (std::size_t d = 0; d < 7; ++d) {
        s.weekdays_[d] = weekdays[d] || (d == 0 && weekdays[7]);
    }
    return s;
}

bool Schedule::Matches(SystemTime t) const {
    const std::tm tm = Utc(t);
    const int month = tm.tm_mon + 1;
    return minutes_[static_cast<std::size_t>(tm.tm_min)] && hours_[static_cast<std::size_t>(tm.tm_hour)] &&
           days_[static_cast<std::size_t>(tm.tm_mday)] && months_[static_cast<std::size_t>(month)] &&
           weekdays_[static_cast<std::size_t>(tm.tm_wday)];
}

std::optional<SystemTime> Schedule::Next(SystemTime t) const {
    std::tm tm = Utc(std::chrono::time_point_cast<minutes>(t) + minutes(1));
    tm.tm_sec = 0;
    const int last_year = tm.tm_year + 5;
    while (tm.tm_year <= last_year) {
        const int month = tm.tm_mon + 1;
        if (!months_[static_cast<std::size_t>(month)]) {
            tm.tm_mon += 1;  // the first minute of the next month
            tm.tm_mday = 1;
            tm.tm_hour = 0;
            tm.tm_min = 0;
        } else if (!days_[static_cast<std::size_t>(tm.tm_mday)] || !weekdays_[static_cast<std::size_t>(tm.tm_wday)]) {
            tm.tm_mday += 1;
            tm.tm_hour = 0;
            tm.tm_min = 0;
        } else if (!hours_[static_cast<std::size_t>(tm.tm_hour)]) {
            tm.tm_hour += 1;
            tm.tm_min = 0;
        } else if (!minutes_[static_cast<std::size_t>(tm.tm_min)]) {
            tm.tm_min += 1;
        } else {
            return FromUtc(tm);
        }
        tm = Utc(FromUtc(tm));  // normalise (and recompute the weekday)
    }
    return std::nullopt;
}

Scheduler::~Scheduler() {
    Stop();
}

Result<void> Scheduler::Add(const std::string& id, const std::string& expression, Fn fn) {
    BASALT_ASSIGN_OR_RETURN(auto s, Schedule::Parse(expression));
    std::lock_guard lock(mu_);
    if (!crons_.emplace(id, Entry{expression, s, std::move(fn), 0}).second) {
        return MakeError(ErrorCode::kInvalidArgument, "a cron named '" + id + "' exists");
    }
    return Ok();
}

Result<std::int64_t> Scheduler::LastRun(const std::string& id) {
    const std::int64_t now = Millis(clock_.Now());
    BASALT_ASSIGN_OR_RETURN(auto rs, db_.Read("SELECT lastRun FROM _crons WHERE id = ?", {id}));
    if (!rs.rows.empty()) {
        return db::AsInt(rs.rows[0][0]);
    }
    auto stored = db_.Write([&](db::Executor& ex) -> Result<void> {
        BASALT_TRY(ex.Exec("INSERT INTO _crons (id, lastRun) VALUES (?, ?) ON CONFLICT DO NOTHING", {id, now}));
        return Ok();
    });
    if (!stored) {
        return stored.error();
    }
    return now;
}

Result<void> Scheduler::Set(const std::string& id, const std::string& expression, Fn fn) {
    BASALT_ASSIGN_OR_RETURN(auto s, Schedule::Parse(expression));
    bool started = false;
    {
        std::lock_guard lock(mu_);
        started = started_;
        if (!started) {
            crons_[id] = Entry{expression, s, std::move(fn), 0};  // Start reads its last run
            return Ok();
        }
    }
    BASALT_ASSIGN_OR_RETURN(const std::int64_t last, LastRun(id));
    std::lock_guard lock(mu_);
    crons_[id] = Entry{expression, s, std::move(fn), last};
    return Ok();
}

void Scheduler::Remove(const std::string& id) {
    std::lock_guard lock(mu_);
    crons_.erase(id);
}

std::vector<Scheduler::Cron> Scheduler::List() const {
    std::lock_guard lock(mu_);
    std::vector<Cron> out;
    for (const auto& [id, e] : crons_) {
        out.push_back({id, e.expression});
    }
    return out;
}

Result<void> Scheduler::RunNow(const std::string& id) const {
    {
        std::lock_guard lock(mu_);
        if (crons_.count(id) == 0) {
            return MakeError(ErrorCode::kNotFound, "Missing or invalid cron job.");
        }
    }
    NewJob job;
    job.kind = "cron.run";
    job.payload = "{\"id\":\"" + id + "\"}";  // ids are ours: letters, digits, '_' and '.'
    job.max_attempts = 1;
    BASALT_TRY(queue_.Enqueue(job));
    return Ok();
}

Result<void> Scheduler::RunJob(const Job& job) const {
    const auto at = job.payload.find("\"id\":\"");
    const auto end = at == std::string::npos ? at : job.payload.find('"', at + 6);
    if (end == std::string::npos) {
        return MakeError(ErrorCode::kInvalidArgument, "cron job without an id");
    }
    const std::string id = job.payload.substr(at + 6, end - at - 6);
    Fn fn;
    {
        std::lock_guard lock(mu_);
        auto it = crons_.find(id);
        if (it == crons_.end()) {
            return MakeError(ErrorCode::kNotFound, "unknown cron '" + id + "'");
        }
        fn = it->second.fn;
    }
    return fn();
}

Result<void> Scheduler::Start() {
    // Last runs from the database; a cron seen for the first time starts counting from now.
    const std::int64_t now = Millis(clock_.Now());
    BASALT_ASSIGN_OR_RETURN(auto rs, db_.Read("SELECT id, lastRun FROM _crons"));
    std::map<std::string, std::int64_t> stored;
    for (const auto& row : rs.rows) {
        stored[db::AsString(row[0])] = db::AsInt(row[1]);
    }
    std::vector<std::string> fresh;
    {
        std::lock_guard lock(mu_);
        started_ = true;
        for (auto& [id, e] : crons_) {
            auto it = stored.find(id);
            if (it != stored.end()) {
                e.last_run_ms = it->second;
            } else {
                e.last_run_ms = now;
                fresh.push_back(id);
            }
        }
    }
    if (!fresh.empty()) {
        auto w = db_.Write([&](db::Executor& ex) -> Result<void> {
            for (const auto& id : fresh) {
                BASALT_TRY(ex.Exec("INSERT INTO _crons (id, lastRun) VALUES (?, ?) ON CONFLICT DO NOTHING", {id, now}));
            }
            return Ok();
        });
        if (!w) {
            return w;
        }
    }
    FireDue();  // what came due while basalt was down runs once, now
    // Once a second: crons have minute resolution, and a second late is on time.
    loop_.Start([this](const std::stop_token& stop) {
        while (loop_.SleepFor(stop, std::chrono::seconds(1))) {
            FireDue();
        }
    });
    return Ok();
}

void Scheduler::Stop() {
    loop_.Stop();
}

void Scheduler::FireDue() {
    const SystemTime now = clock_.Now();
    struct Due {
        std::string id;
        std::int64_t slot_ms;
    };
    std::vector<Due> due;
    {
        std::lock_guard lock(mu_);
        for (const auto& [id, e] : crons_) {
            const auto next = e.schedule.Next(SystemTime(std::chrono::milliseconds(e.last_run_ms)));
            if (next && *next <= now) {
                due.push_back({id, Millis(*next)});
            }
        }
    }
    if (due.empty()) {
        return;
    }
    const std::int64_t now_ms = Millis(now);
    auto w = db_.Write([&](db::Executor& ex) -> Result<void> {
        for (const auto& d : due) {
            NewJob job;
            job.kind = "cron.run";
            job.payload = "{\"id\":\"" + d.id + "\"}";
            job.idempotency_key = d.id + "@" + std::to_string(d.slot_ms);
            job.max_attempts = 3;
            BASALT_TRY(queue_.EnqueueIn(ex, job));
            BASALT_TRY(ex.Exec("UPDATE _crons SET lastRun = ? WHERE id = ?", {now_ms, d.id}));
        }
        return Ok();
    });
    if (!w) {
        obs::Warn("cron fire failed", {{"error", w.error().message}});
        return;
    }
    std::lock_guard lock(mu_);
    for (const auto& d : due) {
        if (auto it = crons_.find(d.id); it != crons_.end()) {  // Remove may have run meanwhile
            it->second.last_run_ms = now_ms;
        }
    }
}

}  // namespace basalt::jobs
