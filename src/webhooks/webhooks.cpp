// SPDX-License-Identifier: MIT
#include "webhooks/webhooks.hpp"

#include <algorithm>
#include <limits>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <sodium.h>

#include "client/http_client.hpp"
#include "core/ids.hpp"
#include "core/json_text.hpp"
#include "core/random.hpp"
#include "events/events.hpp"
#include "obs/log.hpp"

namespace basalt::webhooks {

namespace json = boost::json;

namespace {

constexpr const char* kCursorKey = "webhooks.cursor";
constexpr std::size_t kRelayBatch = 500;
constexpr auto kSkipEvery = std::chrono::seconds(30);
constexpr std::size_t kMaxUrl = 2048;
constexpr std::size_t kMaxSecret = 256;
constexpr std::string_view kSecretAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

Error NotFound() {
    return MakeError(ErrorCode::kNotFound, "The requested resource wasn't found.");
}

json::array ParseList(const std::string& text) {
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    return !ec && v.is_array() ? v.as_array() : json::array{};
}

bool ListHas(const json::array& list, std::string_view a, std::string_view b = {}) {
    if (list.empty()) {
        return true;  // no filter: everything
    }
    return std::any_of(list.begin(), list.end(), [&](const json::value& v) {
        return v.is_string() && (v.as_string() == a || (!b.empty() && v.as_string() == b));
    });
}

json::object WebhookJson(const std::vector<db::Value>& row) {
    json::object o;
    o["id"] = db::AsString(row[0]);
    o["name"] = db::AsString(row[1]);
    o["url"] = db::AsString(row[2]);
    o["collections"] = ParseList(db::AsString(row[3]));
    o["actions"] = ParseList(db::AsString(row[4]));
    o["enabled"] = db::AsInt(row[5]) != 0;
    o["created"] = db::AsString(row[6]);
    o["updated"] = db::AsString(row[7]);
    return o;
}

constexpr const char* kWebhookColumns = "id, name, url, collections, actions, enabled, created, updated";

}  // namespace

Service::~Service() {
    Stop();
}

Result<json::object> Service::Validate(const json::object& body, bool create) const {
    std::vector<FieldError> errors;
    json::object out;
    auto text = [&](const char* name, std::size_t max, bool required) {
        const json::value* v = body.if_contains(name);
        if (v == nullptr || v->is_null()) {
            if (required) {
                errors.push_back({name, "validation_required", "Cannot be blank."});
            }
            return;
        }
        if (!v->is_string() || v->as_string().size() > max || (required && v->as_string().empty())) {
            errors.push_back(
                {name, "validation_invalid_value", "Must be a text of at most " + std::to_string(max) + " characters."}
            );
            return;
        }
        out[name] = *v;
    };
    text("name", 200, false);
    text("url", kMaxUrl, create);
    text("secret", kMaxSecret, false);
    if (const auto* u = out.if_contains("url")) {
        const std::string_view url = u->as_string();
        if (!(url.starts_with("http://") || url.starts_with("https://")) ||
            url.find_first_of(" \r\n\t") != std::string_view::npos) {
            errors.push_back({"url", "validation_invalid_url", "Must be an http or https URL."});
        }
    }
    if (const auto* sct = out.if_contains("secret");
        sct != nullptr && !sct->as_string().empty() && sct->as_string().size() < 16) {
        errors.push_back({"secret", "validation_length_too_short", "Must be at least 16 characters."});
    }
    auto list = [&](const char* name, const std::vector<std::string_view>& allowed) {
        const json::value* v = body.if_contains(name);
        if (v == nullptr || v->is_null()) {
            return;
        }
        bool ok = v->is_array() && v->as_array().size() <= 1000;
        if (ok) {
            for (const auto& item : v->as_array()) {
                ok = ok && item.is_string() && !item.as_string().empty() && item.as_string().size() <= 255 &&
                     (allowed.empty() ||
                      std::find(allowed.begin(), allowed.end(), std::string_view(item.as_string())) != allowed.end());
            }
        }
        if (!ok) {
            errors.push_back(
                {name,
                 "validation_invalid_value",
                 allowed.empty() ? "Must be a list of collection names or ids."
                                 : "Must be a list of create, update and delete."}
            );
            return;
        }
        out[name] = *v;
    };
    list("collections", {});
    list("actions", {"create", "update", "delete"});
    if (const json::value* e = body.if_contains("enabled"); e != nullptr && !e->is_null()) {
        if (!e->is_bool()) {
            errors.push_back({"enabled", "validation_invalid_value", "Must be a boolean."});
        } else {
            out["enabled"] = *e;
        }
    }
    if (!errors.empty()) {
        return ValidationError("Failed to validate the webhook.", std::move(errors));
    }
    return out;
}

Result<json::object> Service::Create(const json::object& body) const {
    BASALT_ASSIGN_OR_RETURN(auto v, Validate(body, true));
    std::string secret;
    if (const auto* s = v.if_contains("secret"); s != nullptr && !s->as_string().empty()) {
        secret = std::string(s->as_string());
    } else {
        secret = "whsec_" + SecureRandomString(32, kSecretAlphabet);
    }
    const std::string id = NewRecordId();
    const std::string now = FormatDateTime(clock_.Now());
    auto str = [&](const char* name, const char* fallback) {
        const auto* x = v.if_contains(name);
        return x != nullptr ? (x->is_string() ? std::string(x->as_string()) : json::serialize(*x))
                            : std::string(fallback);
    };
    const bool enabled = !v.contains("enabled") || v.at("enabled").as_bool();
    auto r = db_.Write([&](db::Executor& ex) -> Result<void> {
        BASALT_ASSIGN_OR_RETURN(auto count, ex.Query("SELECT COUNT(*) FROM _webhooks"));
        if (db::AsInt(count.rows[0][0]) >= static_cast<std::int64_t>(kMaxWebhooks)) {
            return ValidationError(
                "Failed to create the webhook.", {{"url", "validation_too_many", "At most 100 webhooks."}}
            );
        }
        // A webhook hears of what is committed after it exists: events up to startEvent are older.
        BASALT_TRY(ex.Exec(
            "INSERT INTO _webhooks (id, name, url, collections, actions, secret, enabled, startEvent, created, "
            "updated) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(id), 0) FROM _events), ?, ?)",
            {id,
             str("name", ""),
             str("url", ""),
             str("collections", "[]"),
             str("actions", "[]"),
             secret,
             std::int64_t{enabled ? 1 : 0},
             now,
             now}
        ));
        return Ok();
    });
    if (!r) {
        return r.error();
    }
    auto out = Get(id);
    if (out) {
        (*out)["secret"] = secret;  // shown once
    }
    return out;
}

Result<json::object> Service::Update(const std::string& id, const json::object& body) const {
    BASALT_ASSIGN_OR_RETURN(auto v, Validate(body, false));
    auto r = db_.Write([&](db::Executor& ex) -> Result<void> {
        BASALT_ASSIGN_OR_RETURN(auto exists, ex.Query("SELECT 1 FROM _webhooks WHERE id = ?", {id}));
        if (exists.rows.empty()) {
            return NotFound();
        }
        for (const auto& [key, val] : v) {
            if (key == "secret" && val.as_string().empty()) {
                continue;  // write-only: "" keeps the stored one
            }
            db::Value value = val.is_string() ? db::Value(std::string(val.as_string()))
                              : val.is_bool() ? db::Value(std::int64_t{val.as_bool() ? 1 : 0})
                                              : db::Value(json::serialize(val));
            // `key` is one of Validate's known names, never client text.
            BASALT_TRY(ex.Exec("UPDATE _webhooks SET \"" + std::string(key) + "\" = ? WHERE id = ?", {value, id}));
        }
        BASALT_TRY(ex.Exec("UPDATE _webhooks SET updated = ? WHERE id = ?", {FormatDateTime(clock_.Now()), id}));
        return Ok();
    });
    if (!r) {
        return r.error();
    }
    return Get(id);
}

Result<void> Service::Delete(const std::string& id) const {
    return db_.Write([&](db::Executor& ex) -> Result<void> {
        BASALT_TRY(ex.Exec("DELETE FROM _webhookDeliveries WHERE webhook = ?", {id}));
        BASALT_ASSIGN_OR_RETURN(auto n, ex.Exec("DELETE FROM _webhooks WHERE id = ?", {id}));
        return n == 0 ? Result<void>(NotFound()) : Ok();
    });
}

Result<json::object> Service::Get(const std::string& id) const {
    BASALT_ASSIGN_OR_RETURN(
        auto rs, db_.Read(std::string("SELECT ") + kWebhookColumns + " FROM _webhooks WHERE id = ?", {id})
    );
    if (rs.rows.empty()) {
        return NotFound();
    }
    return WebhookJson(rs.rows[0]);
}

Result<json::array> Service::List() const {
    BASALT_ASSIGN_OR_RETURN(
        auto rs, db_.Read(std::string("SELECT ") + kWebhookColumns + " FROM _webhooks ORDER BY created, id")
    );
    json::array out;
    for (const auto& row : rs.rows) {
        out.push_back(WebhookJson(row));
    }
    return out;
}

Result<json::object> Service::Deliveries(const std::string& id, std::int64_t page, std::int64_t per_page) const {
    BASALT_TRY(Get(id));
    BASALT_ASSIGN_OR_RETURN(
        auto rs,
        db_.Read(
            "SELECT id, eventId, action, collectionName, recordId, status, attempts, responseStatus, error, "
            "durationMs, created, updated, COALESCE(traceparent, '') FROM _webhookDeliveries WHERE webhook = ? "
            "ORDER BY created DESC, "
            "eventId DESC LIMIT ? OFFSET ?",
            {id, per_page, (page - 1) * per_page}
        )
    );
    BASALT_ASSIGN_OR_RETURN(auto count, db_.Read("SELECT COUNT(*) FROM _webhookDeliveries WHERE webhook = ?", {id}));
    json::array items;
    for (const auto& row : rs.rows) {
        json::object d;
        d["id"] = db::AsString(row[0]);
        d["webhook"] = id;
        d["eventId"] = db::AsInt(row[1]);
        d["action"] = db::AsString(row[2]);
        d["collectionName"] = db::AsString(row[3]);
        d["recordId"] = db::AsString(row[4]);
        d["status"] = db::AsString(row[5]);
        d["attempts"] = db::AsInt(row[6]);
        d["responseStatus"] = db::AsInt(row[7]);
        d["error"] = db::AsString(row[8]);
        d["durationMs"] = db::AsInt(row[9]);
        d["created"] = db::AsString(row[10]);
        d["updated"] = db::AsString(row[11]);
        d["traceparent"] = db::AsString(row[12]);  // the change's span; "" when it had none
        items.push_back(std::move(d));
    }
    const std::int64_t total = db::AsInt(count.rows[0][0]);
    json::object out;
    out["page"] = page;
    out["perPage"] = per_page;
    out["totalItems"] = total;
    out["totalPages"] = (total + per_page - 1) / per_page;
    out["items"] = std::move(items);
    return out;
}

Result<void> Service::Redeliver(const std::string& delivery_id) const {
    return db_.Write([&](db::Executor& ex) -> Result<void> {
        BASALT_ASSIGN_OR_RETURN(
            auto n,
            ex.Exec(
                "UPDATE _webhookDeliveries SET status = 'pending', updated = ? WHERE id = ?",
                {FormatDateTime(clock_.Now()), delivery_id}
            )
        );
        if (n == 0) {
            return NotFound();
        }
        jobs::NewJob job;
        job.kind = "webhook.deliver";
        job.payload = "{\"delivery\":\"" + delivery_id + "\"}";
        job.max_attempts = kDeliveryAttempts;
        // The change's trace again (its tracestate is gone with the first job); without one, the
        // superuser's request's (the write runs under its span).
        BASALT_ASSIGN_OR_RETURN(
            auto tp, ex.Query("SELECT COALESCE(traceparent, '') FROM _webhookDeliveries WHERE id = ?", {delivery_id})
        );
        job.traceparent = tp.rows.empty() ? std::string() : db::AsString(tp.rows[0][0]);
        BASALT_TRY(queue_.EnqueueIn(ex, job));
        return Ok();
    });
}

Result<std::int64_t> Service::PruneDeliveries(std::chrono::milliseconds age) const {
    return db_.WriteOne(
        "DELETE FROM _webhookDeliveries WHERE created < ? AND status != 'pending' AND status != 'retrying'",
        {FormatDateTime(clock_.Now() - age)}
    );
}

Result<std::int64_t> Service::Cursor() const {
    BASALT_ASSIGN_OR_RETURN(auto cur, db_.Read("SELECT value FROM _params WHERE key = ?", {std::string(kCursorKey)}));
    // Before the relay ever ran, nothing is protected: events are everyone's to prune.
    return cur.rows.empty() ? std::numeric_limits<std::int64_t>::max() : std::stoll(db::AsString(cur.rows[0][0], "0"));
}

Result<void> Service::Start(std::function<void()> enqueued) {
    enqueued_ = std::move(enqueued);
    // The first start begins where the oldest webhook begins (or at the newest event when there is
    // none): nothing older can concern any webhook.
    auto r = db_.Write([&](db::Executor& ex) -> Result<void> {
        BASALT_ASSIGN_OR_RETURN(
            auto latest,
            ex.Query("SELECT COALESCE((SELECT MIN(startEvent) FROM _webhooks), (SELECT MAX(id) FROM _events), 0)")
        );
        BASALT_TRY(ex.Exec(
            "INSERT INTO _params (key, value) VALUES (?, ?) ON CONFLICT DO NOTHING",
            {std::string(kCursorKey), std::to_string(db::AsInt(latest.rows[0][0]))}
        ));
        return Ok();
    });
    if (!r) {
        return r;
    }
    loop_.Start([this](const std::stop_token& stop) { Run(stop); });
    return Ok();
}

void Service::Notify() {
    loop_.Notify();
}

void Service::Stop() {
    loop_.Stop();
}

void Service::Run(const std::stop_token& stop) {
    std::uint64_t seen = 0;
    while (loop_.WaitForWake(stop, seen, std::chrono::milliseconds(200))) {
        for (;;) {
            auto n = RelayBatch();
            if (!n) {
                obs::Warn("webhook relay failed", {{"error", n.error().message}});
                break;
            }
            if (*n < kRelayBatch) {
                break;
            }
        }
    }
}

Result<std::size_t> Service::SkipTo(std::int64_t cursor) {
    BASALT_ASSIGN_OR_RETURN(auto latest, events::LatestId(db_));
    if (latest <= cursor) {
        return std::size_t{0};
    }
    auto w = db_.Write([&](db::Executor& ex) -> Result<void> {
        auto n = ex.Exec(
            "INSERT INTO _params (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value "
            "WHERE CAST(_params.value AS INTEGER) < CAST(excluded.value AS INTEGER)",
            {std::string(kCursorKey), std::to_string(latest)}
        );
        return n ? Ok() : Result<void>(n.error());
    });
    if (!w) {
        return w.error();
    }
    return std::size_t{0};
}

namespace {

// An enabled webhook as the relay matches events against it.
struct RelayHook {
    std::string id;
    json::array collections;
    json::array actions;
    std::int64_t start = 0;
};

std::vector<RelayHook> RelayHooks(const db::ResultSet& rows) {
    std::vector<RelayHook> list;
    for (const auto& row : rows.rows) {
        list.push_back(
            {db::AsString(row[0]), ParseList(db::AsString(row[1])), ParseList(db::AsString(row[2])), db::AsInt(row[3])}
        );
    }
    return list;
}

// A pending delivery of event `e` to webhook `h` and the job that sends it, when `h` wants the
// event and has no delivery of it yet. Whether one was created.
Result<bool> CreateDelivery(
    db::Executor& ex, jobs::Queue& queue, const RelayHook& h, const events::Event& e, const std::string& now
) {
    if (e.id <= h.start || !ListHas(h.collections, e.collection_id, e.collection_name) ||
        !ListHas(h.actions, e.action)) {
        return false;
    }
    const std::string did = NewRecordId();
    BASALT_ASSIGN_OR_RETURN(
        auto n,
        ex.Exec(
            "INSERT INTO _webhookDeliveries (id, webhook, eventId, action, collectionName, recordId, status, "
            "created, updated, traceparent) VALUES (?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?) ON CONFLICT DO NOTHING",
            {did,
             h.id,
             e.id,
             e.action,
             e.collection_name,
             e.record_id,
             now,
             now,
             e.traceparent.empty() ? db::Value(nullptr) : db::Value(e.traceparent)}
        )
    );
    if (n == 0) {
        return false;
    }
    jobs::NewJob job;
    job.kind = "webhook.deliver";
    job.payload = "{\"delivery\":\"" + did + "\"}";
    job.idempotency_key = did;
    job.max_attempts = kDeliveryAttempts;
    job.traceparent = e.traceparent;  // each attempt is a child span of the change's
    job.tracestate = e.tracestate;
    BASALT_TRY(queue.EnqueueIn(ex, job));
    return true;
}

}  // namespace

Result<std::size_t> Service::RelayBatch() {
    BASALT_ASSIGN_OR_RETURN(auto cur, db_.Read("SELECT value FROM _params WHERE key = ?", {std::string(kCursorKey)}));
    const std::int64_t cursor = cur.rows.empty() ? 0 : std::stoll(db::AsString(cur.rows[0][0], "0"));
    BASALT_ASSIGN_OR_RETURN(
        auto hooks, db_.Read("SELECT id, collections, actions, startEvent FROM _webhooks WHERE enabled = 1")
    );
    if (hooks.rows.empty()) {
        // Nobody listens: the outbox is not read at all. Now and then (not on every wake: under a
        // write load that would double the commits) the cursor jumps to the newest event (a webhook
        // created later starts after it anyway), so the events behind it may be pruned.
        const auto now = std::chrono::steady_clock::now();
        if (now - last_skip_ < kSkipEvery) {
            return std::size_t{0};
        }
        last_skip_ = now;
        return SkipTo(cursor);
    }
    // The deliveries need only each event's id, collection and action: the record stays on disk.
    BASALT_ASSIGN_OR_RETURN(auto events, events::ReadAfter(db_, cursor, kRelayBatch, /*with_record=*/false));
    if (events.empty()) {
        return std::size_t{0};
    }
    const std::vector<RelayHook> list = RelayHooks(hooks);
    std::size_t created = 0;
    const std::string now = FormatDateTime(clock_.Now());
    auto w = db_.Write([&](db::Executor& ex) -> Result<void> {
        created = 0;
        // Another relay (another process) may have moved the cursor: then this batch is its.
        BASALT_ASSIGN_OR_RETURN(
            auto again, ex.Query("SELECT value FROM _params WHERE key = ?", {std::string(kCursorKey)})
        );
        if (!again.rows.empty() && std::stoll(db::AsString(again.rows[0][0], "0")) != cursor) {
            return Ok();
        }
        for (const auto& e : events) {
            if (e.action != "create" && e.action != "update" && e.action != "delete") {
                continue;
            }
            for (const auto& h : list) {
                BASALT_ASSIGN_OR_RETURN(auto made, CreateDelivery(ex, queue_, h, e, now));
                created += made ? 1 : 0;
            }
        }
        BASALT_TRY(ex.Exec(
            "INSERT INTO _params (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            {std::string(kCursorKey), std::to_string(events.back().id)}
        ));
        return Ok();
    });
    if (!w) {
        return w.error();
    }
    if (created > 0 && enqueued_) {
        enqueued_();
    }
    return events.size();
}

}  // namespace basalt::webhooks
