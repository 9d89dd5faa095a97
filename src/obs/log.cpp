// SPDX-License-Identifier: MIT
#include "obs/log.hpp"

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>

#include <unistd.h>

#include "core/background_loop.hpp"
#include "core/clock.hpp"
#include "core/json_text.hpp"
#include "obs/trace.hpp"

namespace basalt::obs {

namespace {

constexpr std::size_t kWakeBytes = 64UL * 1024;
constexpr std::size_t kMaxBufferedBytes = 8UL * 1024 * 1024;  // beyond it lines are dropped, never blocking
constexpr auto kFlushEvery = std::chrono::milliseconds(100);

class Sink {
public:
    explicit Sink(int fd = 1) : fd_(fd) {
        loop_.Start([this](const std::stop_token& stop) { Run(stop); });
    }
    ~Sink() {
        loop_.Stop();  // the thread writes out what is buffered before it ends
        std::lock_guard lock(mu_);
        stop_ = true;
        flushed_cv_.notify_all();
    }

    void Append(std::string_view line) {
        bool wake = false;
        {
            std::lock_guard lock(mu_);
            if (buffer_.size() + line.size() > kMaxBufferedBytes) {
                ++dropped_;
                return;
            }
            buffer_.append(line);
            buffer_.push_back('\n');
            wake = buffer_.size() >= kWakeBytes;
        }
        if (wake) {
            loop_.Notify();
        }
    }

    void Flush() {
        std::unique_lock lock(mu_);
        const std::uint64_t target = ++flush_requests_;
        loop_.Notify();
        flushed_cv_.wait(lock, [&] { return flushed_ >= target || stop_; });
    }

    void SetFd(int fd) {
        Flush();
        fd_.store(fd);
    }

private:
    void Run(const std::stop_token& stop) {
        std::string out;
        std::uint64_t seen = 0;
        for (;;) {
            // Append (at kWakeBytes) and Flush wake it; otherwise it writes every kFlushEvery.
            const bool stopping = !loop_.WaitForWake(stop, seen, kFlushEvery);
            std::unique_lock lock(mu_);
            out.swap(buffer_);
            const std::uint64_t served = flush_requests_;
            const std::uint64_t dropped = dropped_;
            dropped_ = 0;
            lock.unlock();
            if (dropped > 0) {
                out += R"({"level":"warn","msg":"log lines dropped: output too slow","dropped":)" +
                       std::to_string(dropped) + "}\n";
            }
            WriteAll(out);
            out.clear();
            lock.lock();
            flushed_ = served;
            flushed_cv_.notify_all();
            if (stopping && buffer_.empty()) {
                return;
            }
        }
    }

    void WriteAll(const std::string& data) const {
        const int fd = fd_.load();
        std::size_t off = 0;
        while (off < data.size()) {
            const ssize_t n = ::write(fd, data.data() + off, data.size() - off);
            if (n < 0) {
                if (errno == EINTR) {
                    continue;
                }
                return;  // stdout closed: nothing sensible to do
            }
            off += static_cast<std::size_t>(n);
        }
    }

    std::mutex mu_;
    std::condition_variable flushed_cv_;
    std::string buffer_;
    std::uint64_t flush_requests_ = 0;
    std::uint64_t flushed_ = 0;
    std::uint64_t dropped_ = 0;
    bool stop_ = false;  // the writer thread has ended: Flush no longer waits
    std::atomic<int> fd_;
    BackgroundLoop loop_;  // the writer; last: stopped before the members its thread uses go
};

Sink& GetSink() {
    static Sink sink;
    return sink;
}

std::atomic<int> g_min_level{static_cast<int>(Level::kInfo)};

const char* LevelName(Level level) {
    switch (level) {
        case Level::kDebug:
            return "debug";
        case Level::kInfo:
            return "info";
        case Level::kWarn:
            return "warn";
        case Level::kError:
            return "error";
    }
    return "info";
}

}  // namespace

void SetMinLevel(Level level) {
    g_min_level.store(static_cast<int>(level));
}
bool Enabled(Level level) {
    return static_cast<int>(level) >= g_min_level.load(std::memory_order_relaxed);
}

void AppendLinePrefix(std::string& out, Level level, std::string_view msg) {
    out += R"({"time":")";
    out += FormatRfc3339(std::chrono::system_clock::now());
    out += R"(","level":")";
    out += LevelName(level);
    out += R"(","msg":)";
    AppendJsonString(out, msg);
}

namespace {

std::mutex g_forwarder_mu;
Forwarder g_forwarder;  // under g_forwarder_mu, which is held while it runs
std::atomic<bool> g_forwarding{false};

// `fields` as the members of a JSON object, without its braces.
void AppendFields(std::string& out, std::initializer_list<Field> fields) {
    bool first = true;
    for (const Field& f : fields) {
        if (!first) {
            out.push_back(',');
        }
        first = false;
        AppendJsonString(out, f.key);
        out.push_back(':');
        if (const auto* s = std::get_if<std::string_view>(&f.value)) {
            AppendJsonString(out, *s);
        } else if (const auto* i = std::get_if<std::int64_t>(&f.value)) {
            out += std::to_string(*i);
        } else if (const auto* d = std::get_if<double>(&f.value)) {
            char buf[32];
            std::snprintf(buf, sizeof(buf), "%.3f", *d);
            out += buf;
        } else {
            out += std::get<bool>(f.value) ? "true" : "false";
        }
    }
}

// The calling thread's span as members (after `out`'s own, if any): traceId, spanId, parentId.
void AppendSpanFields(std::string& out) {
    const TraceContext* span = CurrentSpan();
    if (span == nullptr) {
        return;
    }
    out += out.empty() ? R"("traceId":")" : R"(,"traceId":")";
    AppendHex(out, span->trace_id.data(), span->trace_id.size());
    out += R"(","spanId":")";
    AppendHex(out, span->span_id.data(), span->span_id.size());
    if (span->HasParent()) {
        out += R"(","parentId":")";
        AppendHex(out, span->parent_id.data(), span->parent_id.size());
    }
    out.push_back('"');
}

}  // namespace

void SetForwarder(Forwarder forwarder) {
    // Waits for a forwarding call in progress: once this returns, the old forwarder never runs again
    // (so what it calls may go).
    std::lock_guard lock(g_forwarder_mu);
    g_forwarder = std::move(forwarder);
    g_forwarding.store(static_cast<bool>(g_forwarder));
}

void Log(Level level, std::string_view msg, std::initializer_list<Field> fields) {
    const bool forwarding = g_forwarding.load(std::memory_order_relaxed);
    if (!Enabled(level) && !forwarding) {
        return;
    }
    std::string members;
    AppendFields(members, fields);
    AppendSpanFields(members);
    if (forwarding) {
        std::lock_guard lock(g_forwarder_mu);
        if (g_forwarder) {
            g_forwarder(level, msg, "{" + members + "}");
        }
    }
    if (!Enabled(level)) {
        return;
    }
    std::string line;
    line.reserve(64 + msg.size() + members.size());
    AppendLinePrefix(line, level, msg);
    if (!members.empty()) {
        line.push_back(',');
        line += members;
    }
    line.push_back('}');
    GetSink().Append(line);
}

void WriteRawLine(std::string_view json_line) {
    GetSink().Append(json_line);
}
void Flush() {
    GetSink().Flush();
}
void SetOutputFdForTest(int fd) {
    GetSink().SetFd(fd);
}

struct LineWriter::Impl {
    explicit Impl(int fd) : sink(fd) {}
    Sink sink;
};

LineWriter::LineWriter(int fd, bool owns) : impl_(std::make_unique<Impl>(fd)), fd_(fd), owns_(owns) {}

LineWriter::~LineWriter() {
    impl_.reset();  // flushes and joins the writer thread
    if (owns_) {
        ::close(fd_);
    }
}

void LineWriter::Append(std::string_view line) {
    impl_->sink.Append(line);
}

void LineWriter::Flush() {
    impl_->sink.Flush();
}

}  // namespace basalt::obs
