// SPDX-License-Identifier: MIT
// The replica's layout helpers shared by replica.cpp and replica_remote.cpp (module-internal).
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace basalt::backups::replica_layout {

std::int64_t MicrosOf(std::chrono::system_clock::time_point t);
/// "20261203T174512.345Z": sorts as time does.
std::string GenerationName(std::chrono::system_clock::time_point t);
bool IsGenerationName(const std::string& name);
/// snapshot.time's text: microseconds since the epoch.
std::optional<std::int64_t> ParseSnapshotTime(const std::string& text);
/// A generation folder's snapshot.time (none when missing, or with `need_snapshot`, when
/// snapshot.db is missing: a staged generation whose snapshot was uploaded keeps only the time).
std::optional<std::int64_t> ReadSnapshotTime(const std::filesystem::path& generation, bool need_snapshot);
/// The generation folders of `dest`, sorted (oldest first).
std::vector<std::string> GenerationNames(const std::filesystem::path& dest);
/// The segment files of a generation folder, in order.
std::vector<std::filesystem::path> SegmentFiles(const std::filesystem::path& generation);

}  // namespace basalt::backups::replica_layout
