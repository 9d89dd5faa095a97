// SPDX-License-Identifier: MIT
// Sending one webhook delivery: the signed POST of its event, and the outcome recorded.
#include <algorithm>
#include <array>
#include <chrono>
#include <string_view>

#include <boost/json/parse.hpp>
#include <sodium.h>

#include "client/http_client.hpp"
#include "core/json_text.hpp"
#include "obs/log.hpp"
#include "obs/trace.hpp"
#include "webhooks/webhooks.hpp"

namespace basalt::webhooks {

namespace json = boost::json;

std::string Signature(std::string_view secret, std::string_view timestamp, std::string_view body) {
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, reinterpret_cast<const unsigned char*>(secret.data()), secret.size());
    crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(timestamp.data()), timestamp.size());
    crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>("."), 1);
    crypto_auth_hmacsha256_update(&st, reinterpret_cast<const unsigned char*>(body.data()), body.size());
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_final(&st, mac);
    char hex[crypto_auth_hmacsha256_BYTES * 2 + 1];
    sodium_bin2hex(hex, sizeof(hex), mac, sizeof(mac));
    return std::string("v1=") + hex;
}

namespace {

std::string DeliveryIdOf(const std::string& payload) {
    boost::system::error_code ec;
    json::value v = json::parse(payload, ec);
    if (ec || !v.is_object()) {
        return {};
    }
    const auto* d = v.as_object().if_contains("delivery");
    return d != nullptr && d->is_string() ? std::string(d->as_string()) : std::string();
}

// Records one attempt of delivery `did` (a failure to record it is logged, not returned).
void RecordAttempt(
    db::Database& db,
    const Clock& clock,
    const std::string& did,
    const std::string& status,
    long code,
    const std::string& error,
    std::int64_t ms
) {
    auto w = db.Write([&](db::Executor& ex) -> Result<void> {
        BASALT_TRY(ex.Exec(
            "UPDATE _webhookDeliveries SET status = ?, attempts = attempts + 1, responseStatus = ?, error = ?, "
            "durationMs = ?, updated = ? WHERE id = ?",
            {status, std::int64_t{code}, error.substr(0, 1000), ms, FormatDateTime(clock.Now()), did}
        ));
        return Ok();
    });
    if (!w) {
        obs::Warn("webhook delivery not recorded", {{"delivery", did}, {"error", w.error().message}});
    }
}

// The JSON a receiver gets for delivery `did` of outbox event `event_id` (`e`: its created,
// collectionId, collectionName, recordId, action and record).
std::string DeliveryBody(const std::string& did, std::int64_t event_id, const std::vector<db::Value>& e) {
    std::string body = "{\"id\":";
    AppendJsonString(body, did);
    body += ",\"type\":";
    AppendJsonString(body, "record." + db::AsString(e[4]));
    body += ",\"eventId\":" + std::to_string(event_id) + ",\"created\":";
    AppendJsonString(body, db::AsString(e[0]));
    body += ",\"collection\":{\"id\":";
    AppendJsonString(body, db::AsString(e[1]));
    body += ",\"name\":";
    AppendJsonString(body, db::AsString(e[2]));
    body += "},\"action\":";
    AppendJsonString(body, db::AsString(e[4]));
    body += ",\"record\":" + db::AsString(e[5]) + "}";
    return body;
}

// The signed POST of `body` to `url`, within the webhook settings' limits.
client::HttpRequest DeliveryRequest(
    const settings::WebhookSettings& cfg,
    const std::string& url,
    const std::string& secret,
    const std::string& did,
    std::int64_t event_id,
    const std::string& ts,
    const std::string& body
) {
    client::HttpRequest req;
    req.method = "POST";
    req.url = url;
    req.body = body;
    req.timeout = std::chrono::seconds(cfg.timeout_seconds);
    req.max_response_bytes = std::size_t{64} * 1024;
    req.block_private = !cfg.allow_private_targets;
    req.headers = {
        {"Content-Type", "application/json"},
        {"X-Basalt-Delivery", did},
        {"X-Basalt-Event", std::to_string(event_id)},
        {"X-Basalt-Timestamp", ts},
        {"X-Basalt-Signature", Signature(secret, ts, body)},
    };
    // W3C Trace Context: the attempt's span (the worker runs it as a child of the change's span) is
    // the receiver's parent.
    const obs::TraceContext* running = obs::CurrentSpan();
    const obs::TraceContext span = running != nullptr ? *running : obs::NewSpan();
    req.headers.emplace_back("traceparent", obs::FormatTraceparent(span));
    if (!span.tracestate.empty()) {
        req.headers.emplace_back("tracestate", span.tracestate);
    }
    return req;
}

constexpr std::array<std::string_view, 4> kResults{"delivered", "retrying", "failed", "skipped"};

}  // namespace

void Service::CollectMetrics(obs::Exposition& out) const {
    out.Family(
        "basalt_webhook_deliveries_total",
        obs::MetricType::kCounter,
        "Webhook delivery attempts this process made, by result (retrying: failed, to be tried again)."
    );
    for (std::size_t i = 0; i < kResults.size(); ++i) {
        out.Sample(
            "basalt_webhook_deliveries_total", {{"result", kResults[i]}}, static_cast<double>(results_[i].Value())
        );
    }
    out.HistogramValue(
        "basalt_webhook_delivery_duration_seconds", "Time a delivery's HTTP round trip took.", seconds_.Snapshot()
    );
}

Result<void> Service::Deliver(const jobs::Job& job) const {
    const std::string did = DeliveryIdOf(job.payload);
    BASALT_ASSIGN_OR_RETURN(
        auto rs,
        db_.Read(
            "SELECT d.eventId, w.url, w.secret, w.enabled FROM _webhookDeliveries d JOIN _webhooks w "
            "ON w.id = d.webhook WHERE d.id = ?",
            {did}
        )
    );
    if (rs.rows.empty()) {
        return Ok();  // the webhook (and its deliveries) was deleted
    }
    const std::int64_t event_id = db::AsInt(rs.rows[0][0]);
    const std::string url = db::AsString(rs.rows[0][1]);
    const std::string secret = db::AsString(rs.rows[0][2]);
    const bool enabled = db::AsInt(rs.rows[0][3]) != 0;

    auto record = [&](const std::string& status, long code, const std::string& error, std::int64_t ms) {
        RecordAttempt(db_, clock_, did, status, code, error, ms);
        const auto* it = std::find(kResults.begin(), kResults.end(), status);
        if (it != kResults.end()) {
            results_[static_cast<std::size_t>(it - kResults.begin())].Add();
        }
    };
    if (!enabled) {
        record("skipped", 0, "the webhook is disabled", 0);
        return Ok();
    }
    BASALT_ASSIGN_OR_RETURN(
        auto ev,
        db_.Read(
            "SELECT created, collectionId, collectionName, recordId, action, record FROM _events WHERE id = ?",
            {event_id}
        )
    );
    if (ev.rows.empty()) {
        record("failed", 0, "the event is no longer in the outbox", 0);
        return Ok();  // nothing left to send: do not retry
    }
    const std::string body = DeliveryBody(did, event_id, ev.rows[0]);
    const std::string ts = std::to_string(UnixSeconds(clock_.Now()));
    const client::HttpRequest req = DeliveryRequest(settings_.Webhooks(), url, secret, did, event_id, ts, body);
    const auto started = std::chrono::steady_clock::now();
    auto res = client::Fetch(req);
    seconds_.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
    const auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - started).count();
    const bool last = job.attempts >= job.max_attempts;
    if (res && res->status >= 200 && res->status < 300) {
        record("delivered", res->status, "", ms);
        return Ok();
    }
    const std::string error = res ? "the receiver answered " + std::to_string(res->status) : res.error().message;
    if (!res && res.error().code == ErrorCode::kForbidden) {
        // Refused by the SSRF guard: it will be refused again, so the delivery fails now.
        record("failed", 0, error, ms);
        return MakeError(ErrorCode::kForbidden, error);
    }
    record(last ? "failed" : "retrying", res ? res->status : 0, error, ms);
    return MakeError(ErrorCode::kUnavailable, error);
}

}  // namespace basalt::webhooks
