// SPDX-License-Identifier: MIT
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "core/background_loop.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "db/database.hpp"
#include "jobs/queue.hpp"
#include "obs/metrics.hpp"
#include "settings/settings_store.hpp"

namespace basalt::webhooks {

inline constexpr std::int64_t kDeliveryAttempts = 10;
inline constexpr std::size_t kMaxWebhooks = 100;

/// "v1=" + hex HMAC-SHA256 of `secret` over "<timestamp>.<body>": the X-Basalt-Signature header.
std::string Signature(std::string_view secret, std::string_view timestamp, std::string_view body);

/// Outgoing webhooks: superusers' configuration (`_webhooks`), the relay that turns committed
/// events (the outbox) into deliveries, and the delivery job. Every delivery is a "webhook.deliver"
/// job: retried with backoff on a non-2xx answer or a timeout, dead-lettered after kDeliveryAttempts,
/// failed at once when the SSRF guard refuses the target (retrying cannot help; a superuser may
/// redeliver once settings allow it), logged per attempt in `_webhookDeliveries`. The relay records its position in
/// the outbox in the same transaction as the deliveries it creates, so a crash neither loses nor
/// duplicates one. Thread-safe.
class Service {
public:
    Service(db::Database& db, jobs::Queue& queue, const settings::SettingsStore& settings, const Clock& clock)
        : db_(db),
          queue_(queue),
          settings_(settings),
          clock_(clock) {}
    ~Service();
    Service(const Service&) = delete;
    Service& operator=(const Service&) = delete;

    // Configuration (superusers). Errors: kInvalidArgument with field errors, kNotFound.
    /// The created webhook with its secret (shown this once; generated when not given).
    Result<boost::json::object> Create(const boost::json::object& body) const;
    Result<boost::json::object> Update(const std::string& id, const boost::json::object& body) const;
    Result<void> Delete(const std::string& id) const;
    Result<boost::json::object> Get(const std::string& id) const;
    Result<boost::json::array> List() const;
    /// A page of the webhook's deliveries, newest first, in PocketBase's list envelope.
    Result<boost::json::object> Deliveries(const std::string& id, std::int64_t page, std::int64_t per_page) const;
    /// Sends a delivery again (a new job), whatever its state.
    Result<void> Redeliver(const std::string& delivery_id) const;

    /// Retention: deletes deliveries older than `age`; returns how many.
    Result<std::int64_t> PruneDeliveries(std::chrono::milliseconds age) const;
    /// The relay's position in the outbox (events after it are not relayed yet).
    Result<std::int64_t> Cursor() const;

    /// The "webhook.deliver" job handler.
    Result<void> Deliver(const jobs::Job& job) const;

    /// basalt_webhook_deliveries_total{result} (delivered, retrying, failed, skipped) and
    /// basalt_webhook_delivery_duration_seconds, of this process. Thread-safe.
    void CollectMetrics(obs::Exposition& out) const;

    /// Starts the relay thread; `enqueued` runs after deliveries were created (wakes the workers).
    Result<void> Start(std::function<void()> enqueued);
    void Notify();
    void Stop();

private:
    void Run(const std::stop_token& stop);
    /// Moves the outbox cursor over one batch of events, creating their deliveries. Returns how many
    /// events it read.
    Result<std::size_t> RelayBatch();
    /// With no enabled webhook: moves the cursor from `cursor` to the newest event without reading
    /// the outbox. Returns 0.
    Result<std::size_t> SkipTo(std::int64_t cursor);
    std::chrono::steady_clock::time_point last_skip_{};  // relay thread only
    Result<boost::json::object> Validate(const boost::json::object& body, bool create) const;

    db::Database& db_;
    jobs::Queue& queue_;
    const settings::SettingsStore& settings_;
    const Clock& clock_;
    std::function<void()> enqueued_;
    // Attempts by result, in kResults' order (delivery.cpp), and their round-trip times.
    mutable std::array<obs::Counter, 4> results_;
    mutable obs::Histogram seconds_{obs::LatencyBuckets()};
    BackgroundLoop loop_;  // the relay; last: stopped before the members its thread uses go
};

}  // namespace basalt::webhooks
