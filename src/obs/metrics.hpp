// SPDX-License-Identifier: MIT
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace basalt::obs {

/// A count that only goes up (Prometheus' counter). Lock-free; relaxed ordering (a scrape may see
/// counts a moment old).
class Counter {
public:
    void Add(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
    std::uint64_t Value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> value_{0};
};

/// What a histogram held at one moment: counts per bucket (not cumulative; the last one is +Inf),
/// the sum of the observed values and their number.
struct HistogramSnapshot {
    std::vector<double> bounds;         // upper bounds, ascending, without +Inf
    std::vector<std::uint64_t> counts;  // bounds.size() + 1 entries
    double sum = 0;
    std::uint64_t count = 0;

    /// Adds `other` (same bounds) into this one.
    void Merge(const HistogramSnapshot& other);
};

/// Observations counted into fixed buckets (Prometheus' histogram). Lock-free.
class Histogram {
public:
    /// `bounds`: bucket upper bounds, ascending (+Inf is implied).
    explicit Histogram(std::span<const double> bounds);
    void Observe(double value) noexcept;
    HistogramSnapshot Snapshot() const;

private:
    std::vector<double> bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> counts_;
    std::atomic<double> sum_{0};
};

/// Bucket bounds in seconds for request and commit latencies: 0.5 ms to 10 s.
std::span<const double> LatencyBuckets();
/// Bucket bounds for sizes in powers of two, 1 to 1024 (write groups, batches).
std::span<const double> SizeBuckets();

enum class MetricType { kCounter, kGauge, kHistogram };

/// One label of a sample: name and value.
using Label = std::pair<std::string_view, std::string_view>;

/// Writes metrics in Prometheus' text exposition format (version 0.0.4): per family its HELP and
/// TYPE lines, then its samples. Label values are escaped. Nothing merges families: each collector
/// owns its own names, and a name written twice would be refused by Prometheus (the metrics API
/// test lints the whole output with promtool).
class Exposition {
public:
    /// Starts a family.
    void Family(std::string_view name, MetricType type, std::string_view help);
    /// One sample of the current family (`name` may carry a suffix, like `_total`).
    void Sample(std::string_view name, std::span<const Label> labels, double value);
    void Sample(std::string_view name, std::initializer_list<Label> labels, double value) {
        Sample(name, std::span<const Label>(labels.begin(), labels.size()), value);
    }
    /// A histogram's samples: `name`_bucket{le=...} cumulative, `name`_sum and `name`_count.
    void HistogramSamples(std::string_view name, std::span<const Label> labels, const HistogramSnapshot& h);

    /// Shorthands for a family of one unlabelled sample.
    void CounterValue(std::string_view name, std::string_view help, double value);
    void GaugeValue(std::string_view name, std::string_view help, double value);
    void HistogramValue(std::string_view name, std::string_view help, const HistogramSnapshot& h);

    const std::string& Text() const { return out_; }

private:
    void Labels(std::span<const Label> labels, std::string_view extra_name = {}, std::string_view extra_value = {});
    void Number(double value);

    std::string out_;
};

/// The metrics of the process: collectors, each writing the families of one part (the HTTP server,
/// the database, realtime, ...), called in the order they were added at every scrape. Thread-safe.
class Registry {
public:
    using Collector = std::function<void(Exposition&)>;

    void Add(Collector collector);
    /// Every collector's families, in the text format.
    std::string Render() const;

private:
    mutable std::mutex mu_;
    std::vector<Collector> collectors_;
};

/// The process's own families as Prometheus' client libraries name them: process_cpu_seconds_total,
/// process_resident_memory_bytes, process_virtual_memory_bytes, process_open_fds, process_max_fds,
/// process_start_time_seconds, process_threads (from /proc/self).
void CollectProcessMetrics(Exposition& out);

/// The content type of the text format.
inline constexpr std::string_view kExpositionContentType = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace basalt::obs
