// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "core/result.hpp"

namespace basalt::config {

using std::chrono::milliseconds;
using std::chrono::seconds;

/// The HTTP server: where it listens and every limit a client could otherwise push on.
struct HttpConfig {
    std::string host = "127.0.0.1";
    std::uint16_t port = 8090;                           // 0 picks a free port (printed at start)
    unsigned threads = 0;                                // I/O threads; 0 = one per core
    std::size_t max_connections = 4096;                  // beyond it new connections are accepted and closed
    std::size_t max_header_bytes = 16UL * 1024;          // request line + headers -> 431
    std::uint64_t max_body_bytes = 32ULL * 1024 * 1024;  // -> 413
    /// multipart/form-data bodies (uploads) may be this large (-> 413 beyond): those over
    /// spool_threshold_bytes stream to an unnamed file in spool_dir as they arrive, not to memory.
    std::uint64_t max_upload_bytes = 256ULL * 1024 * 1024;
    std::uint64_t spool_threshold_bytes = 1024ULL * 1024;
    std::string spool_dir;               // set by the app (<data dir>/.tmp); empty keeps every body in memory
    milliseconds header_timeout{10000};  // from the first byte of a request to its last header byte
    milliseconds body_timeout{60000};    // to receive the body once headers are in
    milliseconds idle_timeout{60000};    // keep-alive connection with no request in flight
    milliseconds write_timeout{60000};   // to write one response
    milliseconds shutdown_grace{10000};  // in-flight requests get this long on SIGTERM
    std::vector<std::string> cors_origins{"*"};
    /// One line per request: "off" (the default: request logs are a cost a server should not pay
    /// unasked), "stdout" (with the process log) or the path of a file (appended to).
    std::string access_log = "off";
};

/// Storage in the data directory.
struct DbConfig {
    milliseconds busy_timeout{5000};
    std::size_t max_readers = 16;
    /// Threads for reads that may scan (lists, filtered views, view collections), apart from the
    /// hashing pool so that slow queries never starve sign-ins, and off the I/O threads.
    unsigned query_threads = 4;
    std::size_t max_query_queue = 1024;  // queries waiting beyond this get 503
};

/// Point-in-time replication (`serve --replicate DIR`, docs/backups.md).
struct ReplicaConfig {
    std::string dest;  // a directory or s3://BUCKET/PREFIX; empty: off
    std::chrono::hours retention{72};
    std::chrono::hours snapshot_every{24};
    // The bucket of an s3:// destination (also read by `basalt restore --from s3://...`).
    std::string s3_endpoint;
    std::string s3_region = "us-east-1";
    std::string s3_access_key;  // from the environment only (BASALT_REPLICA_S3_ACCESS_KEY)
    std::string s3_secret;      // from the environment only (BASALT_REPLICA_S3_SECRET)
    bool s3_path_style = false;
};

/// Authentication.
struct AuthConfig {
    unsigned hash_threads = 2;         // blocking pool for password hashing (CPU-bound)
    std::size_t max_hash_queue = 256;  // requests waiting for a hash beyond this get 503
};

/// Slow outbound I/O a request waits for (OAuth2 token and user-info round trips, the SMTP test
/// mail): a pool of its own, so a slow provider or mail server never holds the threads that hash
/// passwords (sign-ins) or run list queries.
struct OutboundConfig {
    unsigned threads = 4;
    std::size_t max_queue = 256;  // requests waiting beyond this get 503
};

/// Realtime (server-sent events) clients.
struct RealtimeConfig {
    milliseconds heartbeat{30000};                 // an SSE comment when nothing was written for this long
    milliseconds idle{300000};                     // a client with no message for this long is closed (reconnects)
    milliseconds max_duration{1800000};            // a connection lives at most this long (reconnects)
    std::size_t max_queued_bytes = 1024UL * 1024;  // a client this far behind is dropped (reconnects)
    unsigned fanout_threads = 0;                   // threads sending events to clients; 0 = one per core, at most 4
};

/// The job queue's workers.
struct JobsConfig {
    unsigned workers = 2;       // threads running jobs (worker and all roles)
    milliseconds lease{60000};  // a claimed job whose worker vanished is retried after this
    milliseconds poll{500};     // how often idle workers look for due jobs
};

/// The transactional outbox (`_events`): how long events are kept once every consumer with a
/// position (the webhook relay) has passed them, and how many rows at most.
struct EventsConfig {
    std::chrono::hours retention{24};
    std::size_t max_rows = 1000000;
};

/// Stored files: how often the sweep for files no record names runs (roles all and worker).
struct FilesConfig {
    std::chrono::hours sweep_interval{6};  // 0: never
};

/// Everything `basalt serve` needs, merged from flags and BASALT_* environment variables.
/// What a `serve` process does: kAll HTTP and jobs; kApi HTTP only (no workers, no scheduler);
/// kWorker jobs only (no HTTP). Processes of different roles may share a data directory.
enum class Role { kAll, kApi, kWorker };

inline bool ServesHttp(Role r) {
    return r != Role::kWorker;
}
inline bool RunsJobs(Role r) {
    return r != Role::kApi;
}

struct AppConfig {
    std::string data_dir = "basalt_data";
    bool dev = false;  // verbose logs (debug level) and automigrate
    /// The migration files (docs/migrations.md); empty: `migrations` beside the data directory.
    std::string migrations_dir;
    /// Every schema change through the API writes a migration file (also on with `dev`).
    bool automigrate = false;
    /// The key backups are encrypted with (docs/backups.md, "Encryption"): its text (the
    /// BASALT_BACKUP_KEY environment variable) or the path of a file holding it
    /// (--backup-key-file); both empty: archives are plain zips. Parsed and checked at start
    /// (backups::LoadBackupKey).
    std::string backup_key;
    std::string backup_key_file;
    HttpConfig http;
    DbConfig db;
    AuthConfig auth;
    OutboundConfig outbound;
    RealtimeConfig realtime;
    JobsConfig jobs;
    EventsConfig events;
    FilesConfig files;
    ReplicaConfig replica;
    Role role = Role::kAll;
    /// The built admin dashboard; empty: found beside the binary or in the source tree.
    std::string admin_dir;
    /// HOST:PORT of a listener that serves only the metrics (GET /metrics, without authentication:
    /// bind it where only the scraper reaches); empty: none.
    std::string metrics_listen;
    /// MiB of guests' record lists and views kept in the response cache (invalidated by every
    /// commit); 0: off.
    std::size_t guest_cache_mb = 16;
};

/// Parses "HOST:PORT" (or ":PORT", or "[v6]:PORT") into `http.host`/`http.port`.
/// Fails with kInvalidArgument naming what is wrong.
Result<void> ParseListenAddress(std::string_view text, HttpConfig& http);

/// Checks every value for sanity before anything starts (fail fast).
Result<void> Validate(const AppConfig& config);

}  // namespace basalt::config
