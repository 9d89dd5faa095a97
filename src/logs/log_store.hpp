// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "core/clock.hpp"
#include "core/result.hpp"
#include "settings/settings_store.hpp"

namespace basalt::logs {

/// PocketBase's log levels (Go's slog numbers), as stored and filtered (`level >= 4`).
inline constexpr int kDebug = -4;
inline constexpr int kInfo = 0;
inline constexpr int kWarn = 4;
inline constexpr int kError = 8;

/// settings.logs.
using LogSettings = settings::LogsSettings;

/// One log entry as stored and served: PocketBase's `_logs` row.
struct LogEntry {
    std::string id;
    std::string created;  // PocketBase's datetime ("2006-01-02 15:04:05.000Z")
    std::int64_t level = 0;
    std::string message;
    std::string data;  // a JSON object's text
};

/// A page of the logs list; `total_items` is -1 when skipped.
struct LogPage {
    std::vector<LogEntry> items;
    std::int64_t total_items = -1;
};

/// The logs list's query: PocketBase's filter and sort over id, created, level, message and data
/// (with data.* paths), one page.
struct LogQuery {
    std::string filter;
    std::string sort;
    std::int64_t page = 1;
    std::int64_t per_page = 30;
    bool skip_total = false;
};

/// Logs per hour: `date` is the hour's start ("2022-05-01 10:00:00.000Z").
struct StatsItem {
    std::string date;
    std::int64_t total = 0;
};

struct LogStoreOptions {
    /// Entries waiting for the writer beyond this are dropped (and counted): a log store that cannot
    /// keep up never blocks or slows requests.
    std::size_t max_pending = 50'000;
    /// The writer is woken when this many wait, otherwise it writes every `interval`.
    std::size_t batch = 4'096;
    std::chrono::milliseconds interval{1000};
};

/// The request and app logs (PocketBase's logs): a database of their own beside the data
/// (`auxiliary.db`, PocketBase's file and `_logs` table), so that log writes never hold the data
/// writer. Add() only appends to a bounded in-memory queue; a background thread writes what has
/// queued in one transaction per batch. Thread-safe.
class LogStore {
public:
    /// Opens (creating it and its table when missing) the database at `path`.
    static Result<std::unique_ptr<LogStore>> Open(
        const std::filesystem::path& path, const Clock& clock, LogStoreOptions options = {}
    );
    /// Writes out what is queued, then stops the writer.
    ~LogStore();
    LogStore(const LogStore&) = delete;
    LogStore& operator=(const LogStore&) = delete;

    /// Follows changed settings (which entries are kept from now on).
    void Apply(const LogSettings& settings);
    LogSettings Settings() const;
    /// Whether an entry of `level` would be kept now: cheap enough to ask per request.
    bool Accepts(std::int64_t level) const;
    /// Queues an entry created now (a new id); `data_json` must be a JSON object's text. Never blocks
    /// on I/O; drops the entry (counted) when the queue is full or the level is not kept.
    void Add(std::int64_t level, std::string message, std::string data_json);
    /// Writes out everything queued so far (blocking; tests and shutdown).
    void Flush();
    /// Entries dropped because the queue was full (since start).
    std::uint64_t Dropped() const;

    Result<LogPage> List(const LogQuery& query) const;
    Result<std::optional<LogEntry>> Find(std::string_view id) const;
    /// Logs per hour matching `filter`, oldest first.
    Result<std::vector<StatsItem>> Stats(std::string_view filter) const;
    /// Deletes entries older than settings' max_days, or all of them when it is 0, and (with
    /// `below_min_level`) those under min_level: the retention cron and a settings change. Returns
    /// how many went.
    Result<std::int64_t> DeleteExpired(bool below_min_level);

    struct Impl;

private:
    explicit LogStore(std::unique_ptr<Impl> impl);
    std::unique_ptr<Impl> impl_;
};

}  // namespace basalt::logs
