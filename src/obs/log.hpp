// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

namespace basalt::obs {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };

/// One key/value of a structured log line.
struct Field {
    std::string_view key;
    std::variant<std::string_view, std::int64_t, double, bool> value;

    Field(std::string_view k, std::string_view v) : key(k), value(v) {}
    Field(std::string_view k, const std::string& v) : key(k), value(std::string_view(v)) {}
    Field(std::string_view k, const char* v) : key(k), value(std::string_view(v)) {}
    Field(std::string_view k, std::int64_t v) : key(k), value(v) {}
    Field(std::string_view k, int v) : key(k), value(static_cast<std::int64_t>(v)) {}
    Field(std::string_view k, std::uint64_t v) : key(k), value(static_cast<std::int64_t>(v)) {}
    Field(std::string_view k, double v) : key(k), value(v) {}
    Field(std::string_view k, bool v) : key(k), value(v) {}
};

/// The process's logger (the one global, see STYLE.md): JSON lines on stdout
/// {"time","level","msg",...fields}. Lines are appended to an in-memory buffer and written by a
/// background thread in batches, so logging never costs a syscall per request.
/// Thread-safe. `Flush()` blocks until everything logged so far is written. When the calling thread
/// works for a span (obs::CurrentSpan, see trace.hpp) the line, and what a Forwarder gets, ends with
/// its traceId, spanId and parentId (when it has a parent).
void Log(Level level, std::string_view msg, std::initializer_list<Field> fields = {});

inline void Info(std::string_view msg, std::initializer_list<Field> fields = {}) {
    Log(Level::kInfo, msg, fields);
}
inline void Warn(std::string_view msg, std::initializer_list<Field> fields = {}) {
    Log(Level::kWarn, msg, fields);
}
inline void Error(std::string_view msg, std::initializer_list<Field> fields = {}) {
    Log(Level::kError, msg, fields);
}
inline void Debug(std::string_view msg, std::initializer_list<Field> fields = {}) {
    Log(Level::kDebug, msg, fields);
}

/// Also hands every message (any level, whatever SetMinLevel says) to `forwarder`, with its fields
/// as a JSON object's text: the app's log store (PocketBase's logs keep app messages beside
/// requests). It runs on the logging thread under a lock: it must be quick and must not log. An empty
/// function stops forwarding; SetForwarder waits for a call in progress, so what the old forwarder
/// used may go once it returns.
using Forwarder = std::function<void(Level level, std::string_view msg, std::string_view fields_json)>;
void SetForwarder(Forwarder forwarder);

/// Appends one already formatted JSON line (without its newline) to the output.
void WriteRawLine(std::string_view json_line);

/// Lines below `level` are dropped (default kInfo).
void SetMinLevel(Level level);
bool Enabled(Level level);

/// Writes out everything buffered so far (call before exit).
void Flush();

/// Where lines go: a file descriptor (default 1, stdout).
void SetOutputFdForTest(int fd);

/// A file of its own for lines (the access log): written like the process log, in batches by a
/// background thread, dropping (and counting) lines rather than blocking when the file is too slow.
/// Thread-safe.
class LineWriter {
public:
    /// Writes to `fd`; closes it at the end when `owns`.
    LineWriter(int fd, bool owns);
    ~LineWriter();
    LineWriter(const LineWriter&) = delete;
    LineWriter& operator=(const LineWriter&) = delete;
    /// Appends one line (without its newline).
    void Append(std::string_view line);
    void Flush();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    int fd_;
    bool owns_;
};

/// Appends the common prefix {"time":"...","level":"...","msg":"..." to `out` (no closing brace).
void AppendLinePrefix(std::string& out, Level level, std::string_view msg);

}  // namespace basalt::obs
