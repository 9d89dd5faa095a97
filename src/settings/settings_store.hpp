// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "core/result.hpp"
#include "db/database.hpp"
#include "storage/storage.hpp"

namespace basalt::settings {

/// Batch API limits (settings.batch).
struct BatchSettings {
    bool enabled = false;
    std::int64_t max_requests = 50;
    std::int64_t timeout_seconds = 3;
    std::int64_t max_body_size = 0;  // 0 = the server's body limit
};

/// settings.logs, PocketBase's shape: entries are kept `max_days` (0: none are written) when their
/// level (Go's slog numbers: debug -4, info 0, warn 4, error 8) is at least `min_level`; request
/// entries record the client's IPs and the auth record's id when asked.
struct LogsSettings {
    std::int64_t max_days = 5;
    std::int64_t min_level = 0;
    bool log_ip = true;
    bool log_auth_id = false;
};

/// Outgoing mail: settings.smtp and the sender and app of settings.meta.
struct MailSettings {
    bool enabled = false;
    std::string host;
    std::int64_t port = 587;
    std::string username;
    std::string password;
    bool tls = false;
    std::string local_name;
    std::string app_name;
    std::string app_url;
    std::string sender_name;
    std::string sender_address;
};

/// Webhook deliveries (settings.webhooks, basalt's own section).
struct WebhookSettings {
    bool allow_private_targets = false;  // loopback, private, link-local targets (tests, internal services)
    std::int64_t timeout_seconds = 10;
};

/// An S3-compatible bucket: settings.s3 (file storage) or settings.backups.s3, PocketBase's shape.
struct S3Settings {
    bool enabled = false;
    std::string bucket;
    std::string region;
    std::string endpoint;
    std::string access_key;
    std::string secret;
    bool force_path_style = false;

    bool operator==(const S3Settings&) const = default;
    /// The connection these settings describe.
    storage::S3Config Config() const;
};

/// settings.backups' schedule: `cron` (empty: no scheduled backups) and `cronMaxKeep` (how many of
/// the schedule's backups to keep).
struct BackupSchedule {
    std::string cron;
    std::int64_t max_keep = 3;
    bool operator==(const BackupSchedule&) const = default;
};

/// settings.trustedProxy: PocketBase's headers and useLeftmostIP, and basalt's `proxies` (the peers
/// allowed to set those headers; empty: loopback and private-network peers).
struct ProxySettings {
    std::vector<std::string> headers;
    bool use_leftmost_ip = false;
    std::vector<std::string> proxies;
    /// settings.superuserIPs: when not empty, superusers are refused (403) from any other client IP.
    std::vector<std::string> superuser_ips;
};

/// One rule of settings.rateLimits, PocketBase's shape: at most `max_requests` per `duration_seconds`
/// for requests matching `label` (a tag like `users:create` or `*:auth`, a path or path prefix
/// ending in "/", or `METHOD /path`) from `audience` ("" anyone, "@guest", "@auth").
struct RateLimitRule {
    std::string label;
    std::string audience;
    std::int64_t duration_seconds = 1;
    std::int64_t max_requests = 1;
};

/// settings.rateLimits: off by default (as PocketBase); superusers and `excluded` clients are never
/// limited.
struct RateLimitSettings {
    bool enabled = false;
    std::vector<RateLimitRule> rules;
    std::vector<std::string> excluded_ips;  // IPs or CIDR networks
};

/// The runtime settings document in PocketBase's shape (meta, logs, smtp, backups, s3, batch,
/// rateLimits, trustedProxy), kept in `_params` under the key "settings". Later modules add their
/// sections here. Thread-safe; reads are served from memory.
class SettingsStore {
public:
    explicit SettingsStore(db::Database& db) : db_(db) {}

    /// Reads the stored document (merged over the defaults) at start.
    Result<void> Load();

    /// The document for the API: secrets (smtp.password, s3.secret, backups.s3.secret,
    /// metrics.token) as "".
    boost::json::object Redacted() const;

    /// Merges `patch` into the document: only known keys, each with the type of its default; a
    /// secret sent as "" keeps its stored value. Fails with per-field errors (kInvalidArgument), or
    /// the write's error. Returns the redacted result. Blocks on the writer: not on an I/O thread.
    Result<boost::json::object> Patch(const boost::json::object& patch);

    BatchSettings Batch() const;
    LogsSettings Logs() const;
    /// settings.metrics.token: a bearer token that may read the metrics (empty: none).
    std::string MetricsToken() const;
    MailSettings Mail() const;
    WebhookSettings Webhooks() const;
    /// settings.s3: where file fields' files are stored when enabled.
    S3Settings FileStorage() const;
    /// settings.backups.s3.
    S3Settings BackupStorage() const;
    BackupSchedule Backups() const;

    /// Called after each successful Patch (on the patching thread, outside the store's lock), so
    /// what depends on the settings (the file storage) can follow them. Set once while wiring,
    /// before requests are served.
    void SetOnChange(std::function<void()> fn) { on_change_ = std::move(fn); }
    /// Read on every request: a shared snapshot, rebuilt when the settings change.
    std::shared_ptr<const ProxySettings> TrustedProxy() const;
    /// Read on every request: a shared snapshot, rebuilt when the settings change (a new pointer
    /// means new rules).
    std::shared_ptr<const RateLimitSettings> RateLimits() const;

    /// The defaults of a new install.
    static boost::json::object Defaults();

private:
    db::Database& db_;
    void SetDocument(boost::json::object doc);  // under mu_

    mutable std::mutex mu_;
    boost::json::object doc_ = Defaults();
    std::shared_ptr<const ProxySettings> proxy_ = std::make_shared<const ProxySettings>();
    std::shared_ptr<const RateLimitSettings> rate_limits_ = std::make_shared<const RateLimitSettings>();
    std::function<void()> on_change_;
};

}  // namespace basalt::settings
