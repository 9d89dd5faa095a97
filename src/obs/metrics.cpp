// SPDX-License-Identifier: MIT
#include "obs/metrics.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include <sys/resource.h>
#include <unistd.h>

namespace basalt::obs {

namespace {

constexpr std::array<double, 14> kLatency{
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
constexpr std::array<double, 11> kSizes{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};

}  // namespace

std::span<const double> LatencyBuckets() {
    return kLatency;
}

std::span<const double> SizeBuckets() {
    return kSizes;
}

void HistogramSnapshot::Merge(const HistogramSnapshot& other) {
    if (counts.empty()) {
        *this = other;
        return;
    }
    for (std::size_t i = 0; i < counts.size() && i < other.counts.size(); ++i) {
        counts[i] += other.counts[i];
    }
    sum += other.sum;
    count += other.count;
}

Histogram::Histogram(std::span<const double> bounds)
    : bounds_(bounds.begin(), bounds.end()),
      counts_(std::make_unique<std::atomic<std::uint64_t>[]>(bounds.size() + 1)) {}

void Histogram::Observe(double value) noexcept {
    const auto it = std::lower_bound(bounds_.begin(), bounds_.end(), value);
    counts_[static_cast<std::size_t>(it - bounds_.begin())].fetch_add(1, std::memory_order_relaxed);
    sum_.fetch_add(value, std::memory_order_relaxed);
}

HistogramSnapshot Histogram::Snapshot() const {
    HistogramSnapshot s;
    s.bounds = bounds_;
    s.counts.resize(bounds_.size() + 1);
    for (std::size_t i = 0; i < s.counts.size(); ++i) {
        s.counts[i] = counts_[i].load(std::memory_order_relaxed);
        s.count += s.counts[i];
    }
    s.sum = sum_.load(std::memory_order_relaxed);
    return s;
}

void Exposition::Family(std::string_view name, MetricType type, std::string_view help) {
    out_ += "# HELP ";
    out_ += name;
    out_ += ' ';
    for (const char c : help) {  // HELP escapes only backslash and newline
        if (c == '\\') {
            out_ += "\\\\";
        } else if (c == '\n') {
            out_ += "\\n";
        } else {
            out_ += c;
        }
    }
    out_ += "\n# TYPE ";
    out_ += name;
    out_ += type == MetricType::kCounter ? " counter\n" : type == MetricType::kGauge ? " gauge\n" : " histogram\n";
}

void Exposition::Labels(std::span<const Label> labels, std::string_view extra_name, std::string_view extra_value) {
    if (labels.empty() && extra_name.empty()) {
        return;
    }
    out_ += '{';
    bool first = true;
    auto one = [&](std::string_view name, std::string_view value) {
        if (!first) {
            out_ += ',';
        }
        first = false;
        out_ += name;
        out_ += "=\"";
        for (const char c : value) {
            if (c == '\\') {
                out_ += "\\\\";
            } else if (c == '"') {
                out_ += "\\\"";
            } else if (c == '\n') {
                out_ += "\\n";
            } else {
                out_ += c;
            }
        }
        out_ += '"';
    };
    for (const auto& [name, value] : labels) {
        one(name, value);
    }
    if (!extra_name.empty()) {
        one(extra_name, extra_value);
    }
    out_ += '}';
}

void Exposition::Number(double value) {
    if (std::isinf(value)) {
        out_ += value > 0 ? "+Inf" : "-Inf";
        return;
    }
    if (std::isnan(value)) {
        out_ += "NaN";
        return;
    }
    // The shortest text that reads back as the same double (start times and byte counts keep
    // every digit; latencies stay short).
    std::array<char, 32> buf{};
    const auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), value);
    out_.append(buf.data(), ec == std::errc{} ? static_cast<std::size_t>(end - buf.data()) : 0);
}

void Exposition::Sample(std::string_view name, std::span<const Label> labels, double value) {
    out_ += name;
    Labels(labels);
    out_ += ' ';
    Number(value);
    out_ += '\n';
}

void Exposition::HistogramSamples(std::string_view name, std::span<const Label> labels, const HistogramSnapshot& h) {
    std::uint64_t cumulative = 0;
    std::array<char, 32> le{};
    for (std::size_t i = 0; i < h.counts.size(); ++i) {
        cumulative += h.counts[i];
        std::string_view bound = "+Inf";
        if (i < h.bounds.size()) {
            const int n = std::snprintf(le.data(), le.size(), "%g", h.bounds[i]);
            bound = std::string_view(le.data(), static_cast<std::size_t>(std::max(n, 0)));
        }
        out_ += name;
        out_ += "_bucket";
        Labels(labels, "le", bound);
        out_ += ' ';
        Number(static_cast<double>(cumulative));
        out_ += '\n';
    }
    out_ += name;
    out_ += "_sum";
    Labels(labels);
    out_ += ' ';
    Number(h.sum);
    out_ += '\n';
    out_ += name;
    out_ += "_count";
    Labels(labels);
    out_ += ' ';
    Number(static_cast<double>(h.count));
    out_ += '\n';
}

void Exposition::CounterValue(std::string_view name, std::string_view help, double value) {
    Family(name, MetricType::kCounter, help);
    Sample(name, {}, value);
}

void Exposition::GaugeValue(std::string_view name, std::string_view help, double value) {
    Family(name, MetricType::kGauge, help);
    Sample(name, {}, value);
}

void Exposition::HistogramValue(std::string_view name, std::string_view help, const HistogramSnapshot& h) {
    Family(name, MetricType::kHistogram, help);
    HistogramSamples(name, {}, h);
}

void Registry::Add(Collector collector) {
    std::lock_guard lock(mu_);
    collectors_.push_back(std::move(collector));
}

std::string Registry::Render() const {
    std::lock_guard lock(mu_);  // one scrape at a time: collectors need not be reentrant
    Exposition out;
    for (const auto& c : collectors_) {
        c(out);
    }
    return out.Text();
}

namespace {

// Fields 14 (utime), 15 (stime), 20 (num_threads), 22 (starttime) and 23 (vsize) of /proc/self/stat,
// counted after the command name (which may hold spaces and parentheses: it ends at the last ')').
struct ProcStat {
    double utime_ticks = 0;
    double stime_ticks = 0;
    double threads = 0;
    double start_ticks = 0;
    double vsize = 0;
    bool ok = false;
};

ProcStat ReadProcStat() {
    ProcStat s;
    std::ifstream in("/proc/self/stat");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto close = text.rfind(')');
    if (close == std::string::npos) {
        return s;
    }
    std::istringstream fields(text.substr(close + 2));  // from field 3 (state) on
    std::vector<std::string> f;
    for (std::string item; fields >> item;) {
        f.push_back(item);
    }
    if (f.size() < 21) {
        return s;
    }
    // f[0] is field 3, so field k is f[k - 3].
    s.utime_ticks = std::strtod(f[11].c_str(), nullptr);
    s.stime_ticks = std::strtod(f[12].c_str(), nullptr);
    s.threads = std::strtod(f[17].c_str(), nullptr);
    s.start_ticks = std::strtod(f[19].c_str(), nullptr);
    s.vsize = std::strtod(f[20].c_str(), nullptr);
    s.ok = true;
    return s;
}

// The boot time from /proc/stat's btime line, in seconds since the epoch.
double BootTime() {
    std::ifstream in("/proc/stat");
    for (std::string line; std::getline(in, line);) {
        if (line.rfind("btime ", 0) == 0) {
            return std::strtod(line.c_str() + 6, nullptr);
        }
    }
    return 0;
}

double OpenFds() {
    std::error_code ec;
    double n = 0;
    for (std::filesystem::directory_iterator it("/proc/self/fd", ec), end; !ec && it != end; it.increment(ec)) {
        ++n;
    }
    return n;
}

}  // namespace

void CollectProcessMetrics(Exposition& out) {
    const ProcStat s = ReadProcStat();
    const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
    const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
    if (s.ok && ticks > 0) {
        out.CounterValue(
            "process_cpu_seconds_total",
            "User and system CPU time spent, in seconds.",
            (s.utime_ticks + s.stime_ticks) / ticks
        );
        out.GaugeValue(
            "process_start_time_seconds",
            "Start time of the process since the Unix epoch, in seconds.",
            BootTime() + s.start_ticks / ticks
        );
        out.GaugeValue("process_virtual_memory_bytes", "Virtual memory size in bytes.", s.vsize);
        out.GaugeValue("process_threads", "Number of OS threads in the process.", s.threads);
    }
    std::ifstream statm("/proc/self/statm");
    double size_pages = 0;
    double resident_pages = 0;
    if (statm >> size_pages >> resident_pages) {
        out.GaugeValue("process_resident_memory_bytes", "Resident memory size in bytes.", resident_pages * page);
    }
    out.GaugeValue("process_open_fds", "Number of open file descriptors.", OpenFds());
    rlimit lim{};
    if (::getrlimit(RLIMIT_NOFILE, &lim) == 0) {
        out.GaugeValue(
            "process_max_fds",
            "Maximum number of open file descriptors.",
            lim.rlim_cur == RLIM_INFINITY ? -1 : static_cast<double>(lim.rlim_cur)
        );
    }
}

}  // namespace basalt::obs
