// SPDX-License-Identifier: MIT
#include "core/clock.hpp"

#include <ctime>

namespace basalt {

namespace {

std::string Format(SystemTime t, char separator) {
    using std::chrono::duration_cast;
    using std::chrono::milliseconds;
    const auto ms_total = duration_cast<milliseconds>(t.time_since_epoch()).count();
    auto secs = static_cast<std::time_t>(ms_total / 1000);
    auto ms = static_cast<int>(ms_total % 1000);
    if (ms < 0) {
        ms += 1000;
        secs -= 1;
    }
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[40];
    const int n = std::snprintf(
        buf,
        sizeof(buf),
        "%04d-%02d-%02d%c%02d:%02d:%02d.%03dZ",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        separator,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        ms
    );
    return std::string(buf, static_cast<std::size_t>(n));
}

}  // namespace

std::string FormatDateTime(SystemTime t) {
    return Format(t, ' ');
}
std::string FormatRfc3339(SystemTime t) {
    return Format(t, 'T');
}

}  // namespace basalt
