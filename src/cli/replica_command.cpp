// SPDX-License-Identifier: MIT
#include "cli/replica_command.hpp"

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <optional>

#include "app/application.hpp"
#include "backups/replica.hpp"
#include "core/clock.hpp"
#include "storage/storage.hpp"

namespace basalt::cli {

namespace {

namespace fs = std::filesystem;

// "2026-12-03T17:45:12Z", "2026-12-03 17:45:12.250" (UTC; a trailing Z is optional), as
// microseconds since the epoch; none when it is not such a time.
std::optional<std::int64_t> ParseUtc(const std::string& text) {
    int y = 0;
    int mo = 0;
    int d = 0;
    int h = 0;
    int mi = 0;
    int s = 0;
    char sep = 0;
    int used = 0;
    if (std::sscanf(text.c_str(), "%4d-%2d-%2d%c%2d:%2d:%2d%n", &y, &mo, &d, &sep, &h, &mi, &s, &used) != 7 ||
        (sep != 'T' && sep != ' ') || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) {
        return std::nullopt;
    }
    std::int64_t micros = 0;
    std::size_t at = static_cast<std::size_t>(used);
    if (at < text.size() && text[at] == '.') {
        std::int64_t scale = 100000;
        for (++at; at < text.size() && text[at] >= '0' && text[at] <= '9'; ++at) {
            micros += (text[at] - '0') * scale;
            scale /= 10;
        }
    }
    if (at < text.size() && text[at] == 'Z') {
        ++at;
    }
    if (at != text.size()) {
        return std::nullopt;
    }
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return static_cast<std::int64_t>(timegm(&tm)) * 1000000 + micros;
}

std::string FormatMicros(std::int64_t us) {
    return FormatRfc3339(SystemTime(std::chrono::microseconds(us)));
}

int RestoreFailed(const std::string& message) {
    std::fprintf(stderr, "Error: %s\n", message.c_str());
    return 1;
}

}  // namespace

void AddReplicaRestoreCommand(CLI::App& cli, ReplicaRestoreCommand& c) {
    c.cmd = cli.add_subcommand(
        "restore", "Rebuild the database in --dir from a point-in-time replica (serve --replicate DIR)"
    );
    c.cmd->add_option("--from", c.from, "The replica: a directory or s3://BUCKET/PREFIX")->required();
    c.cmd->add_option("--to", c.to, "The moment to restore, UTC: 2026-12-03T17:45:12Z (default: the latest)");
    c.cmd->add_flag("--list", c.list, "List the replica's generations and the moments they cover, restore nothing");
}

int RunReplicaRestore(const config::AppConfig& config, const ReplicaRestoreCommand& c) {
    auto place = backups::OpenReplicaPlace(c.from, app::ReplicaBucket(config.replica));
    if (!place) {
        return RestoreFailed(place.error().message);
    }
    if (c.list) {
        auto generations = backups::ListReplica(*place);
        if (!generations) {
            return RestoreFailed(generations.error().message);
        }
        for (const auto& g : *generations) {
            std::printf(
                "%s  snapshot %s  restore points %llu (transactions %llu)  up to %s  %.1f MiB\n",
                g.name.c_str(),
                g.snapshot_us ? FormatMicros(*g.snapshot_us).c_str() : "(incomplete)",
                static_cast<unsigned long long>(g.points),
                static_cast<unsigned long long>(g.transactions),
                g.last_us != 0 ? FormatMicros(g.last_us).c_str() : "-",
                static_cast<double>(g.bytes) / (1024.0 * 1024.0)
            );
        }
        return 0;
    }
    std::optional<std::int64_t> to;
    if (!c.to.empty() && c.to != "latest") {
        to = ParseUtc(c.to);
        if (!to) {
            return RestoreFailed("--to: not a UTC time like 2026-12-03T17:45:12Z: " + c.to);
        }
    }
    const fs::path dir = config.data_dir;
    std::error_code ec;
    for (const char* name : {"data.db", "data.db-wal"}) {
        if (fs::exists(dir / name, ec)) {
            return RestoreFailed((dir / name).string() + " exists: restore into a new --dir, or move it away first");
        }
    }
    fs::create_directories(dir, ec);
    if (ec) {
        return RestoreFailed("cannot create " + dir.string() + ": " + ec.message());
    }
    fs::remove(dir / "data.db-shm", ec);
    auto restored = backups::RestoreReplica(*place, to, dir / "data.db");
    if (!restored) {
        return RestoreFailed(restored.error().message);
    }
    std::printf(
        "Restored %s: the snapshot of %s and %llu transactions after it (%llu restore points), up to %s, into %s\n",
        restored->generation.c_str(),
        FormatMicros(restored->snapshot_us).c_str(),
        static_cast<unsigned long long>(restored->transactions),
        static_cast<unsigned long long>(restored->points),
        FormatMicros(restored->restored_us).c_str(),
        (dir / "data.db").string().c_str()
    );
    if (restored->damaged) {
        std::fprintf(
            stderr,
            "Warning: a damaged restore point in %s ended the replay; the database is as of %s\n",
            restored->generation.c_str(),
            FormatMicros(restored->restored_us).c_str()
        );
    }
    return 0;
}

}  // namespace basalt::cli
