// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/clock.hpp"

namespace basalt::backups {

/// PocketBase's limit on a backup name's length (validation.Length(1, 150)).
inline constexpr std::size_t kMaxNameLength = 150;

/// A backup name as PocketBase accepts one: `^[a-z0-9_-]+\.zip$`, 1 to 150 characters. Every name is
/// checked with it before it touches the file system, so a name is always one plain file name.
bool ValidName(std::string_view name);

/// The prefix of the backups the schedule makes (PocketBase's "@auto_pb_backup_"); pruning to
/// settings.backups.cronMaxKeep counts and removes only these.
inline constexpr std::string_view kAutoPrefix = "@auto_pb_backup_";

/// The key of a stored backup: a ValidName, or a ValidName after a leading '@' (the schedule's own
/// names, which no client can choose). Checked before any key reaches the file system.
bool ValidKey(std::string_view key);

/// PocketBase's inflector.Snakecase for ASCII: words split at non-word characters and underscores,
/// an underscore before an uppercase letter that follows a non-uppercase one, all lowercase.
std::string SnakeCase(std::string_view text);

/// PocketBase's generated name: `pb_backup_<app name in snake case, ≤ 50>_<YYYYMMDDhhmmss UTC>.zip`;
/// without an app name `pb_backup_<YYYYMMDDhhmmss>.zip`.
std::string DefaultName(std::string_view app_name, SystemTime now);

/// The schedule's name: `@auto_pb_backup_<app name in snake case, ≤ 50>_<YYYYMMDDhhmmss UTC>.zip`.
std::string AutoName(std::string_view app_name, SystemTime now);

}  // namespace basalt::backups
