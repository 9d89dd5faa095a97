// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace basalt::db::sqlite {

/// The 32-bit big-endian integer at `at` in `b` (the WAL's and the replica's byte order); `b` holds
/// at least at + 4 bytes.
std::uint32_t BigEndian32(std::string_view b, std::size_t at);

/// The 32-byte header of a SQLite WAL file (https://www.sqlite.org/fileformat.html#the_write_ahead_log).
struct WalHeader {
    std::uint32_t magic = 0;  // 0x377f0682 (checksums over little-endian words) or 0x377f0683 (big-endian)
    std::uint32_t version = 0;
    std::uint32_t page_size = 0;
    std::uint32_t checkpoint_seq = 0;  // bumped at each WAL restart
    std::uint32_t salt1 = 0;           // changes at each WAL restart: frames with other salts are stale
    std::uint32_t salt2 = 0;
    std::uint32_t checksum1 = 0;
    std::uint32_t checksum2 = 0;
};

/// One frame of a complete transaction: a page image and, for the transaction's last frame, the
/// database's size in pages after it committed.
struct WalFrame {
    std::uint32_t page = 0;
    std::uint32_t db_size = 0;  // non-zero: the commit frame of its transaction
    std::uint64_t offset = 0;   // of the frame's 24-byte header in the file; its page follows
};

/// What ScanWal found: the header and the frames of every committed transaction, in order, up to
/// the first frame that is stale (other salts), damaged (its checksum chain breaks) or cut short;
/// frames of a transaction without its commit frame are left out.
struct WalScan {
    WalHeader header;
    std::vector<WalFrame> frames;
    std::uint64_t end = 32;  // the byte just after the last commit frame (32: none)
};

constexpr std::uint32_t kWalMagicLittle = 0x377f0682;
constexpr std::uint32_t kWalMagicBig = 0x377f0683;
constexpr std::size_t kWalHeaderBytes = 32;
constexpr std::size_t kWalFrameHeaderBytes = 24;

/// Where a WAL's checksum chain stands: its incarnation (byte order, salts) and the running
/// checksum after the last frame (or the header) checked.
struct WalChain {
    std::uint32_t magic = kWalMagicLittle;
    std::uint32_t salt1 = 0;
    std::uint32_t salt2 = 0;
    std::uint32_t s1 = 0;
    std::uint32_t s2 = 0;
};

/// SQLite's WAL checksum over `bytes` (a multiple of 8 bytes), continuing from `s1`, `s2`.
void WalChecksum(std::string_view bytes, bool big_endian, std::uint32_t& s1, std::uint32_t& s2);

/// Checks that `frames` (whole frames of `page_size`) continue `chain`: each frame's salts and
/// checksum; `chain` then stands after the last. kInvalidArgument naming the first frame that does
/// not (chain is left after the frame before it).
Result<void> CheckWalFrames(std::string_view frames, std::uint32_t page_size, WalChain& chain);

/// kInvalidArgument when `wal` does not begin with a valid WAL header (magic, version 3007000, a
/// page size that is a power of two from 512 to 65536, the header's checksum).
Result<WalHeader> ParseWalHeader(std::string_view wal);

/// The committed transactions in `wal`, the bytes of a `-wal` file (see WalScan). kInvalidArgument
/// for an invalid header. Never reads past `wal`.
Result<WalScan> ScanWal(std::string_view wal);

}  // namespace basalt::db::sqlite
