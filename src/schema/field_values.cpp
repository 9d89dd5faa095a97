// SPDX-License-Identifier: MIT
// Reading submitted values as PocketBase's casts do, dates in its formats, password lengths.
#include "schema/field_values.hpp"

#include <charconv>
#include <cmath>
#include <ctime>
#include <set>

#include "core/text.hpp"
#include "schema/collection.hpp"

namespace basalt::schema {

namespace json = boost::json;

std::optional<double> ValueAsNumber(const json::value& v) {
    if (v.is_number()) {
        const double d = v.to_number<double>();
        return std::isfinite(d) ? std::optional<double>(d) : std::nullopt;
    }
    if (v.is_string()) {
        // Go's strconv.ParseFloat: an optional sign, decimal or exponent form, "NaN"/"Inf" spelled
        // out (returned as they are: the caller refuses them).
        std::string_view s = v.as_string();
        if (s.empty()) {
            return 0.0;
        }
        if (s.front() == '+' && s.size() > 1 && s[1] != '-') {
            s.remove_prefix(1);
        }
        double d = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
        if (ec == std::errc() && p == s.data() + s.size()) {
            return d;
        }
        return std::nullopt;
    }
    if (v.is_bool()) {
        return v.as_bool() ? 1.0 : 0.0;
    }
    if (v.is_null()) {
        return 0.0;
    }
    return std::nullopt;
}

std::optional<std::vector<std::string>> ValueAsList(const json::value& v) {
    std::vector<std::string> out;
    if (v.is_null()) {
        return out;
    }
    if (v.is_string()) {
        if (!v.as_string().empty()) {
            out.emplace_back(v.as_string());
        }
        return out;
    }
    if (!v.is_array()) {
        return std::nullopt;
    }
    std::set<std::string> seen;
    for (const auto& item : v.as_array()) {
        if (!item.is_string()) {
            return std::nullopt;
        }
        std::string s(item.as_string());
        if (!s.empty() && seen.insert(s).second) {
            out.push_back(std::move(s));
        }
    }
    return out;
}

ColumnValue NumberColumn(double d) {
    if (std::floor(d) == d && std::fabs(d) < 9.0e15) {
        return static_cast<std::int64_t>(d);
    }
    return d;
}

namespace {

// The `len` digits of `t` at `pos` as a number; false when they are not all there.
bool ReadDigits(std::string_view t, std::size_t pos, std::size_t len, int& out) {
    if (pos + len > t.size()) {
        return false;
    }
    out = 0;
    for (std::size_t i = pos; i < pos + len; ++i) {
        if (t[i] < '0' || t[i] > '9') {
            return false;
        }
        out = out * 10 + (t[i] - '0');
    }
    return true;
}

// A date and time as written, before it is normalized to UTC.
struct DateTimeParts {
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, ms = 0;
    long offset_minutes = 0;
};

// The digits after the '.' at t[i - 1]: milliseconds from the first three (the rest are dropped).
// false without a digit.
bool ReadFraction(std::string_view t, std::size_t& i, int& ms) {
    int digits = 0;
    int frac = 0;
    while (i < t.size() && t[i] >= '0' && t[i] <= '9') {
        if (digits < 3) {
            frac = frac * 10 + (t[i] - '0');
        }
        ++digits;
        ++i;
    }
    if (digits == 0) {
        return false;
    }
    for (int k = digits; k < 3; ++k) {
        frac *= 10;
    }
    ms = frac;
    return true;
}

// What follows the date: " hh:mm:ss" (or 'T'), an optional fraction, then the end, "Z", or an
// offset "+hh:mm" / "-hh:mm".
bool ReadTime(std::string_view t, DateTimeParts& p) {
    std::size_t i = 10;
    if (t[i] != ' ' && t[i] != 'T') {
        return false;
    }
    if (!ReadDigits(t, i + 1, 2, p.h) || t.size() < i + 9 || t[i + 3] != ':' || !ReadDigits(t, i + 4, 2, p.mi) ||
        t[i + 6] != ':' || !ReadDigits(t, i + 7, 2, p.s)) {
        return false;
    }
    i += 9;
    if (i < t.size() && t[i] == '.') {
        ++i;
        if (!ReadFraction(t, i, p.ms)) {
            return false;
        }
    }
    if (i >= t.size() || (t[i] == 'Z' && i + 1 == t.size())) {
        return true;
    }
    if ((t[i] == '+' || t[i] == '-') && t.size() == i + 6 && t[i + 3] == ':') {
        int oh = 0, om = 0;
        if (!ReadDigits(t, i + 1, 2, oh) || !ReadDigits(t, i + 4, 2, om)) {
            return false;
        }
        p.offset_minutes = (t[i] == '+' ? 1 : -1) * (oh * 60L + om);
        return true;
    }
    return false;
}

// "YYYY-MM-DD HH:MM:SS.mmmZ" in UTC; nullopt for a day the month does not have.
std::optional<std::string> FormatUtc(const DateTimeParts& p) {
    std::tm tm{};
    tm.tm_year = p.y - 1900;
    tm.tm_mon = p.mo - 1;
    tm.tm_mday = p.d;
    tm.tm_hour = p.h;
    tm.tm_min = p.mi;
    tm.tm_sec = p.s;
    std::time_t secs = timegm(&tm) - p.offset_minutes * 60;
    std::tm out{};
    gmtime_r(&secs, &out);
    if (p.offset_minutes == 0 && out.tm_mday != p.d) {
        return std::nullopt;  // 2024-02-31 and the like
    }
    char buf[64];
    std::snprintf(
        buf,
        sizeof(buf),
        "%04d-%02d-%02d %02d:%02d:%02d.%03dZ",
        out.tm_year + 1900,
        out.tm_mon + 1,
        out.tm_mday,
        out.tm_hour,
        out.tm_min,
        out.tm_sec,
        p.ms
    );
    return std::string(buf);
}

}  // namespace

std::optional<std::string> NormalizeDate(std::string_view t) {
    if (t.size() < 10 || t.size() > 40) {
        return std::nullopt;
    }
    DateTimeParts p;
    if (!ReadDigits(t, 0, 4, p.y) || t[4] != '-' || !ReadDigits(t, 5, 2, p.mo) || t[7] != '-' ||
        !ReadDigits(t, 8, 2, p.d)) {
        return std::nullopt;
    }
    if (t.size() > 10 && !ReadTime(t, p)) {
        return std::nullopt;
    }
    if (p.mo < 1 || p.mo > 12 || p.d < 1 || p.d > 31 || p.h > 23 || p.mi > 59 || p.s > 60) {
        return std::nullopt;
    }
    return FormatUtc(p);
}

std::optional<FieldError> PasswordLengthError(const Field* field, std::string_view plain, std::string_view name) {
    std::int64_t min = 0;
    std::int64_t max = 0;
    if (field != nullptr) {
        min = static_cast<std::int64_t>(field->Options().min.value_or(0));
        max = static_cast<std::int64_t>(field->Options().max.value_or(0));
    }
    if (max <= 0) {
        max = kDefaultPasswordMax;
    }
    const auto n = static_cast<std::int64_t>(Utf8Length(plain));
    if (n < min) {
        return FieldError{
            std::string(name),
            "validation_min_text_constraint",
            "Must be at least " + std::to_string(min) + " character(s)."};
    }
    if (n > max) {
        return FieldError{
            std::string(name),
            "validation_max_text_constraint",
            "Must be less than " + std::to_string(max) + " character(s)."};
    }
    return std::nullopt;
}

}  // namespace basalt::schema
