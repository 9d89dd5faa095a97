// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace basalt {

inline constexpr std::size_t kRecordIdLength = 15;

/// A new record id: 15 characters of [a-z0-9] from the CSPRNG, as PocketBase generates them.
std::string NewRecordId();

/// True when `id` is a valid record id: 15 characters of [a-z0-9].
bool IsValidRecordId(std::string_view id);

/// CRC32 (IEEE), as Go's hash/crc32.ChecksumIEEE.
std::uint32_t Crc32(std::string_view data);

/// PocketBase's default collection id: "pbc_" + decimal CRC32 of type+name (`_superusers` -> pbc_3142635823).
std::string CollectionIdFor(std::string_view type, std::string_view name);

/// PocketBase's field id: type + decimal CRC32 of the name (`text` + `id` -> text3208210256).
std::string FieldIdFor(std::string_view type, std::string_view name);

}  // namespace basalt
