// SPDX-License-Identifier: MIT
// SqliteDatabase's WAL tap: every committed transaction's WAL frames, read in the writer thread
// right after the commit, for point-in-time replication (docs/design/pitr.md).
//
// Why here: frames leave the WAL only when it starts over from its beginning, which happens when
// a write transaction begins (or a TRUNCATE checkpoint runs) on a wholly checkpointed WAL. This
// process's writes all go through the writer thread, so frames read in the WAL hook, before the
// next BEGIN, are never overwritten first. Another process (a CLI command) can write and restart
// the WAL between two of our commits; the writer then sees PRAGMA data_version move, and a batch
// in which both happened is preceded by a gap notice (the consumer starts from a new snapshot).
#include <cerrno>

#include <fcntl.h>
#include <unistd.h>

#include "db/sqlite/sqlite_database_internal.hpp"
#include "db/sqlite/wal_reader.hpp"

namespace basalt::db::sqlite {

namespace {

std::uint32_t TapU32(const char* b) {
    return (static_cast<std::uint32_t>(static_cast<unsigned char>(b[0])) << 24) |
           (static_cast<std::uint32_t>(static_cast<unsigned char>(b[1])) << 16) |
           (static_cast<std::uint32_t>(static_cast<unsigned char>(b[2])) << 8) |
           static_cast<std::uint32_t>(static_cast<unsigned char>(b[3]));
}

// Reads exactly `n` bytes at `offset`; false on an error or a short file.
bool TapRead(int fd, char* into, std::size_t n, off_t offset) {
    while (n > 0) {
        const ssize_t got = ::pread(fd, into, n, offset);
        if (got < 0 && errno == EINTR) {
            continue;
        }
        if (got <= 0) {
            return false;
        }
        into += got;
        n -= static_cast<std::size_t>(got);
        offset += got;
    }
    return true;
}

}  // namespace

// A new incarnation of the WAL (a restart or a TRUNCATE checkpoint) has new salts: the header is
// read when there is none yet, when the WAL is not longer than what was read, or when the first
// new frame carries other salts. A restart is a hole only if another process wrote (FlushTap).
// false when the header cannot be read or is not a WAL's, or the page size changed.
bool SqliteDatabase::TapReadHeader() {
    char h[kWalHeaderBytes];
    if (!TapRead(tap_fd_, h, sizeof h, 0)) {
        return false;
    }
    auto header = ParseWalHeader(std::string_view(h, sizeof h));
    if (!header) {
        return false;
    }
    if (tap_page_size_ != 0 && header->page_size != tap_page_size_) {
        return false;  // VACUUM with another page size: the copy must start over
    }
    if (tap_page_size_ == 0 || header->salt1 != tap_salt1_ || header->salt2 != tap_salt2_) {
        if (tap_page_size_ != 0) {
            tap_holes_.emplace_back(tap_pending_.size(), false);
        }
        tap_frames_ = 0;
        tap_chain1_ = header->checksum1;
        tap_chain2_ = header->checksum2;
    } else if (tap_reread_header_) {
        // The same incarnation after a hole: its chain cannot be followed from here; the salts
        // still tell its frames apart.
        tap_chain_known_ = false;
    }
    tap_reread_header_ = false;
    tap_magic_ = header->magic;
    tap_page_size_ = header->page_size;
    tap_salt1_ = header->salt1;
    tap_salt2_ = header->salt2;
    if (tap_frames_ == 0) {
        tap_chain_known_ = true;
    }
    return true;
}

// Every frame must continue the incarnation's checksum chain (a frame another process rewrote
// while it was read fails it) or, after a hole, carry its salts; the last must end a transaction.
bool SqliteDatabase::TapFramesHold(const std::string& bytes) const {
    const std::size_t frame_bytes = kWalFrameHeaderBytes + tap_page_size_;
    if (tap_chain_known_) {
        WalChain chain{tap_magic_, tap_salt1_, tap_salt2_, tap_chain1_, tap_chain2_};
        if (!CheckWalFrames(bytes, tap_page_size_, chain)) {
            return false;
        }
    } else {
        for (std::size_t at = 0; at < bytes.size(); at += frame_bytes) {
            const char* f = bytes.data() + at;
            if (TapU32(f + 8) != tap_salt1_ || TapU32(f + 12) != tap_salt2_) {
                return false;
            }
        }
    }
    return TapU32(bytes.data() + bytes.size() - frame_bytes + 4) != 0;
}

void SqliteDatabase::TapFrames(int frames) {
    if (wal_path_.empty()) {
        return;  // in memory: nothing to replicate
    }
    // Frames could not be read, or do not continue the checksum chain (the WAL changed under us):
    // a certain hole here. Reading goes on after them; the header is read again first.
    auto broken = [&] {
        tap_holes_.emplace_back(tap_pending_.size(), true);
        tap_reread_header_ = true;
        tap_frames_ = frames;
    };
    if (tap_fd_ < 0) {
        tap_fd_ = ::open(wal_path_.c_str(), O_RDONLY | O_CLOEXEC);
        if (tap_fd_ < 0) {
            broken();
            return;
        }
    }
    // The hook runs after a commit of ours, which added frames: a WAL no longer than what was read
    // started over (possibly to exactly the same length).
    if (tap_page_size_ == 0 || tap_reread_header_ || frames <= tap_frames_) {
        if (!TapReadHeader()) {
            broken();
            return;
        }
        if (frames <= tap_frames_) {  // the same salts and no new frame cannot be
            broken();
            return;
        }
    }
    const std::size_t frame_bytes = kWalFrameHeaderBytes + tap_page_size_;
    WalFrames out;
    out.committed = std::chrono::system_clock::now();
    for (int attempt = 0;; ++attempt) {
        const int from = tap_frames_;
        if (frames <= from) {
            return;
        }
        out.bytes.resize(frame_bytes * static_cast<std::size_t>(frames - from));
        if (!TapRead(
                tap_fd_, out.bytes.data(), out.bytes.size(), static_cast<off_t>(kWalHeaderBytes + frame_bytes * from)
            )) {
            broken();
            return;
        }
        if (TapU32(out.bytes.data() + 8) == tap_salt1_ && TapU32(out.bytes.data() + 12) == tap_salt2_) {
            break;
        }
        // Other salts: the WAL started over. Read its header, then the new incarnation's frames.
        if (attempt == 1 || !TapReadHeader() || tap_frames_ != 0) {
            broken();
            return;
        }
    }
    if (!TapFramesHold(out.bytes)) {
        broken();
        return;
    }
    const char* last = out.bytes.data() + out.bytes.size() - frame_bytes;
    out.page_size = tap_page_size_;
    out.wal_magic = tap_magic_;
    out.salt1 = tap_salt1_;
    out.salt2 = tap_salt2_;
    out.chain1 = tap_chain1_;
    out.chain2 = tap_chain2_;
    tap_frames_ = frames;
    tap_chain1_ = TapU32(last + 16);
    tap_chain2_ = TapU32(last + 20);
    tap_chain_known_ = true;
    tap_pending_.push_back(std::move(out));
}

std::int64_t SqliteDatabase::DataVersion() {
    auto r = writer_->Query("PRAGMA data_version", {});
    if (!r || r->rows.empty()) {
        return -1;
    }
    return AsInt(r->rows.front()[0], -1);
}

// A hole is where frames may be missing. With any, the frames before the first go out, then a gap
// notice, then the frames after the last (those between had a hole on each side: neither the old
// copy nor the new one can use them). A WAL restart is a hole only when another process committed
// during the batch: its frames may have been overwritten before this process read them.
void SqliteDatabase::FlushTap() {
    if (!options_.wal_tap) {
        return;
    }
    // Another process's commit counts until a batch has read frames after it: a batch that
    // committed nothing (no frames, no hook) cannot tell whether its frames are still in the WAL,
    // and one that read frames may have read them just before that commit.
    const std::int64_t version = DataVersion();
    const bool moved = version != tap_data_version_ || version < 0;
    const bool external = moved || tap_external_carried_;
    tap_external_carried_ = moved || (tap_external_carried_ && tap_pending_.empty());
    tap_data_version_ = version;
    std::size_t first = tap_pending_.size() + 1;
    std::size_t last = 0;
    for (const auto& [at, certain] : tap_holes_) {
        if (certain || external) {
            first = std::min(first, at);
            last = std::max(last, at);
        }
    }
    const std::chrono::system_clock::time_point now = std::chrono::system_clock::now();
    for (std::size_t i = 0; i < tap_pending_.size(); ++i) {
        if (i == first) {
            WalFrames gap;
            gap.gap = true;
            gap.committed = now;
            options_.wal_tap(std::move(gap));
        }
        if (i < first || i >= last) {
            options_.wal_tap(std::move(tap_pending_[i]));
        }
    }
    if (first == tap_pending_.size()) {  // the hole is after the last frames read
        WalFrames gap;
        gap.gap = true;
        gap.committed = now;
        options_.wal_tap(std::move(gap));
    }
    tap_pending_.clear();
    tap_holes_.clear();
}

}  // namespace basalt::db::sqlite
