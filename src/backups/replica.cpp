// SPDX-License-Identifier: MIT
// The replicator: a queue the WAL tap fills, a shipper thread appending the transactions to segment
// files and syncing them, and a snapshot per generation taken beside it.
#include "backups/replica.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <system_error>

#include <fcntl.h>
#include <unistd.h>

#include "backups/file_ops.hpp"
#include "backups/replica_format.hpp"
#include "backups/replica_internal.hpp"
#include "obs/log.hpp"
#include "obs/metrics.hpp"

namespace basalt::backups {

namespace fs = std::filesystem;

namespace replica_layout {

std::int64_t MicrosOf(std::chrono::system_clock::time_point t) {
    return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
}

// "20261203T174512.345Z": sorts as time does.
std::string GenerationName(std::chrono::system_clock::time_point t) {
    const std::time_t secs = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[40];
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count() % 1000;
    std::snprintf(
        buf,
        sizeof buf,
        "%04d%02d%02dT%02d%02d%02d.%03dZ",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec,
        static_cast<int>(ms)
    );
    return buf;
}

bool IsGenerationName(const std::string& name) {
    return name.size() == 20 && name[8] == 'T' && name[15] == '.' && name[19] == 'Z' &&
           std::all_of(name.begin(), name.begin() + 8, [](char c) { return c >= '0' && c <= '9'; });
}

std::optional<std::int64_t> ParseSnapshotTime(const std::string& text) {
    long long us = 0;
    std::size_t used = 0;
    try {
        us = std::stoll(text, &used);
    } catch (const std::exception&) {
        return std::nullopt;
    }
    if (us <= 0) {
        return std::nullopt;
    }
    return us;
}

std::optional<std::int64_t> ReadSnapshotTime(const fs::path& generation, bool need_snapshot) {
    std::ifstream in(generation / "snapshot.time");
    std::string text;
    if (!std::getline(in, text) || (need_snapshot && !fs::exists(generation / "snapshot.db"))) {
        return std::nullopt;
    }
    return ParseSnapshotTime(text);
}

std::vector<std::string> GenerationNames(const fs::path& dest) {
    std::vector<std::string> names;
    std::error_code ec;
    for (fs::directory_iterator it(dest, ec), end; !ec && it != end; it.increment(ec)) {
        std::string name = it->path().filename().string();
        if (it->is_directory(ec) && IsGenerationName(name)) {
            names.push_back(std::move(name));
        }
    }
    std::sort(names.begin(), names.end());
    return names;
}

std::vector<fs::path> SegmentFiles(const fs::path& generation) {
    std::vector<fs::path> files;
    std::error_code ec;
    for (fs::directory_iterator it(generation, ec), end; !ec && it != end; it.increment(ec)) {
        if (it->path().extension() == ".seg") {
            files.push_back(it->path());
        }
    }
    std::sort(files.begin(), files.end());
    return files;
}

}  // namespace replica_layout

using namespace replica_layout;  // NOLINT(google-build-using-namespace): this module's own helpers

namespace {

constexpr auto kRetryAfter = std::chrono::seconds(10);
constexpr int kSnapshotIdle = 0;
constexpr int kSnapshotRunning = 1;
constexpr int kSnapshotDone = 2;
constexpr int kSnapshotFailed = -1;
constexpr auto kPruneEvery = std::chrono::minutes(10);
constexpr auto kIdleWake = std::chrono::seconds(1);

constexpr std::uintmax_t kMaxSegmentBytes = std::uintmax_t{1} << 30;

// A segment file, whole (they are 16 MiB, a restore point more at most; a file past 1 GiB is no
// segment of ours).
Result<std::string> ReadSegment(const fs::path& p) {
    std::error_code ec;
    const auto size = fs::file_size(p, ec);
    if (ec || size > kMaxSegmentBytes) {
        return MakeError(ErrorCode::kInvalidArgument, p.string() + " is not a replica segment");
    }
    std::ifstream in(p, std::ios::binary);
    if (!in) {
        return MakeError(ErrorCode::kUnavailable, "cannot read " + p.string());
    }
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

}  // namespace

Replicator::Replicator(ReplicaOptions options) : options_(std::move(options)) {}

Replicator::~Replicator() {
    Stop();
}

Result<void> Replicator::Prepare() {
    std::error_code ec;
    fs::create_directories(options_.dest, ec);
    if (ec || ::access(options_.dest.c_str(), W_OK) != 0) {
        return MakeError(
            ErrorCode::kUnavailable, "the replica directory " + options_.dest.string() + " cannot be written"
        );
    }
    return Ok();
}

db::WalTap Replicator::Tap() {
    return [this](db::WalFrames frames) {
        Enqueue(std::move(frames));
    };
}

void Replicator::Enqueue(db::WalFrames frames) {
    {
        std::lock_guard lock(mu_);
        if (stop_) {
            return;
        }
        if (!frames.gap) {
            if (overflowed_ && queued_bytes_ > options_.max_queued_bytes / 2) {
                dropped_.fetch_add(1, std::memory_order_relaxed);
                return;
            }
            if (overflowed_) {
                db::WalFrames gap;
                gap.gap = true;
                gap.committed = frames.committed;
                queue_.push_back(std::move(gap));
                overflowed_ = false;
            } else if (queued_bytes_ + frames.bytes.size() > options_.max_queued_bytes) {
                overflowed_ = true;
                dropped_.fetch_add(1, std::memory_order_relaxed);
                return;
            }
        }
        queued_bytes_ += frames.bytes.size();
        queue_.push_back(std::move(frames));
    }
    cv_.notify_one();
}

void Replicator::Start() {
    if (started_) {
        return;
    }
    started_ = true;
    if (options_.remote) {
        for (int lane = 0; lane < 2; ++lane) {
            upload_threads_[lane] = std::thread([this, lane] { RunUploads(lane); });
        }
    }
    thread_ = std::thread([this] { Run(); });
}

void Replicator::Stop() {
    {
        std::lock_guard lock(mu_);
        stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
    if (snapshot_thread_.joinable()) {
        snapshot_thread_.join();
    }
    StopUploads();
}

void Replicator::Run() {
    {
        // What came before a gap notice queued ahead of the first generation belongs to data this
        // generation's snapshot does not start from (a restore that was rolled back).
        std::lock_guard lock(mu_);
        for (auto it = queue_.rbegin(); it != queue_.rend(); ++it) {
            if (it->gap) {
                queue_.erase(queue_.begin(), it.base());
                break;
            }
        }
    }
    if (options_.remote) {
        QueueLeftovers();  // staged by an earlier run and not uploaded yet
    }
    NewGeneration(false);
    next_prune_ = std::chrono::steady_clock::now();
    for (;;) {
        std::deque<db::WalFrames> items;
        bool stopping = false;
        {
            std::unique_lock lock(mu_);
            // With commits waiting, wake when the oldest is sync_every old (the window closes then).
            auto wake = std::chrono::duration_cast<std::chrono::milliseconds>(kIdleWake);
            if (oldest_unsynced_) {
                wake = std::max(
                    std::chrono::milliseconds(1),
                    std::chrono::duration_cast<std::chrono::milliseconds>(
                        *oldest_unsynced_ + options_.sync_every - std::chrono::system_clock::now()
                    )
                );
            }
            cv_.wait_for(lock, wake, [&] { return stop_ || !queue_.empty(); });
            items.swap(queue_);
            queued_bytes_ = 0;
            stopping = stop_;
        }
        for (auto& item : items) {
            Take(item);
        }
        // A window closes when its oldest commit is sync_every old: the replica's lag is then the
        // window plus one write and fdatasync, whatever the last fdatasync took.
        if (oldest_unsynced_ &&
            (stopping || std::chrono::system_clock::now() - *oldest_unsynced_ >= options_.sync_every)) {
            FlushWindow();
            Sync(std::chrono::system_clock::now());
            if (options_.remote) {
                CloseSegment();  // an object per sync: uploaded now
            }
        }
        if (stopping) {
            EndGeneration(true);
            return;
        }
        Housekeep();
    }
}

// One item of the queue: a gap starts a generation; frames go into the window.
void Replicator::Take(const db::WalFrames& item) {
    if (item.gap) {
        obs::Warn("replica: frames were missed; a new generation starts", {});
        NewGeneration(false);
        return;
    }
    if (generation_.empty()) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    if (!window_.Empty() && item.page_size != window_.PageSize()) {
        FlushWindow();
    }
    window_.Add(item);
    transactions_.fetch_add(1, std::memory_order_relaxed);
    if (!oldest_unsynced_ || item.committed < *oldest_unsynced_) {
        oldest_unsynced_ = item.committed;
    }
    if (window_oldest_us_ == 0) {
        window_oldest_us_ = MicrosOf(item.committed);
    }
    if (window_.Bytes() >= options_.segment_bytes) {
        FlushWindow();
    }
}

// Between batches: a failed snapshot ends its generation, a due snapshot starts, a failed
// generation is retried, an old one rotated, and old ones pruned.
void Replicator::Housekeep() {
    const auto steady = std::chrono::steady_clock::now();
    if (snapshot_state_.load() == kSnapshotFailed) {
        snapshot_state_.store(kSnapshotIdle);
        if (snapshot_dir_ == generation_dir_ && !generation_.empty()) {
            obs::Error(
                "replica: the snapshot failed; a new generation starts later", {{"dir", generation_dir_.string()}}
            );
            CloseSegment();
            generation_.clear();
            retry_at_ = steady + kRetryAfter;
        }
    }
    MaybeStartSnapshot();
    const auto now = std::chrono::system_clock::now();
    if (generation_.empty()) {
        if (steady >= retry_at_) {
            NewGeneration(false);
        }
    } else if (snapshot_state_.load() == kSnapshotDone && snapshot_dir_ == generation_dir_ &&
               now - generation_started_ >= options_.snapshot_every) {
        NewGeneration(true);  // every stream of this one was written: it ends complete
    }
    if (steady >= next_prune_) {
        Prune(now);
        next_prune_ = steady + kPruneEvery;
    }
}

// Writes the window as one restore point into the current segment (a new segment past
// segment_bytes); without a generation (a failed one) the window is dropped.
void Replicator::FlushWindow() {
    if (window_.Empty()) {
        return;
    }
    buffer_.clear();
    window_.Flush(buffer_);
    const std::int64_t oldest = std::exchange(window_oldest_us_, 0);
    if (generation_.empty()) {
        dropped_.fetch_add(1, std::memory_order_relaxed);
        return;
    }
    if (segment_fd_ < 0 && !OpenSegment()) {
        errno = errno == 0 ? EIO : errno;
    }
    if (!WriteAll(buffer_)) {
        obs::Error(
            "replica: cannot write a segment; a new generation starts later",
            {{"dir", generation_dir_.string()}, {"error", std::system_category().message(errno)}}
        );
        CloseSegment();
        generation_.clear();
        retry_at_ = std::chrono::steady_clock::now() + kRetryAfter;
        return;
    }
    points_.fetch_add(1, std::memory_order_relaxed);
    if (segment_oldest_us_ == 0) {
        segment_oldest_us_ = oldest;
    }
    bytes_.fetch_add(buffer_.size(), std::memory_order_relaxed);
    segment_size_ += buffer_.size();
    if (segment_size_ >= options_.segment_bytes) {
        CloseSegment();  // the next flush opens the next one
    }
}

// The current generation's last window goes into its last segment. `complete`: every commit up to
// here was shipped (a stop, a rotation), which an `end` file records; a restore may then replay
// the whole generation even when no point follows its snapshot (see PlanReplay). After a gap it
// is not complete.
void Replicator::EndGeneration(bool complete) {
    FlushWindow();
    CloseSegment();
    if (!complete || generation_.empty()) {
        return;
    }
    const fs::path end = generation_dir_ / "end";
    {
        std::ofstream out(end, std::ios::trunc);
        out << "complete\n";
    }
    if (SyncPath(end, false) && SyncPath(generation_dir_, true) && options_.remote) {
        QueueUpload(0, {end, options_.remote_prefix + "/" + generation_ + "/end", 0, false, {}});
    }
}

void Replicator::NewGeneration(bool previous_complete) {
    EndGeneration(previous_complete);
    auto now = std::chrono::system_clock::now();
    std::string name = GenerationName(now);
    std::error_code ec;
    while (fs::exists(options_.dest / name, ec) || (!generation_.empty() && name <= generation_)) {
        now += std::chrono::milliseconds(1);
        name = GenerationName(now);
    }
    const fs::path dir = options_.dest / name;
    fs::create_directories(dir, ec);
    generation_ = name;
    generation_dir_ = dir;
    generation_started_ = std::chrono::system_clock::now();
    segment_seq_ = 0;
    if (ec) {
        obs::Error("replica: cannot start a generation", {{"dir", dir.string()}});
        generation_.clear();
        retry_at_ = std::chrono::steady_clock::now() + kRetryAfter;
        return;
    }
    (void)SyncPath(options_.dest, true);
    generations_.fetch_add(1, std::memory_order_relaxed);
    snapshot_due_ = true;
    MaybeStartSnapshot();
}

// The snapshot of the current generation starts once no other copy runs (a gap during a long copy
// must not hold the shipper until it ends: the new generation's points are written meanwhile, and
// a snapshot taken after them is as good).
void Replicator::MaybeStartSnapshot() {
    if (!snapshot_due_ || generation_.empty() || snapshot_state_.load() == kSnapshotRunning) {
        return;
    }
    if (snapshot_thread_.joinable()) {
        snapshot_thread_.join();
    }
    snapshot_due_ = false;
    snapshot_dir_ = generation_dir_;
    snapshot_state_.store(kSnapshotRunning);
    snapshot_thread_ = std::thread([this, dir = generation_dir_] {
        const fs::path tmp = dir / "snapshot.db.tmp";
        bool ok = static_cast<bool>(db::CopyDatabase(options_.database.string(), tmp.string())) &&
                  static_cast<bool>(SyncPath(tmp, false));
        std::error_code e;
        if (ok) {
            fs::rename(tmp, dir / "snapshot.db", e);
            ok = !e;
        }
        if (ok) {
            const fs::path time_tmp = dir / "snapshot.time.tmp";
            {
                std::ofstream out(time_tmp, std::ios::trunc);
                out << MicrosOf(std::chrono::system_clock::now()) << "\n";
                ok = static_cast<bool>(out.flush());
            }
            ok = ok && static_cast<bool>(SyncPath(time_tmp, false));
            fs::rename(time_tmp, dir / "snapshot.time", e);
            ok = ok && !e && static_cast<bool>(SyncPath(dir, true));
        }
        if (!ok) {
            fs::remove(tmp, e);
        } else {
            obs::Info("replica: generation ready", {{"dir", dir.string()}});
            if (options_.remote) {
                QueueSnapshotUpload(dir);
            }
        }
        snapshot_state_.store(ok ? kSnapshotDone : kSnapshotFailed);
        cv_.notify_all();
    });
}

bool Replicator::OpenSegment() {
    char name[32];
    std::snprintf(name, sizeof name, "%016llu.seg", static_cast<unsigned long long>(++segment_seq_));
    segment_path_ = generation_dir_ / name;
    segment_fd_ = ::open(segment_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
    segment_size_ = 0;
    if (segment_fd_ < 0) {
        return false;
    }
    (void)SyncPath(generation_dir_, true);
    return true;
}

void Replicator::CloseSegment() {
    if (segment_fd_ < 0) {
        return;
    }
    if (oldest_unsynced_ || segment_size_ > 0) {
        Sync(std::chrono::system_clock::now());
        if (segment_fd_ < 0) {
            return;  // the sync failed: the segment was dropped with its generation
        }
    }
    ::close(segment_fd_);
    segment_fd_ = -1;
    if (options_.remote && segment_size_ > 0) {
        QueueUpload(
            0,
            {segment_path_,
             options_.remote_prefix + "/" + generation_dir_.filename().string() + "/" +
                 segment_path_.filename().string(),
             segment_oldest_us_,
             false,
             {}}
        );
    }
    segment_oldest_us_ = 0;
}

bool Replicator::WriteAll(const std::string& bytes) {
    if (segment_fd_ < 0) {
        errno = EBADF;
        return false;
    }
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(segment_fd_, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            // A partial record would end the segment for a reader: truncate back to the last whole one.
            if (done > 0) {
                (void)::ftruncate(segment_fd_, static_cast<off_t>(segment_size_));
            }
            return false;
        }
        done += static_cast<std::size_t>(n);
    }
    return true;
}

void Replicator::Sync(std::chrono::system_clock::time_point now) {
    if (segment_fd_ >= 0 && ::fdatasync(segment_fd_) != 0) {
        // What was written may not be on disk (EIO, ENOSPC at writeback): the generation ends
        // here, without its `end`, and a new one starts later.
        obs::Error(
            "replica: cannot sync a segment; a new generation starts later",
            {{"dir", generation_dir_.string()}, {"error", std::system_category().message(errno)}}
        );
        ::close(segment_fd_);
        segment_fd_ = -1;
        segment_size_ = 0;
        generation_.clear();
        retry_at_ = std::chrono::steady_clock::now() + kRetryAfter;
    }
    if (oldest_unsynced_) {
        const std::int64_t lag = MicrosOf(now) - MicrosOf(*oldest_unsynced_);
        lag_us_.store(lag, std::memory_order_relaxed);
        lag_max_us_.store(std::max(lag, lag_max_us_.load(std::memory_order_relaxed)), std::memory_order_relaxed);
    }
    oldest_unsynced_.reset();
}

// A generation can go once the next one's snapshot is older than the retention: every moment
// within the retention is then covered by a later generation. The current one always stays.
void Replicator::Prune(std::chrono::system_clock::time_point now) {
    const std::int64_t horizon =
        MicrosOf(now) - std::chrono::duration_cast<std::chrono::microseconds>(options_.retention).count();
    const std::vector<std::string> names = GenerationNames(options_.dest);
    for (std::size_t i = 0; i + 1 < names.size(); ++i) {
        if (names[i] == generation_) {
            break;
        }
        const auto next = ReadSnapshotTime(options_.dest / names[i + 1], false);
        std::error_code ec;
        // In a bucket, only once the next snapshot is there too.
        const bool next_there = !options_.remote || fs::exists(options_.dest / names[i + 1] / "snapshot.uploaded", ec);
        if (next && *next < horizon && next_there) {
            if (options_.remote) {
                if (auto gone = options_.remote->DeletePrefix(options_.remote_prefix + "/" + names[i]); !gone) {
                    obs::Warn("replica: cannot remove a generation from the bucket", {{"error", gone.error().message}});
                    continue;  // tried again at the next pruning
                }
            }
            fs::remove_all(options_.dest / names[i], ec);
            obs::Info("replica: generation past the retention removed", {{"generation", names[i]}});
        }
    }
}

void Replicator::CollectMetrics(obs::Exposition& out) const {
    out.CounterValue(
        "basalt_replica_transactions_total",
        "Group commits shipped to the point-in-time replica.",
        static_cast<double>(transactions_.load(std::memory_order_relaxed))
    );
    out.CounterValue(
        "basalt_replica_points_total",
        "Restore points written (one per sync: the pages of the commits since the last).",
        static_cast<double>(points_.load(std::memory_order_relaxed))
    );
    out.CounterValue(
        "basalt_replica_bytes_total",
        "Bytes written to the replica's segments.",
        static_cast<double>(bytes_.load(std::memory_order_relaxed))
    );
    out.CounterValue(
        "basalt_replica_generations_total",
        "Generations (snapshots) the replica started.",
        static_cast<double>(generations_.load(std::memory_order_relaxed))
    );
    out.CounterValue(
        "basalt_replica_dropped_total",
        "Commits not shipped (the shipper fell behind or could not write): a new generation follows.",
        static_cast<double>(dropped_.load(std::memory_order_relaxed))
    );
    out.GaugeValue(
        "basalt_replica_lag_seconds",
        "Oldest commit to its fdatasync in the replica, at the last sync.",
        static_cast<double>(lag_us_.load(std::memory_order_relaxed)) / 1e6
    );
    out.GaugeValue(
        "basalt_replica_lag_max_seconds",
        "The largest commit-to-fdatasync delay of the replica since the server started.",
        static_cast<double>(lag_max_us_.load(std::memory_order_relaxed)) / 1e6
    );
}

Result<std::vector<ReplicaGeneration>> ListReplica(const fs::path& dest) {
    std::error_code ec;
    if (!fs::is_directory(dest, ec)) {
        return MakeError(ErrorCode::kNotFound, "no replica at " + dest.string());
    }
    std::vector<ReplicaGeneration> out;
    for (const std::string& name : GenerationNames(dest)) {
        ReplicaGeneration g;
        g.name = name;
        g.snapshot_us = ReadSnapshotTime(dest / name, true);
        for (const fs::path& seg : SegmentFiles(dest / name)) {
            BASALT_ASSIGN_OR_RETURN(const std::string bytes, ReadSegment(seg));
            g.bytes += bytes.size();
            (void)ReadTxnRecords(bytes, [&](const ReplicaTxn& t) {
                if (g.first_us == 0) {
                    g.first_us = t.time_us;
                }
                g.last_us = t.time_us;
                ++g.points;
                g.transactions += t.commits;
                return true;
            });
        }
        out.push_back(std::move(g));
    }
    return out;
}

namespace {

// Where a generation's points may be replayed to (pass 1 of a restore). Points are replayed in
// order onto the snapshot, which holds the database at some moment during its copy. Replaying
// stops at a point before that moment would put older images of pages over newer ones, so points
// are replayed only up to a moment past the first point at or after the copy's completion
// ("usable_from"); a restore to an earlier moment gets the snapshot alone (the state at the
// copy, which is before the moment asked for), unless the generation is complete (below). A damaged point ends what can
// be replayed: the points after it would be replayed over a hole.
struct ReplayPlan {
    std::size_t points = 0;  // the points to replay, from the first
    std::int64_t restored_us = 0;
    bool damaged = false;  // a damaged point was found before the end of the generation
};

Result<ReplayPlan> PlanReplay(
    const std::vector<fs::path>& segments, std::int64_t snapshot_us, std::optional<std::int64_t> to, bool complete
) {
    ReplayPlan plan;
    plan.restored_us = snapshot_us;
    std::optional<std::int64_t> usable_from;
    std::size_t index = 0;
    std::size_t last_fit = 0;  // points whose time is at or before `to`
    std::int64_t last_fit_us = snapshot_us;
    for (std::size_t i = 0; i < segments.size(); ++i) {
        BASALT_ASSIGN_OR_RETURN(const std::string bytes, ReadSegment(segments[i]));
        const std::size_t end = ReadTxnRecords(bytes, [&](const ReplicaTxn& t) {
            ++index;
            if (!usable_from && t.time_us >= snapshot_us) {
                usable_from = t.time_us;
            }
            if (!to || t.time_us <= *to) {
                last_fit = index;
                last_fit_us = t.time_us;
            }
            return true;
        });
        if (end != bytes.size()) {
            plan.damaged = i + 1 < segments.size();  // the last segment's tail: cut by a crash
            break;
        }
    }
    // Without a point after the snapshot, a generation whose every commit was shipped (`end`) can
    // still be replayed whole: its last point is at or after the copy's moment.
    if ((usable_from && last_fit_us >= *usable_from) || (!usable_from && complete && !plan.damaged)) {
        plan.points = last_fit;
        plan.restored_us = std::max(last_fit_us, snapshot_us);
    }
    return plan;
}

// Pass 2 of a restore: writes the plan's points into the file `fd`, page by page. Returns the
// database's size in pages after the last (0: none replayed).
Result<std::uint32_t> ReplayPoints(
    int fd,
    const std::vector<fs::path>& segments,
    const ReplayPlan& plan,
    std::uint32_t page_size,
    ReplicaRestored& result
) {
    std::uint32_t db_size = 0;
    bool io_failed = false;
    std::size_t applied = 0;
    for (std::size_t i = 0; i < segments.size() && applied < plan.points && !io_failed; ++i) {
        BASALT_ASSIGN_OR_RETURN(const std::string bytes, ReadSegment(segments[i]));
        (void)ReadTxnRecords(bytes, [&](const ReplicaTxn& t) {
            if (applied == plan.points) {
                return false;
            }
            if (t.page_size != page_size) {
                io_failed = true;  // another page size than the snapshot's: not this database's
                return false;
            }
            const std::size_t entry = kPageEntryHeader + t.page_size;
            for (std::size_t at = 0; at < t.pages.size(); at += entry) {
                const auto* h = reinterpret_cast<const unsigned char*>(t.pages.data() + at);
                const std::uint32_t pgno = (std::uint32_t{h[0]} << 24) | (std::uint32_t{h[1]} << 16) |
                                           (std::uint32_t{h[2]} << 8) | std::uint32_t{h[3]};
                if (pgno > t.db_size) {
                    continue;  // past the database's end after the point: cut off anyway
                }
                const off_t offset = static_cast<off_t>(pgno - 1) * t.page_size;
                if (::pwrite(fd, t.pages.data() + at + kPageEntryHeader, t.page_size, offset) !=
                    static_cast<ssize_t>(t.page_size)) {
                    io_failed = true;
                    return false;
                }
            }
            db_size = t.db_size;
            ++applied;
            result.transactions += t.commits;
            return true;
        });
    }
    result.points = applied;
    if (io_failed || applied != plan.points) {
        return MakeError(ErrorCode::kUnavailable, "cannot replay the replica's points");
    }
    return db_size;
}

}  // namespace

Result<ReplicaRestored> RestoreReplica(const fs::path& dest, std::optional<std::int64_t> to, const fs::path& out) {
    std::error_code ec;
    if (!fs::is_directory(dest, ec)) {
        return MakeError(ErrorCode::kNotFound, "no replica at " + dest.string());
    }
    // The generation: the newest snapshot not newer than `to` (snapshot times only are read).
    std::string chosen;
    std::int64_t snapshot_us = 0;
    for (const std::string& name : GenerationNames(dest)) {
        const auto t = ReadSnapshotTime(dest / name, true);
        if (t && (!to || *t <= *to) && (chosen.empty() || *t > snapshot_us)) {
            chosen = name;
            snapshot_us = *t;
        }
    }
    if (chosen.empty()) {
        return MakeError(
            ErrorCode::kNotFound,
            to ? "the replica holds no snapshot taken at or before that moment" : "the replica holds no snapshot yet"
        );
    }
    if (fs::exists(out, ec)) {
        return MakeError(ErrorCode::kInvalidArgument, out.string() + " exists: restore into a new place");
    }
    const fs::path gen = dest / chosen;
    const std::vector<fs::path> segments = SegmentFiles(gen);
    BASALT_ASSIGN_OR_RETURN(const ReplayPlan plan, PlanReplay(segments, snapshot_us, to, fs::exists(gen / "end", ec)));
    const fs::path tmp = out.string() + ".restoring";
    fs::remove(tmp, ec);
    auto fail = [&](Error e) -> Result<ReplicaRestored> {
        std::error_code ignored;
        fs::remove(tmp, ignored);
        return e;
    };
    fs::copy_file(gen / "snapshot.db", tmp, ec);
    if (ec) {
        return fail(MakeError(ErrorCode::kUnavailable, "cannot copy the snapshot: " + ec.message()));
    }
    const int fd = ::open(tmp.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) {
        return fail(MakeError(ErrorCode::kUnavailable, "cannot open " + tmp.string()));
    }
    unsigned char header[100] = {};
    if (::pread(fd, header, sizeof header, 0) != static_cast<ssize_t>(sizeof header)) {
        ::close(fd);
        return fail(MakeError(ErrorCode::kInvalidArgument, "the snapshot of " + chosen + " is not a database"));
    }
    const std::uint32_t snapshot_page = (std::uint32_t{header[16]} << 8) | header[17];
    const std::uint32_t page_size = snapshot_page == 1 ? 65536 : snapshot_page;
    ReplicaRestored result;
    result.generation = chosen;
    result.snapshot_us = snapshot_us;
    result.restored_us = plan.restored_us;
    result.damaged = plan.damaged;
    auto replayed = ReplayPoints(fd, segments, plan, page_size, result);
    if (!replayed) {
        ::close(fd);
        return fail(replayed.error());
    }
    const std::uint32_t db_size = *replayed;
    bool ok = db_size == 0 || ::ftruncate(fd, static_cast<off_t>(db_size) * page_size) == 0;
    ok = ok && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok) {
        return fail(MakeError(ErrorCode::kUnavailable, "cannot replay the replica into " + tmp.string()));
    }
    if (auto checked = db::CheckDatabaseFile(tmp.string()); !checked) {
        return fail(
            MakeError(ErrorCode::kInvalidArgument, "the replayed database is damaged: " + checked.error().message)
        );
    }
    fs::rename(tmp, out, ec);
    if (ec) {
        return fail(MakeError(ErrorCode::kUnavailable, "cannot move the restored database into place: " + ec.message())
        );
    }
    (void)SyncPath(out.parent_path().empty() ? fs::path(".") : out.parent_path(), true);
    return result;
}

}  // namespace basalt::backups
