// SPDX-License-Identifier: MIT
#include "backups/replica_format.hpp"

#include <chrono>

#include "db/sqlite/wal_reader.hpp"

namespace basalt::backups {

namespace {

constexpr std::uint32_t kTxnMagic = 0x42545832;  // "BTX2"
constexpr std::size_t kMaxPagesPerRecord = 1U << 24;

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

// SQLite's WAL checksum algorithm (fast, catches torn and flipped bytes) over `bytes`, a multiple of 8.
std::pair<std::uint32_t, std::uint32_t> Check(std::string_view bytes) {
    std::uint32_t s1 = 0;
    std::uint32_t s2 = 0;
    db::sqlite::WalChecksum(bytes, false, s1, s2);
    return {s1, s2};
}

void SetU32(std::string& out, std::size_t at, std::uint32_t v) {
    out[at] = static_cast<char>(v >> 24);
    out[at + 1] = static_cast<char>(v >> 16);
    out[at + 2] = static_cast<char>(v >> 8);
    out[at + 3] = static_cast<char>(v);
}

}  // namespace

void ReplicaWindow::Add(const db::WalFrames& f) {
    if (f.gap || f.page_size == 0) {
        return;
    }
    page_size_ = f.page_size;
    const std::size_t frame_bytes = db::sqlite::kWalFrameHeaderBytes + f.page_size;
    const std::string_view bytes(f.bytes);
    for (std::size_t at = 0; at + frame_bytes <= bytes.size(); at += frame_bytes) {
        const std::uint32_t page = GetU32(bytes, at);
        const std::string_view image = bytes.substr(at + db::sqlite::kWalFrameHeaderBytes, f.page_size);
        auto [it, added] = at_.try_emplace(page, body_.size());
        if (added) {
            PutU32(body_, page);
            PutU32(body_, 0);
            body_.append(image);
            ++count_;
        } else {
            body_.replace(it->second + kPageEntryHeader, f.page_size, image);
        }
        if (const std::uint32_t size = GetU32(bytes, at + 4); size != 0) {
            db_size_ = size;
            ++commits_;
        }
    }
    last_us_ = std::chrono::duration_cast<std::chrono::microseconds>(f.committed.time_since_epoch()).count();
}

void ReplicaWindow::Flush(std::string& out) {
    if (count_ == 0) {
        return;
    }
    const auto [p1, p2] = Check(body_);
    const std::size_t header_at = out.size();
    PutU32(out, kTxnMagic);
    PutU32(out, count_);
    PutU32(out, static_cast<std::uint32_t>(static_cast<std::uint64_t>(last_us_) >> 32));
    PutU32(out, static_cast<std::uint32_t>(static_cast<std::uint64_t>(last_us_)));
    PutU32(out, page_size_);
    PutU32(out, db_size_);
    PutU32(out, p1);
    PutU32(out, p2);
    PutU32(out, commits_);
    PutU32(out, 0);
    PutU32(out, 0);
    PutU32(out, 0);
    const auto [h1, h2] = Check(std::string_view(out).substr(header_at, 40));
    SetU32(out, header_at + 40, h1);
    SetU32(out, header_at + 44, h2);
    out.append(body_);
    body_.clear();
    at_.clear();
    count_ = 0;
    commits_ = 0;
}

std::size_t ReadTxnRecords(std::string_view segment, const std::function<bool(const ReplicaTxn&)>& fn) {
    std::size_t at = 0;
    while (segment.size() - at >= kTxnHeaderBytes) {
        const std::string_view header = segment.substr(at, kTxnHeaderBytes);
        if (GetU32(header, 0) != kTxnMagic) {
            break;
        }
        const auto [h1, h2] = Check(header.substr(0, 40));
        if (h1 != GetU32(header, 40) || h2 != GetU32(header, 44)) {
            break;
        }
        ReplicaTxn txn;
        const std::uint32_t pages = GetU32(header, 4);
        txn.time_us =
            static_cast<std::int64_t>((static_cast<std::uint64_t>(GetU32(header, 8)) << 32) | GetU32(header, 12));
        txn.page_size = GetU32(header, 16);
        txn.db_size = GetU32(header, 20);
        txn.commits = GetU32(header, 32);
        if (txn.page_size < 512 || txn.page_size > 65536 || (txn.page_size & (txn.page_size - 1)) != 0 || pages == 0 ||
            pages > kMaxPagesPerRecord || txn.db_size == 0) {
            break;
        }
        const std::size_t body = (kPageEntryHeader + txn.page_size) * pages;
        if (segment.size() - at - kTxnHeaderBytes < body) {
            break;  // cut short
        }
        txn.pages = segment.substr(at + kTxnHeaderBytes, body);
        const auto [p1, p2] = Check(txn.pages);
        if (p1 != GetU32(header, 24) || p2 != GetU32(header, 28)) {
            break;
        }
        bool valid = true;
        for (std::size_t e = 0; e < body && valid; e += kPageEntryHeader + txn.page_size) {
            valid = GetU32(txn.pages, e) != 0;
        }
        if (!valid) {
            break;
        }
        at += kTxnHeaderBytes + body;
        if (!fn(txn)) {
            break;
        }
    }
    return at;
}

}  // namespace basalt::backups
