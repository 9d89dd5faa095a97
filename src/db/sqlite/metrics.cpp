// SPDX-License-Identifier: MIT
// SqliteDatabase's metrics for the metrics endpoint.
#include <filesystem>
#include <system_error>

#include "db/sqlite/sqlite_database_internal.hpp"

namespace basalt::db::sqlite {

void SqliteDatabase::CollectMetrics(obs::Exposition& out) const {
    out.GaugeValue(
        "basalt_db_write_queue_depth",
        "Writes submitted and waiting for the writer.",
        static_cast<double>(queued_.load(std::memory_order_relaxed))
    );
    out.Family("basalt_db_writes_total", obs::MetricType::kCounter, "Writes the writer ran, by result.");
    out.Sample("basalt_db_writes_total", {{"result", "ok"}}, static_cast<double>(writes_ok_.Value()));
    out.Sample("basalt_db_writes_total", {{"result", "error"}}, static_cast<double>(writes_failed_.Value()));
    out.HistogramValue(
        "basalt_db_write_group_size", "Writes committed together in one transaction.", group_sizes_.Snapshot()
    );
    out.HistogramValue(
        "basalt_db_commit_duration_seconds",
        "Time a group of writes took from BEGIN to COMMIT.",
        commit_seconds_.Snapshot()
    );
    out.HistogramValue(
        "basalt_db_sync_duration_seconds",
        "Time one fdatasync of the WAL took (it makes the groups before it durable).",
        sync_seconds_.Snapshot()
    );
    out.CounterValue(
        "basalt_db_reader_opens_total",
        "Reader connections opened because none was idle (readers never wait: a busy pool opens one more).",
        static_cast<double>(reader_opens_.Value())
    );
    out.Family(
        "basalt_db_checkpoints_total",
        obs::MetricType::kCounter,
        "WAL checkpoints that restart the WAL, by result (busy: a reader held old frames; retried later)."
    );
    out.Sample("basalt_db_checkpoints_total", {{"result", "done"}}, static_cast<double>(checkpoints_.Value()));
    out.Sample("basalt_db_checkpoints_total", {{"result", "busy"}}, static_cast<double>(checkpoints_busy_.Value()));
    if (!wal_path_.empty()) {
        std::error_code ec;
        const auto size = std::filesystem::file_size(wal_path_, ec);
        out.GaugeValue(
            "basalt_db_wal_bytes", "Size of the write-ahead log file.", ec ? 0.0 : static_cast<double>(size)
        );
    }
}

}  // namespace basalt::db::sqlite
