// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

namespace basalt {

inline constexpr std::size_t kRecordIdLength = 15;

/// A new record id: 15 characters of [a-z0-9], as PocketBase's. The first 4 are a clock in 64 ms steps
/// that turns over every ~30 hours (36^4 steps); the other 11 come from the CSPRNG (57 bits per step).
/// Records created together so sort together in the id index, and a group commit dirties a few of its
/// pages instead of one per record (with fully random ids, sustained creates slowed by a third as
/// the table grew: docs/benchmarks.md). The order is not a contract: the clock turns over.
std::string NewRecordId();
std::string NewRecordId(std::chrono::system_clock::time_point now);
/// The same shape (clock prefix, then 11 characters of [a-z0-9]) from the fast per-thread generator:
/// for rows whose ids are no secret and are made by the thousand (log entries). Never for records.
std::string NewFastId(std::chrono::system_clock::time_point now);

/// True when `id` is a valid record id: 15 characters of [a-z0-9].
bool IsValidRecordId(std::string_view id);

/// CRC32 (IEEE), as Go's hash/crc32.ChecksumIEEE.
std::uint32_t Crc32(std::string_view data);

/// PocketBase's default collection id: "pbc_" + decimal CRC32 of type+name (`_superusers` -> pbc_3142635823).
std::string CollectionIdFor(std::string_view type, std::string_view name);

/// PocketBase's field id: type + decimal CRC32 of the name (`text` + `id` -> text3208210256).
std::string FieldIdFor(std::string_view type, std::string_view name);

}  // namespace basalt
