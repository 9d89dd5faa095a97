// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <string>

namespace basalt {

using SystemTime = std::chrono::system_clock::time_point;

/// Wall-clock time, injected so that tests control it.
class Clock {
public:
    virtual ~Clock() = default;
    virtual SystemTime Now() const = 0;
};

/// The real clock.
class SystemClock final : public Clock {
public:
    SystemTime Now() const override { return std::chrono::system_clock::now(); }
};

/// PocketBase's datetime wire format, UTC with milliseconds: "2006-01-02 15:04:05.000Z".
std::string FormatDateTime(SystemTime t);

/// RFC 3339 with milliseconds, for logs: "2006-01-02T15:04:05.000Z".
std::string FormatRfc3339(SystemTime t);

/// Seconds since the Unix epoch.
inline long long UnixSeconds(SystemTime t) {
    return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

}  // namespace basalt
