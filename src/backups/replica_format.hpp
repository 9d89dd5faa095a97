// SPDX-License-Identifier: MIT
// The records of a point-in-time replica's segment files (docs/backups.md, "Point-in-time
// recovery"): one restore point each, the pages the transactions of one sync window changed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "db/sqlite/sqlite_database.hpp"

namespace basalt::backups {

/// One restore point read back from a segment: the database's pages as some transactions left them.
struct ReplicaTxn {
    std::int64_t time_us = 0;     // when the writer saw the last of them commit (microseconds since the epoch)
    std::uint32_t page_size = 0;  // of the database
    std::uint32_t db_size = 0;    // the database's size in pages after them
    std::uint32_t commits = 0;    // how many transactions (SQLite's) it holds
    std::string_view pages;       // entries of kPageEntryHeader bytes (page number, zero) then a page;
                                  // valid while the callback that received it runs
};

/// Bytes before a record's pages: magic, page count, time, page size, database size, the stored
/// pages' checksum, the transaction count, the stored length (less than the pages' length: zstd),
/// and a checksum of those.
inline constexpr std::size_t kTxnHeaderBytes = 48;
inline constexpr std::size_t kPageEntryHeader = 8;

/// The transactions the shipper has taken since its last sync, folded into one restore point: the
/// last image of each page wins (a page rewritten by each of 200 group commits is kept once), the
/// database size and time are the last transaction's. Restore granularity is the window (the
/// replica's sync interval, 200 ms), which is what keeps the replica's bytes near the rate of
/// distinct pages written rather than the WAL's.
class ReplicaWindow {
public:
    /// Adds the pages of `f`'s transactions (whole frames ending with a commit frame, one page size).
    void Add(const db::WalFrames& f);
    bool Empty() const { return count_ == 0; }
    std::uint32_t PageSize() const { return page_size_; }
    std::size_t Bytes() const { return body_.size(); }
    /// Appends one record holding every page to `out`, and empties the window.
    void Flush(std::string& out);

private:
    std::uint32_t page_size_ = 0;
    std::uint32_t db_size_ = 0;
    std::uint32_t commits_ = 0;
    std::uint32_t count_ = 0;
    std::int64_t last_us_ = 0;
    std::unordered_map<std::uint32_t, std::size_t> at_;  // page number -> its entry in body_
    std::string body_;
};

/// Hands each record of `segment` to `fn` in order, each checked first (its header and its pages'
/// checksum); stops at the first record that is damaged or cut short (a segment being written when
/// the process died), or when `fn` returns false. Returns the offset just after the last record
/// handed over.
std::size_t ReadTxnRecords(std::string_view segment, const std::function<bool(const ReplicaTxn&)>& fn);

}  // namespace basalt::backups
