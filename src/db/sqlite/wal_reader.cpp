// SPDX-License-Identifier: MIT
#include "db/sqlite/wal_reader.hpp"

#include <bit>
#include <cstring>

namespace basalt::db::sqlite {

std::uint32_t BigEndian32(std::string_view b, std::size_t at) {
    return (static_cast<std::uint32_t>(static_cast<unsigned char>(b[at])) << 24) |
           (static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 1])) << 16) |
           (static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 2])) << 8) |
           static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 3]));
}

namespace {

constexpr std::uint32_t kWalVersion = 3007000;

std::uint32_t LittleEndian32(std::string_view b, std::size_t at) {
    return (static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 3])) << 24) |
           (static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 2])) << 16) |
           (static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 1])) << 8) |
           static_cast<std::uint32_t>(static_cast<unsigned char>(b[at]));
}

// SQLite's WAL checksum: over pairs of 32-bit words (of the byte order the magic names), each pair
// feeding both sums; it continues from `s1`, `s2` (the previous frame's, or zero for the header).
void Checksum(std::string_view bytes, bool big_endian, std::uint32_t& s1, std::uint32_t& s2) {
    if (!big_endian && std::endian::native == std::endian::little) {
        // The common case (x86, ARM): whole words loaded as they are (the WAL tap checks every
        // frame of every commit in the writer thread).
        const char* p = bytes.data();
        for (std::size_t i = 0; i + 8 <= bytes.size(); i += 8) {
            std::uint32_t x[2];
            std::memcpy(x, p + i, sizeof x);
            s1 += x[0] + s2;
            s2 += x[1] + s1;
        }
        return;
    }
    for (std::size_t i = 0; i + 8 <= bytes.size(); i += 8) {
        const std::uint32_t x0 = big_endian ? BigEndian32(bytes, i) : LittleEndian32(bytes, i);
        const std::uint32_t x1 = big_endian ? BigEndian32(bytes, i + 4) : LittleEndian32(bytes, i + 4);
        s1 += x0 + s2;
        s2 += x1 + s1;
    }
}

Result<void> Refused(const std::string& why) {
    return MakeError(ErrorCode::kInvalidArgument, "not a valid WAL: " + why);
}

}  // namespace

void WalChecksum(std::string_view bytes, bool big_endian, std::uint32_t& s1, std::uint32_t& s2) {
    Checksum(bytes, big_endian, s1, s2);
}

Result<void> CheckWalFrames(std::string_view frames, std::uint32_t page_size, WalChain& chain) {
    const std::size_t frame_bytes = kWalFrameHeaderBytes + page_size;
    if (page_size < 512 || frames.size() % frame_bytes != 0) {
        return Refused("not a whole number of frames");
    }
    const bool big = chain.magic == kWalMagicBig;
    for (std::size_t at = 0, n = 1; at < frames.size(); at += frame_bytes, ++n) {
        const std::string_view frame = frames.substr(at, frame_bytes);
        std::uint32_t s1 = chain.s1;
        std::uint32_t s2 = chain.s2;
        Checksum(frame.substr(0, 8), big, s1, s2);
        Checksum(frame.substr(kWalFrameHeaderBytes), big, s1, s2);
        if (BigEndian32(frame, 0) == 0 || BigEndian32(frame, 8) != chain.salt1 ||
            BigEndian32(frame, 12) != chain.salt2 || s1 != BigEndian32(frame, 16) || s2 != BigEndian32(frame, 20)) {
            return Refused("frame " + std::to_string(n) + " does not continue the checksum chain");
        }
        chain.s1 = s1;
        chain.s2 = s2;
    }
    return Ok();
}

Result<WalHeader> ParseWalHeader(std::string_view wal) {
    if (wal.size() < kWalHeaderBytes) {
        return Refused("shorter than its header").error();
    }
    WalHeader h;
    h.magic = BigEndian32(wal, 0);
    h.version = BigEndian32(wal, 4);
    h.page_size = BigEndian32(wal, 8);
    h.checkpoint_seq = BigEndian32(wal, 12);
    h.salt1 = BigEndian32(wal, 16);
    h.salt2 = BigEndian32(wal, 20);
    h.checksum1 = BigEndian32(wal, 24);
    h.checksum2 = BigEndian32(wal, 28);
    if (h.magic != kWalMagicLittle && h.magic != kWalMagicBig) {
        return Refused("bad magic").error();
    }
    if (h.version != kWalVersion) {
        return Refused("unknown version " + std::to_string(h.version)).error();
    }
    if (h.page_size < 512 || h.page_size > 65536 || (h.page_size & (h.page_size - 1)) != 0) {
        return Refused("bad page size " + std::to_string(h.page_size)).error();
    }
    std::uint32_t s1 = 0;
    std::uint32_t s2 = 0;
    Checksum(wal.substr(0, 24), h.magic == kWalMagicBig, s1, s2);
    if (s1 != h.checksum1 || s2 != h.checksum2) {
        return Refused("the header's checksum does not match").error();
    }
    return h;
}

Result<WalScan> ScanWal(std::string_view wal) {
    BASALT_ASSIGN_OR_RETURN(const WalHeader header, ParseWalHeader(wal));
    WalScan scan;
    scan.header = header;
    const bool big = header.magic == kWalMagicBig;
    const std::size_t frame_bytes = kWalFrameHeaderBytes + header.page_size;
    std::uint32_t s1 = header.checksum1;
    std::uint32_t s2 = header.checksum2;
    std::size_t pending = 0;  // frames of the transaction being read, not committed yet
    for (std::uint64_t at = kWalHeaderBytes; at + frame_bytes <= wal.size(); at += frame_bytes) {
        const std::string_view frame = wal.substr(at, frame_bytes);
        const std::uint32_t page = BigEndian32(frame, 0);
        const std::uint32_t db_size = BigEndian32(frame, 4);
        if (page == 0 || BigEndian32(frame, 8) != header.salt1 || BigEndian32(frame, 12) != header.salt2) {
            break;  // stale: a frame of the WAL before its last restart
        }
        Checksum(frame.substr(0, 8), big, s1, s2);
        Checksum(frame.substr(kWalFrameHeaderBytes), big, s1, s2);
        if (s1 != BigEndian32(frame, 16) || s2 != BigEndian32(frame, 20)) {
            break;  // damaged, or a frame being written
        }
        scan.frames.push_back({page, db_size, at});
        ++pending;
        if (db_size != 0) {
            pending = 0;
            scan.end = at + frame_bytes;
        }
    }
    scan.frames.resize(scan.frames.size() - pending);
    return scan;
}

}  // namespace basalt::db::sqlite
