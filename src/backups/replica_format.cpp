// SPDX-License-Identifier: MIT
#include "backups/replica_format.hpp"

#include <chrono>

#include <zstd.h>

#include "db/sqlite/wal_reader.hpp"

namespace basalt::backups {

namespace {

constexpr std::uint32_t kTxnMagic = 0x42545833;  // "BTX3"
// Points up to this many bytes of pages are compressed (zstd level 1); a reader refuses a compressed
// point that claims more, so a forged header cannot make it allocate much.
constexpr std::size_t kMaxCompressedRaw = std::size_t{64} << 20;
constexpr int kZstdLevel = 1;
constexpr std::size_t kMaxPagesPerRecord = 1U << 24;

void PutU32(std::string& out, std::uint32_t v) {
    out.push_back(static_cast<char>(v >> 24));
    out.push_back(static_cast<char>(v >> 16));
    out.push_back(static_cast<char>(v >> 8));
    out.push_back(static_cast<char>(v));
}

std::uint32_t GetU32(std::string_view b, std::size_t at) {
    return db::sqlite::BigEndian32(b, at);
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

// The point's pages are stored compressed with zstd when that is smaller (the record says so by a
// stored length other than the pages' length), padded with zeros to a multiple of 8 bytes for the
// checksum.
void ReplicaWindow::Flush(std::string& out) {
    if (count_ == 0) {
        return;
    }
    std::string_view stored = body_;
    std::string compressed;
    if (body_.size() <= kMaxCompressedRaw) {
        compressed.resize(ZSTD_compressBound(body_.size()));
        const std::size_t n =
            ZSTD_compress(compressed.data(), compressed.size(), body_.data(), body_.size(), kZstdLevel);
        if (ZSTD_isError(n) == 0 && n < body_.size()) {
            compressed.resize(n);
            stored = compressed;
        }
    }
    const std::size_t stored_size = stored.size();
    const std::size_t header_at = out.size();
    out.resize(header_at + kTxnHeaderBytes);
    out.append(stored);
    out.append((8 - stored_size % 8) % 8, '\0');
    const auto [p1, p2] = Check(std::string_view(out).substr(header_at + kTxnHeaderBytes));
    const std::uint32_t fields[10] = {
        kTxnMagic,
        count_,
        static_cast<std::uint32_t>(static_cast<std::uint64_t>(last_us_) >> 32),
        static_cast<std::uint32_t>(static_cast<std::uint64_t>(last_us_)),
        page_size_,
        db_size_,
        p1,
        p2,
        commits_,
        static_cast<std::uint32_t>(stored_size),
    };
    for (std::size_t i = 0; i < 10; ++i) {
        SetU32(out, header_at + 4 * i, fields[i]);
    }
    const auto [h1, h2] = Check(std::string_view(out).substr(header_at, 40));
    SetU32(out, header_at + 40, h1);
    SetU32(out, header_at + 44, h2);
    body_.clear();
    at_.clear();
    count_ = 0;
    commits_ = 0;
}

std::size_t ReadTxnRecords(std::string_view segment, const std::function<bool(const ReplicaTxn&)>& fn) {
    std::size_t at = 0;
    std::string pages;  // a compressed point's pages
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
        const std::uint32_t count = GetU32(header, 4);
        txn.time_us =
            static_cast<std::int64_t>((static_cast<std::uint64_t>(GetU32(header, 8)) << 32) | GetU32(header, 12));
        txn.page_size = GetU32(header, 16);
        txn.db_size = GetU32(header, 20);
        txn.commits = GetU32(header, 32);
        const std::size_t stored = GetU32(header, 36);
        if (txn.page_size < 512 || txn.page_size > 65536 || (txn.page_size & (txn.page_size - 1)) != 0 || count == 0 ||
            count > kMaxPagesPerRecord || txn.db_size == 0) {
            break;
        }
        const std::size_t raw = (kPageEntryHeader + txn.page_size) * count;
        const std::size_t padded = stored + (8 - stored % 8) % 8;
        if (segment.size() - at - kTxnHeaderBytes < padded) {
            break;  // cut short
        }
        const std::string_view body = segment.substr(at + kTxnHeaderBytes, padded);
        const auto [p1, p2] = Check(body);
        if (p1 != GetU32(header, 24) || p2 != GetU32(header, 28)) {
            break;
        }
        if (stored == raw) {
            txn.pages = body.substr(0, raw);
        } else {
            if (raw > kMaxCompressedRaw || stored > raw) {
                break;
            }
            pages.resize(raw);
            const std::size_t n = ZSTD_decompress(pages.data(), pages.size(), body.data(), stored);
            if (ZSTD_isError(n) != 0 || n != raw) {
                break;
            }
            txn.pages = pages;
        }
        bool valid = true;
        for (std::size_t e = 0; e < raw && valid; e += kPageEntryHeader + txn.page_size) {
            valid = GetU32(txn.pages, e) != 0;
        }
        if (!valid) {
            break;
        }
        at += kTxnHeaderBytes + padded;
        if (!fn(txn)) {
            break;
        }
    }
    return at;
}

}  // namespace basalt::backups
