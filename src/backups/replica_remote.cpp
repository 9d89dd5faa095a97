// SPDX-License-Identifier: MIT
// A replica in an S3 bucket: the replicator stages segments and snapshots in a local folder and two
// upload lanes (segments; snapshots, which are large) put them into the bucket in order, retrying
// until they succeed; restore downloads the chosen generation first.
#include <algorithm>
#include <fstream>
#include <map>

#include "backups/file_ops.hpp"
#include "backups/replica.hpp"
#include "backups/replica_internal.hpp"
#include "core/random.hpp"
#include "obs/log.hpp"

namespace basalt::backups {

namespace fs = std::filesystem;
using namespace replica_layout;  // NOLINT(google-build-using-namespace): this module's own helpers

namespace {

constexpr std::string_view kReplicaType = "application/octet-stream";
constexpr auto kFirstBackoff = std::chrono::milliseconds(500);
constexpr auto kMaxBackoff = std::chrono::seconds(30);
constexpr auto kStopGrace = std::chrono::seconds(10);  // uploads still tried after Stop

}  // namespace

void Replicator::QueueUpload(int lane, PendingUpload upload) {
    {
        std::lock_guard lock(upload_mu_);
        uploads_[lane].push_back(std::move(upload));
    }
    upload_cv_.notify_all();
}

// A generation's snapshot: snapshot.db (removed once uploaded), then snapshot.time (kept, for the
// retention), then the local mark that both are in the bucket (`snapshot.uploaded`).
void Replicator::QueueSnapshotUpload(const fs::path& generation) {
    const std::string base = options_.remote_prefix + "/" + generation.filename().string() + "/";
    if (fs::exists(generation / "snapshot.db")) {
        QueueUpload(1, {generation / "snapshot.db", base + "snapshot.db", 0, false, {}});
    }
    QueueUpload(1, {generation / "snapshot.time", base + "snapshot.time", 0, true, generation / "snapshot.uploaded"});
}

// What an earlier run staged and did not upload (it stopped, or the bucket was down), oldest
// first: segments and `end` marks, and snapshots whose copy completed and are not marked uploaded.
void Replicator::QueueLeftovers() {
    for (const std::string& name : GenerationNames(options_.dest)) {
        const fs::path dir = options_.dest / name;
        const std::string base = options_.remote_prefix + "/" + name + "/";
        for (const fs::path& seg : SegmentFiles(dir)) {
            QueueUpload(0, {seg, base + seg.filename().string(), 0, false, {}});
        }
        if (fs::exists(dir / "end")) {
            QueueUpload(0, {dir / "end", base + "end", 0, false, {}});
        }
        if (ReadSnapshotTime(dir, false) && !fs::exists(dir / "snapshot.uploaded")) {
            QueueSnapshotUpload(dir);
        }
    }
}

void Replicator::RunUploads(int lane) {
    auto backoff = std::chrono::milliseconds(kFirstBackoff);
    std::optional<std::chrono::steady_clock::time_point> give_up;  // set once stopping
    std::unique_lock lock(upload_mu_);
    for (;;) {
        upload_cv_.wait(lock, [&] { return upload_stop_ || !uploads_[lane].empty(); });
        if (upload_stop_ && !give_up) {
            give_up = std::chrono::steady_clock::now() + kStopGrace;
        }
        if (uploads_[lane].empty() || (give_up && std::chrono::steady_clock::now() >= *give_up)) {
            return;  // what is left stays staged: the next start uploads it
        }
        PendingUpload next = uploads_[lane].front();
        lock.unlock();
        std::error_code ec;
        Result<void> done = Ok();
        if (fs::exists(next.file, ec)) {
            done = UploadFile(*options_.remote, next.key, next.file, kReplicaType);
        }
        lock.lock();
        if (done) {
            uploads_[lane].pop_front();
            backoff = kFirstBackoff;
            if (!next.keep) {
                fs::remove(next.file, ec);
            }
            if (!next.mark.empty()) {
                std::ofstream(next.mark, std::ios::trunc) << "uploaded\n";
            }
            if (next.oldest_us != 0) {
                const std::int64_t lag = MicrosOf(std::chrono::system_clock::now()) - next.oldest_us;
                lag_us_.store(lag, std::memory_order_relaxed);
                lag_max_us_.store(
                    std::max(lag, lag_max_us_.load(std::memory_order_relaxed)), std::memory_order_relaxed
                );
            }
            continue;
        }
        upload_failures_.fetch_add(1, std::memory_order_relaxed);
        obs::Warn("replica: upload failed; retrying", {{"key", next.key}, {"error", done.error().message}});
        upload_cv_.wait_for(lock, backoff, [&] { return upload_stop_ && !give_up.has_value(); });
        backoff = std::min<std::chrono::milliseconds>(backoff * 2, kMaxBackoff);
    }
}

void Replicator::StopUploads() {
    {
        std::lock_guard lock(upload_mu_);
        upload_stop_ = true;
    }
    upload_cv_.notify_all();
    for (auto& t : upload_threads_) {
        if (t.joinable()) {
            t.join();
        }
    }
}

Result<ReplicaPlace> OpenReplicaPlace(const std::string& dest, storage::S3Config s3) {
    ReplicaPlace place;
    constexpr std::string_view kScheme = "s3://";
    if (!dest.starts_with(kScheme)) {
        place.dir = dest;
        return place;
    }
    const std::string rest = dest.substr(kScheme.size());
    const std::size_t slash = rest.find('/');
    s3.bucket = rest.substr(0, slash);
    place.prefix = slash == std::string::npos ? std::string() : rest.substr(slash + 1);
    while (!place.prefix.empty() && place.prefix.back() == '/') {
        place.prefix.pop_back();
    }
    if (place.prefix.empty()) {
        place.prefix = "replica";
    }
    if (s3.bucket.empty() || !storage::ValidKey(place.prefix)) {
        return MakeError(ErrorCode::kInvalidArgument, "not an S3 replica address (s3://BUCKET/PREFIX): " + dest);
    }
    auto bucket = storage::OpenS3(s3);
    if (!bucket) {
        return MakeError(ErrorCode::kInvalidArgument, "the replica's bucket: " + bucket.error().message);
    }
    place.bucket = std::move(*bucket);
    return place;
}

namespace {

// A bucket's generations: folder name -> its file names.
Result<std::map<std::string, std::vector<std::string>>> RemoteGenerations(const ReplicaPlace& place) {
    BASALT_ASSIGN_OR_RETURN(const auto folders, place.bucket->ListFolders(place.prefix));
    std::map<std::string, std::vector<std::string>> out;
    for (const std::string& name : folders) {
        if (IsGenerationName(name)) {
            BASALT_ASSIGN_OR_RETURN(out[name], place.bucket->ListFiles(place.prefix + "/" + name));
        }
    }
    return out;
}

Result<std::optional<std::int64_t>> RemoteSnapshotTime(
    const ReplicaPlace& place, const std::string& generation, const std::vector<std::string>& files
) {
    const bool complete = std::find(files.begin(), files.end(), "snapshot.db") != files.end() &&
                          std::find(files.begin(), files.end(), "snapshot.time") != files.end();
    if (!complete) {
        return std::optional<std::int64_t>();
    }
    BASALT_ASSIGN_OR_RETURN(auto reader, place.bucket->Open(place.prefix + "/" + generation + "/snapshot.time"));
    std::string text(std::min<std::uint64_t>(reader->Info().size, 64), '\0');
    BASALT_ASSIGN_OR_RETURN(const std::size_t n, reader->ReadAt(0, std::span<char>(text.data(), text.size())));
    text.resize(n);
    return ParseSnapshotTime(text);
}

Result<void> Download(const ReplicaPlace& place, const std::string& key, const fs::path& to) {
    BASALT_ASSIGN_OR_RETURN(auto reader, place.bucket->Open(key));
    const std::uint64_t size = reader->Info().size;
    return DownloadFile([&](std::uint64_t at, std::span<char> out) { return reader->ReadAt(at, out); }, size, to);
}

}  // namespace

Result<std::vector<ReplicaGeneration>> ListReplica(const ReplicaPlace& place) {
    if (!place.bucket) {
        return ListReplica(place.dir);
    }
    BASALT_ASSIGN_OR_RETURN(const auto generations, RemoteGenerations(place));
    std::vector<ReplicaGeneration> out;
    for (const auto& [name, files] : generations) {
        ReplicaGeneration g;
        g.name = name;
        BASALT_ASSIGN_OR_RETURN(g.snapshot_us, RemoteSnapshotTime(place, name, files));
        for (const std::string& f : files) {
            if (f.ends_with(".seg")) {
                ++g.points;  // a segment per sync: a restore point (at least) each
            }
        }
        out.push_back(std::move(g));
    }
    return out;
}

Result<ReplicaRestored> RestoreReplica(const ReplicaPlace& place, std::optional<std::int64_t> to, const fs::path& out) {
    if (!place.bucket) {
        return RestoreReplica(place.dir, to, out);
    }
    BASALT_ASSIGN_OR_RETURN(const auto generations, RemoteGenerations(place));
    const std::string* chosen = nullptr;
    std::int64_t chosen_us = 0;
    for (const auto& [name, files] : generations) {
        BASALT_ASSIGN_OR_RETURN(const auto snapshot_us, RemoteSnapshotTime(place, name, files));
        if (snapshot_us && (!to || *snapshot_us <= *to) && (chosen == nullptr || *snapshot_us > chosen_us)) {
            chosen = &name;
            chosen_us = *snapshot_us;
        }
    }
    if (chosen == nullptr) {
        return MakeError(
            ErrorCode::kNotFound,
            to ? "the replica holds no snapshot taken at or before that moment" : "the replica holds no snapshot yet"
        );
    }
    std::error_code ec;
    if (fs::exists(out, ec)) {
        return MakeError(ErrorCode::kInvalidArgument, out.string() + " exists: restore into a new place");
    }
    // Downloaded beside `out` (the same disk), then restored as from a folder, then removed (and
    // what an interrupted restore left there before).
    for (fs::directory_iterator it(out.parent_path().empty() ? fs::path(".") : out.parent_path(), ec), end;
         !ec && it != end;
         it.increment(ec)) {
        if (it->path().filename().string().starts_with(".replica-download-")) {
            std::error_code ignored;
            fs::remove_all(it->path(), ignored);
        }
    }
    ec.clear();
    const fs::path scratch =
        out.parent_path() / (".replica-download-" + SecureRandomString(10, "abcdefghijklmnopqrstuvwxyz0123456789"));
    const fs::path gen = scratch / *chosen;
    fs::create_directories(gen, ec);
    auto restored = [&]() -> Result<ReplicaRestored> {
        if (ec) {
            return MakeError(ErrorCode::kUnavailable, "cannot create " + gen.string() + ": " + ec.message());
        }
        for (const std::string& f : generations.at(*chosen)) {
            if (f == "snapshot.db" || f == "snapshot.time" || f == "end" || f.ends_with(".seg")) {
                BASALT_TRY(Download(place, place.prefix + "/" + *chosen + "/" + f, gen / f));
            }
        }
        return RestoreReplica(scratch, to, out);
    }();
    fs::remove_all(scratch, ec);
    return restored;
}

}  // namespace basalt::backups
