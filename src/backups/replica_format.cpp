// SPDX-License-Identifier: MIT
#include "backups/replica_format.hpp"

#include <chrono>

#include "db/sqlite/wal_reader.hpp"

namespace basalt::backups {

namespace {

constexpr std::uint32_t kTxnMagic = 0x42545831;  // "BTX1"
constexpr std::size_t kMaxFramesPerTxn = 1U << 24;

void PutU32(std::string& out, std::uint32_t v) {
    out.push_back(static_cast<char>(v >> 24));
    out.push_back(static_cast<char>(v >> 16));
    out.push_back(static_cast<char>(v >> 8));
    out.push_back(static_cast<char>(v));
}

std::uint32_t GetU32(std::string_view b, std::size_t at) {
    return (static_cast<std::uint32_t>(static_cast<unsigned char>(b[at])) << 24) |
           (static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 1])) << 16) |
           (static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 2])) << 8) |
           static_cast<std::uint32_t>(static_cast<unsigned char>(b[at + 3]));
}

// The record header's own checksum (over its first 40 bytes), SQLite's WAL algorithm.
std::pair<std::uint32_t, std::uint32_t> HeaderCheck(std::string_view header) {
    std::uint32_t s1 = 0;
    std::uint32_t s2 = 0;
    db::sqlite::WalChecksum(header.substr(0, 40), false, s1, s2);
    return {s1, s2};
}

}  // namespace

std::size_t AppendTxnRecords(const db::WalFrames& f, std::string& out) {
    if (f.gap || f.page_size == 0) {
        return 0;
    }
    const std::size_t frame_bytes = db::sqlite::kWalFrameHeaderBytes + f.page_size;
    const std::int64_t time_us =
        std::chrono::duration_cast<std::chrono::microseconds>(f.committed.time_since_epoch()).count();
    const std::string_view bytes(f.bytes);
    std::uint32_t chain1 = f.chain1;
    std::uint32_t chain2 = f.chain2;
    std::size_t start = 0;
    std::size_t count = 0;
    for (std::size_t at = 0; at + frame_bytes <= bytes.size(); at += frame_bytes) {
        if (GetU32(bytes, at + 4) == 0) {
            continue;  // not a commit frame
        }
        const std::size_t end = at + frame_bytes;
        const std::size_t header_at = out.size();
        PutU32(out, kTxnMagic);
        PutU32(out, static_cast<std::uint32_t>((end - start) / frame_bytes));
        PutU32(out, static_cast<std::uint32_t>(static_cast<std::uint64_t>(time_us) >> 32));
        PutU32(out, static_cast<std::uint32_t>(static_cast<std::uint64_t>(time_us)));
        PutU32(out, f.page_size);
        PutU32(out, f.wal_magic);
        PutU32(out, f.salt1);
        PutU32(out, f.salt2);
        PutU32(out, chain1);
        PutU32(out, chain2);
        const auto [c1, c2] = HeaderCheck(std::string_view(out).substr(header_at));
        PutU32(out, c1);
        PutU32(out, c2);
        out.append(bytes.substr(start, end - start));
        chain1 = GetU32(bytes, at + 16);
        chain2 = GetU32(bytes, at + 20);
        start = end;
        ++count;
    }
    return count;
}

std::size_t ReadTxnRecords(std::string_view segment, const std::function<bool(const ReplicaTxn&)>& fn) {
    std::size_t at = 0;
    while (segment.size() - at >= kTxnHeaderBytes) {
        const std::string_view header = segment.substr(at, kTxnHeaderBytes);
        if (GetU32(header, 0) != kTxnMagic) {
            break;
        }
        const auto [c1, c2] = HeaderCheck(header);
        if (c1 != GetU32(header, 40) || c2 != GetU32(header, 44)) {
            break;
        }
        ReplicaTxn txn;
        const std::uint32_t frames = GetU32(header, 4);
        txn.time_us =
            static_cast<std::int64_t>((static_cast<std::uint64_t>(GetU32(header, 8)) << 32) | GetU32(header, 12));
        txn.page_size = GetU32(header, 16);
        db::sqlite::WalChain chain;
        chain.magic = GetU32(header, 20);
        chain.salt1 = GetU32(header, 24);
        chain.salt2 = GetU32(header, 28);
        chain.s1 = GetU32(header, 32);
        chain.s2 = GetU32(header, 36);
        if (txn.page_size < 512 || txn.page_size > 65536 || (txn.page_size & (txn.page_size - 1)) != 0 || frames == 0 ||
            frames > kMaxFramesPerTxn ||
            (chain.magic != db::sqlite::kWalMagicLittle && chain.magic != db::sqlite::kWalMagicBig)) {
            break;
        }
        const std::size_t frame_bytes = db::sqlite::kWalFrameHeaderBytes + txn.page_size;
        const std::size_t body = frame_bytes * frames;
        if (segment.size() - at - kTxnHeaderBytes < body) {
            break;  // cut short
        }
        txn.frames = segment.substr(at + kTxnHeaderBytes, body);
        if (!db::sqlite::CheckWalFrames(txn.frames, txn.page_size, chain)) {
            break;
        }
        // One transaction: only its last frame is a commit frame.
        bool shape = true;
        for (std::size_t f = 0; f < frames; ++f) {
            const bool commit = GetU32(txn.frames, f * frame_bytes + 4) != 0;
            shape = shape && (commit == (f + 1 == frames));
        }
        if (!shape) {
            break;
        }
        txn.db_size = GetU32(txn.frames, body - frame_bytes + 4);
        at += kTxnHeaderBytes + body;
        if (!fn(txn)) {
            break;
        }
    }
    return at;
}

}  // namespace basalt::backups
