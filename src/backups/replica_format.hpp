// SPDX-License-Identifier: MIT
// The records of a point-in-time replica's segment files (docs/backups.md, "Point-in-time
// recovery"): one committed transaction each, its WAL frames kept as SQLite wrote them, so the
// WAL's own checksum chain verifies them when they are replayed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "db/sqlite/sqlite_database.hpp"

namespace basalt::backups {

/// One committed transaction read back from a segment.
struct ReplicaTxn {
    std::int64_t time_us = 0;     // when the writer saw it commit (microseconds since the epoch)
    std::uint32_t page_size = 0;  // of the database
    std::uint32_t db_size = 0;    // the database's size in pages after it
    std::string_view frames;      // whole WAL frames (24-byte header, then a page)
};

/// Bytes before a record's frames: magic, frame count, time, page size, the WAL's magic and salts,
/// the checksum chain before the first frame, and a checksum of those.
inline constexpr std::size_t kTxnHeaderBytes = 48;

/// Appends the transactions of `f` to `out`, a record per commit frame. `f` holds whole frames
/// ending with a commit frame (what the WAL tap hands over); nothing is appended for a gap notice.
/// Returns how many transactions were appended.
std::size_t AppendTxnRecords(const db::WalFrames& f, std::string& out);

/// Hands each record of `segment` to `fn` in order, each checked first (its header, its frames'
/// salts and checksum chain, a single commit frame at its end); stops at the first record that is
/// damaged or cut short (a segment being written when the process died), or when `fn` returns
/// false. Returns the offset just after the last record handed over.
std::size_t ReadTxnRecords(std::string_view segment, const std::function<bool(const ReplicaTxn&)>& fn);

}  // namespace basalt::backups
