// SPDX-License-Identifier: MIT
#include "core/ids.hpp"

#include <algorithm>
#include <chrono>

#include <boost/crc.hpp>

#include "core/random.hpp"

namespace basalt {

std::string NewRecordId() {
    return NewRecordId(std::chrono::system_clock::now());
}

namespace {

constexpr std::size_t kClockChars = 4;
constexpr std::string_view kDigits = "0123456789abcdefghijklmnopqrstuvwxyz";  // in byte order

// The 4-character clock prefix of an id: 64 ms steps, in byte order, turning over every ~30 h.
std::string ClockPrefix(std::chrono::system_clock::time_point now) {
    constexpr std::int64_t kStepMs = 64;
    const std::int64_t ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
    auto step = static_cast<std::uint64_t>(std::max<std::int64_t>(ms, 0) / kStepMs);
    std::string id(kClockChars, '0');
    for (std::size_t i = kClockChars; i-- > 0;) {
        id[i] = kDigits[step % kDigits.size()];
        step /= kDigits.size();
    }
    return id;
}

}  // namespace

std::string NewRecordId(std::chrono::system_clock::time_point now) {
    std::string id = ClockPrefix(now);
    id += SecureRandomString(kRecordIdLength - kClockChars, kAlphanumericLower);
    return id;
}

std::string NewFastId(std::chrono::system_clock::time_point now) {
    std::string id = ClockPrefix(now);
    id.reserve(kRecordIdLength);
    // 11 base-36 digits take 57 bits: two draws, so every digit is uniform enough for an index key.
    std::uint64_t bits = FastRandom64();
    for (std::size_t i = kClockChars; i < kRecordIdLength; ++i) {
        if (i == kClockChars + 6) {
            bits = FastRandom64();
        }
        id.push_back(kDigits[bits % kDigits.size()]);
        bits /= kDigits.size();
    }
    return id;
}

bool IsValidRecordId(std::string_view id) {
    if (id.size() != kRecordIdLength) {
        return false;
    }
    for (char c : id) {
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) {
            return false;
        }
    }
    return true;
}

std::uint32_t Crc32(std::string_view data) {
    boost::crc_32_type crc;
    crc.process_bytes(data.data(), data.size());
    return crc.checksum();
}

std::string CollectionIdFor(std::string_view type, std::string_view name) {
    std::string key(type);
    key.append(name);
    return "pbc_" + std::to_string(Crc32(key));
}

std::string FieldIdFor(std::string_view type, std::string_view name) {
    return std::string(type) + std::to_string(Crc32(name));
}

}  // namespace basalt
