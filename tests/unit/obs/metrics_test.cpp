// SPDX-License-Identifier: MIT
#include "obs/metrics.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <ctime>
#include <limits>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace basalt::obs {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// The value of the first sample line starting with `prefix` (a name with its labels), parsed back.
double ValueOf(const std::string& text, const std::string& prefix) {
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
        if (line.rfind(prefix + " ", 0) == 0) {
            const std::string value = line.substr(prefix.size() + 1);
            if (value == "+Inf") {
                return std::numeric_limits<double>::infinity();
            }
            double v = 0;
            const auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
            EXPECT_EQ(ec, std::errc{}) << line;
            EXPECT_EQ(ptr, value.data() + value.size()) << line;
            return v;
        }
    }
    ADD_FAILURE() << "no sample " << prefix << " in:\n" << text;
    return std::nan("");
}

TEST(ExpositionTest, WritesHelpTypeAndSamplesWithEscapedLabels) {
    Exposition out;
    out.Family("basalt_things_total", MetricType::kCounter, "Things.\nWith a back\\slash.");
    out.Sample("basalt_things_total", {{"route", "/api/a\"b"}, {"path", "c:\\d\ne"}}, 3);
    EXPECT_EQ(
        out.Text(),
        "# HELP basalt_things_total Things.\\nWith a back\\\\slash.\n"
        "# TYPE basalt_things_total counter\n"
        "basalt_things_total{route=\"/api/a\\\"b\",path=\"c:\\\\d\\ne\"} 3\n"
    );
}

TEST(ExpositionTest, NumbersReadBackExactlyAndSpecialValuesUsePrometheusSpelling) {
    Exposition out;
    out.Family("g", MetricType::kGauge, "g");
    const double start = 1796278260.37;  // a process start time: every digit matters
    out.Sample("g", {{"k", "start"}}, start);
    out.Sample("g", {{"k", "small"}}, 0.000365872);
    out.Sample("g", {{"k", "int"}}, 20000);
    out.Sample("g", {{"k", "big"}}, 1099511627776.0);
    out.Sample("g", {{"k", "inf"}}, std::numeric_limits<double>::infinity());
    out.Sample("g", {{"k", "ninf"}}, -std::numeric_limits<double>::infinity());
    out.Sample("g", {{"k", "nan"}}, std::nan(""));
    const std::string& text = out.Text();
    EXPECT_EQ(ValueOf(text, "g{k=\"start\"}"), start);
    EXPECT_EQ(ValueOf(text, "g{k=\"small\"}"), 0.000365872);
    EXPECT_THAT(text, HasSubstr("g{k=\"int\"} 20000\n"));
    EXPECT_EQ(ValueOf(text, "g{k=\"big\"}"), 1099511627776.0);
    EXPECT_THAT(text, HasSubstr("g{k=\"inf\"} +Inf\n"));
    EXPECT_THAT(text, HasSubstr("g{k=\"ninf\"} -Inf\n"));
    EXPECT_THAT(text, HasSubstr("g{k=\"nan\"} NaN\n"));
}

TEST(HistogramTest, BucketsAreCumulativeAndABoundItselfCountsInItsBucket) {
    const std::array<double, 3> bounds{0.1, 1, 10};
    Histogram h(bounds);
    for (const double v : {0.05, 0.1, 0.5, 1.0, 2.0, 50.0}) {
        h.Observe(v);
    }
    const HistogramSnapshot s = h.Snapshot();
    EXPECT_EQ(s.count, 6U);
    EXPECT_DOUBLE_EQ(s.sum, 53.65);
    EXPECT_EQ(s.counts, (std::vector<std::uint64_t>{2, 2, 1, 1}));

    Exposition out;
    out.HistogramValue("lat_seconds", "Latency.", s);
    const std::string& text = out.Text();
    EXPECT_THAT(text, HasSubstr("# TYPE lat_seconds histogram\n"));
    EXPECT_EQ(ValueOf(text, "lat_seconds_bucket{le=\"0.1\"}"), 2);
    EXPECT_EQ(ValueOf(text, "lat_seconds_bucket{le=\"1\"}"), 4);
    EXPECT_EQ(ValueOf(text, "lat_seconds_bucket{le=\"10\"}"), 5);
    EXPECT_EQ(ValueOf(text, "lat_seconds_bucket{le=\"+Inf\"}"), 6);
    EXPECT_EQ(ValueOf(text, "lat_seconds_count"), 6);
    EXPECT_DOUBLE_EQ(ValueOf(text, "lat_seconds_sum"), 53.65);
}

TEST(HistogramTest, LabelledSamplesPutLeLastAndMergeAddsSnapshots) {
    Histogram a(LatencyBuckets());
    Histogram b(LatencyBuckets());
    a.Observe(0.002);
    b.Observe(0.002);
    b.Observe(3);
    HistogramSnapshot merged;
    merged.Merge(a.Snapshot());
    merged.Merge(b.Snapshot());
    EXPECT_EQ(merged.count, 3U);

    Exposition out;
    out.Family("req_seconds", MetricType::kHistogram, "Requests.");
    const std::array<Label, 2> labels{Label{"route", "/api/x"}, Label{"status", "200"}};
    out.HistogramSamples("req_seconds", labels, merged);
    const std::string& text = out.Text();
    EXPECT_EQ(ValueOf(text, "req_seconds_bucket{route=\"/api/x\",status=\"200\",le=\"0.0025\"}"), 2);
    EXPECT_EQ(ValueOf(text, "req_seconds_bucket{route=\"/api/x\",status=\"200\",le=\"5\"}"), 3);
    EXPECT_EQ(ValueOf(text, "req_seconds_count{route=\"/api/x\",status=\"200\"}"), 3);
}

TEST(HistogramTest, ConcurrentObservationsAreAllCounted) {
    Histogram h(SizeBuckets());
    constexpr int kThreads = 4;
    constexpr int kEach = 20000;
    std::vector<std::thread> threads;
    threads.reserve(kThreads);
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&h] {
            for (int i = 0; i < kEach; ++i) {
                h.Observe(static_cast<double>(1 + (i % 8)));
            }
        });
    }
    for (auto& t : threads) {
        t.join();
    }
    const HistogramSnapshot s = h.Snapshot();
    EXPECT_EQ(s.count, static_cast<std::uint64_t>(kThreads) * kEach);
    // 1..8 repeating: sum per 8 values is 36.
    EXPECT_DOUBLE_EQ(s.sum, static_cast<double>(kThreads) * (kEach / 8) * 36);
}

TEST(RegistryTest, RendersEveryCollectorInOrder) {
    Registry registry;
    Counter hits;
    hits.Add(41);
    hits.Add();
    registry.Add([&hits](Exposition& out) { out.CounterValue("a_total", "A.", static_cast<double>(hits.Value())); });
    registry.Add([](Exposition& out) { out.GaugeValue("b", "B.", 7); });
    const std::string text = registry.Render();
    EXPECT_EQ(text, "# HELP a_total A.\n# TYPE a_total counter\na_total 42\n# HELP b B.\n# TYPE b gauge\nb 7\n");
}

TEST(ProcessMetricsTest, ReportsThisProcess) {
    Exposition out;
    CollectProcessMetrics(out);
    const std::string& text = out.Text();
    EXPECT_GT(ValueOf(text, "process_resident_memory_bytes"), 1024 * 1024);
    EXPECT_GT(ValueOf(text, "process_virtual_memory_bytes"), ValueOf(text, "process_resident_memory_bytes"));
    EXPECT_GE(ValueOf(text, "process_open_fds"), 3);
    EXPECT_GE(ValueOf(text, "process_threads"), 1);
    EXPECT_GE(ValueOf(text, "process_cpu_seconds_total"), 0);
    const double started = ValueOf(text, "process_start_time_seconds");
    const double now = static_cast<double>(std::time(nullptr));
    EXPECT_LE(started, now + 2);
    EXPECT_GT(started, now - 3600);  // this test process started within the hour
    EXPECT_THAT(text, Not(HasSubstr("NaN")));
}

}  // namespace
}  // namespace basalt::obs
