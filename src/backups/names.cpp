// SPDX-License-Identifier: MIT
#include "backups/names.hpp"

#include <chrono>
#include <cstdio>
#include <ctime>

namespace basalt::backups {

namespace {

constexpr std::size_t kMaxAppNameInName = 50;

bool IsUpper(char c) {
    return c >= 'A' && c <= 'Z';
}

bool IsWordChar(char c) {
    return IsUpper(c) || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

}  // namespace

bool ValidName(std::string_view name) {
    constexpr std::string_view kExt = ".zip";
    if (name.size() <= kExt.size() || name.size() > kMaxNameLength || !name.ends_with(kExt)) {
        return false;
    }
    for (const char c : name.substr(0, name.size() - kExt.size())) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

bool ValidKey(std::string_view key) {
    return ValidName(key) || (key.starts_with('@') && ValidName(key.substr(1)));
}

std::string SnakeCase(std::string_view text) {
    std::string out;
    std::size_t i = 0;
    while (i < text.size()) {
        if (!IsWordChar(text[i])) {
            ++i;
            continue;
        }
        const std::size_t start = i;
        while (i < text.size() && IsWordChar(text[i])) {
            ++i;
        }
        if (!out.empty()) {
            out += '_';
        }
        for (std::size_t j = start; j < i; ++j) {
            if (IsUpper(text[j]) && j > start && !IsUpper(text[j - 1])) {
                out += '_';
            }
            out += IsUpper(text[j]) ? static_cast<char>(text[j] - 'A' + 'a') : text[j];
        }
    }
    return out;
}

namespace {

// PocketBase's generateBackupName: <prefix><app name in snake case, ≤ 50>_<YYYYMMDDhhmmss UTC>.zip.
std::string GeneratedName(std::string_view prefix, std::string_view app_name, SystemTime now) {
    std::string app = SnakeCase(app_name);
    if (app.size() > kMaxAppNameInName) {
        app.resize(kMaxAppNameInName);
    }
    const std::time_t t = std::chrono::system_clock::to_time_t(now);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char stamp[32];
    std::snprintf(
        stamp,
        sizeof stamp,
        "%04d%02d%02d%02d%02d%02d",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    );
    return std::string(prefix) + (app.empty() ? std::string() : app + "_") + stamp + ".zip";
}

}  // namespace

std::string DefaultName(std::string_view app_name, SystemTime now) {
    return GeneratedName("pb_backup_", app_name, now);
}

std::string AutoName(std::string_view app_name, SystemTime now) {
    return GeneratedName(kAutoPrefix, app_name, now);
}

}  // namespace basalt::backups
