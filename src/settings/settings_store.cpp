// SPDX-License-Identifier: MIT
#include "settings/settings_store.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "core/ip.hpp"
#include "core/text.hpp"
#include "jobs/cron.hpp"

namespace basalt::settings {

namespace {

namespace json = boost::json;

const std::vector<std::vector<std::string>> kSecrets = {
    {"smtp", "password"},
    {"s3", "secret"},
    {"backups", "s3", "secret"},
    {"metrics", "token"},
};

bool IsSecret(const std::vector<std::string>& path) {
    for (const auto& s : kSecrets) {
        if (s == path) {
            return true;
        }
    }
    return false;
}

bool SameKind(const json::value& a, const json::value& b) {
    if (a.is_number() && b.is_number()) {
        return true;
    }
    return a.kind() == b.kind() || (a.is_null() || b.is_null());
}

std::string Join(const std::vector<std::string>& path) {
    std::string s;
    for (const auto& p : path) {
        s += (s.empty() ? "" : ".") + p;
    }
    return s;
}

// Merges `patch` into `target` (same shape as `defaults`), collecting errors.
void Merge(
    json::object& target,
    const json::object& defaults,
    const json::object& patch,
    std::vector<std::string>& path,
    std::vector<FieldError>& errors
) {
    for (const auto& [key, value] : patch) {
        const auto* def = defaults.if_contains(key);
        if (def == nullptr) {
            continue;  // unknown keys are ignored, as PocketBase does
        }
        path.emplace_back(key);
        if (def->is_object()) {
            if (!value.is_object()) {
                errors.push_back({Join(path), "validation_invalid_value", "Must be an object."});
            } else {
                json::value& t = target[key];
                if (!t.is_object()) {
                    t = def->as_object();
                }
                Merge(t.as_object(), def->as_object(), value.as_object(), path, errors);
            }
        } else if (!SameKind(*def, value)) {
            errors.push_back({Join(path), "validation_invalid_value", "Invalid value type."});
        } else if (IsSecret(path) && value.is_string() && value.as_string().empty()) {
            // A redacted secret sent back unchanged keeps the stored one.
        } else if (value.is_number() && value.to_number<double>() < 0 && Join(path) != "logs.minLevel") {
            // Every number but the log level (slog's debug is -4) counts something.
            errors.push_back({Join(path), "validation_min_number_constraint", "Must not be negative."});
        } else {
            target[key] = value;
        }
        path.pop_back();
    }
}

void Redact(json::object& doc) {
    for (const auto& s : kSecrets) {
        json::object* o = &doc;
        for (std::size_t i = 0; i + 1 < s.size() && o != nullptr; ++i) {
            auto* next = o->if_contains(s[i]);
            o = next != nullptr && next->is_object() ? &next->as_object() : nullptr;
        }
        if (o != nullptr && o->contains(s.back())) {
            (*o)[s.back()] = "";
        }
    }
}

std::int64_t Int(const json::object& o, std::string_view key, std::int64_t fallback) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_number() ? static_cast<std::int64_t>(v->to_number<double>()) : fallback;
}

RateLimitSettings RateLimitsOf(const json::object& doc) {
    RateLimitSettings out;
    const auto* v = doc.if_contains("rateLimits");
    if (v == nullptr || !v->is_object()) {
        return out;
    }
    const auto& o = v->as_object();
    if (const auto* e = o.if_contains("enabled"); e != nullptr && e->is_bool()) {
        out.enabled = e->as_bool();
    }
    if (const auto* a = o.if_contains("excludedIPs"); a != nullptr && a->is_array()) {
        for (const auto& ip : a->as_array()) {
            if (ip.is_string() && !ip.as_string().empty()) {
                out.excluded_ips.emplace_back(ip.as_string());
            }
        }
    }
    if (const auto* a = o.if_contains("rules"); a != nullptr && a->is_array()) {
        for (const auto& r : a->as_array()) {
            if (!r.is_object()) {
                continue;
            }
            const auto& ro = r.as_object();
            RateLimitRule rule;
            if (const auto* l = ro.if_contains("label"); l != nullptr && l->is_string()) {
                rule.label = std::string(l->as_string());
            }
            if (const auto* au = ro.if_contains("audience"); au != nullptr && au->is_string()) {
                rule.audience = std::string(au->as_string());
            }
            rule.duration_seconds = std::max<std::int64_t>(1, Int(ro, "duration", 1));
            rule.max_requests = std::max<std::int64_t>(1, Int(ro, "maxRequests", 1));
            out.rules.push_back(std::move(rule));
        }
    }
    return out;
}

// PocketBase's rateLimitRuleLabelRegex: `METHOD /path`, `/path`, `collection:tag`, `*:tag` or a
// plain word (\w: ASCII letters, digits, '_'; paths also '/' and '-').
bool ValidRateLimitLabel(std::string_view label) {
    const auto word = [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_';
    };
    const auto path = [&](std::string_view p) {
        return !p.empty() && p.front() == '/' &&
               std::all_of(p.begin(), p.end(), [&](char c) { return word(c) || c == '/' || c == '-'; });
    };
    const auto words = [&](std::string_view w) {
        return !w.empty() && std::all_of(w.begin(), w.end(), word);
    };
    if (path(label)) {
        return true;
    }
    if (const auto space = label.find(' '); space != std::string_view::npos) {
        return words(label.substr(0, space)) && path(label.substr(space + 1));
    }
    if (const auto colon = label.find(':'); colon != std::string_view::npos) {
        const auto left = label.substr(0, colon);
        return (left == "*" || words(left)) && words(label.substr(colon + 1));
    }
    return words(label);
}

// A rule's duration or maxRequests: PocketBase's `validation.Required, validation.Min(1)` on an int.
// PocketBase refuses a fraction or a non-number while decoding the body (a 400 without field
// data); basalt names the field, with the code of PocketBase's integer-only number fields.
std::optional<FieldError> CheckRuleCount(const json::value* n) {
    // Past 2^53 a double no longer holds every integer (and the cast to int64 could overflow).
    constexpr double kMaxExact = 9007199254740991.0;
    if (n == nullptr || n->is_null() || (n->is_number() && n->to_number<double>() == 0)) {
        return FieldError{"", "validation_required", "Cannot be blank."};
    }
    if (!n->is_number()) {
        return FieldError{"", "validation_invalid_value", "Invalid value type."};
    }
    const double d = n->to_number<double>();
    if (d < 1) {
        return FieldError{"", "validation_min_greater_equal_than_required", "Must be no less than 1."};
    }
    if (d != std::floor(d)) {
        return FieldError{"", "validation_only_int_constraint", "Decimal numbers are not allowed"};
    }
    if (d > kMaxExact) {
        return FieldError{"", "validation_max_less_equal_than_required", "Must be no greater than 9007199254740991."};
    }
    return std::nullopt;
}

// PocketBase's RateLimitsConfig.Validate: valid rules (required when enabled), unique labels per
// audience, excluded entries that are IPs or CIDR networks.
// superuserIPs and trustedProxy: IPs or CIDR networks, header names that are non-empty strings.
void ValidateNetwork(const json::object& next, std::vector<FieldError>& errors) {
    if (const auto* list = next.if_contains("superuserIPs"); list != nullptr && list->is_array()) {
        for (std::size_t i = 0; i < list->as_array().size(); ++i) {
            const auto& e = list->as_array()[i];
            if (!e.is_string() || !ParseIpNetwork(e.as_string())) {
                errors.push_back(
                    {"superuserIPs." + std::to_string(i),
                     "validation_invalid_value",
                     "Must be an IP address or a CIDR network."}
                );
            }
        }
    }
    if (const auto* proxy = next.if_contains("trustedProxy"); proxy != nullptr && proxy->is_object()) {
        // PocketBase decodes headers into []string (a non-string refuses the body); an empty name
        // would match no header, so basalt refuses it too.
        if (const auto* list = proxy->as_object().if_contains("headers"); list != nullptr && list->is_array()) {
            for (std::size_t i = 0; i < list->as_array().size(); ++i) {
                const auto& e = list->as_array()[i];
                const std::string at = "trustedProxy.headers." + std::to_string(i);
                if (!e.is_string()) {
                    errors.push_back({at, "validation_invalid_value", "Invalid value type."});
                } else if (TrimSpace(e.as_string()).empty()) {
                    errors.push_back({at, "validation_required", "Cannot be blank."});
                }
            }
        }
        if (const auto* list = proxy->as_object().if_contains("proxies"); list != nullptr && list->is_array()) {
            for (std::size_t i = 0; i < list->as_array().size(); ++i) {
                const auto& e = list->as_array()[i];
                if (!e.is_string() || !ParseIpNetwork(e.as_string())) {
                    errors.push_back(
                        {"trustedProxy.proxies." + std::to_string(i),
                         "validation_invalid_value",
                         "Must be an IP address or a CIDR network."}
                    );
                }
            }
        }
    }
}

// batch limits and the metrics scraper token.
void ValidateLimits(const json::object& next, std::vector<FieldError>& errors) {
    if (const auto* batch = next.if_contains("batch"); batch != nullptr && batch->is_object()) {
        if (Int(batch->as_object(), "maxRequests", 50) < 1) {
            errors.push_back({"batch.maxRequests", "validation_min_number_constraint", "Must be at least 1."});
        }
        if (Int(batch->as_object(), "timeout", 3) < 1) {
            errors.push_back({"batch.timeout", "validation_min_number_constraint", "Must be at least 1."});
        }
    }
    if (const auto* m = next.if_contains("metrics"); m != nullptr && m->is_object()) {
        const auto* token = m->as_object().if_contains("token");
        if (token != nullptr && token->is_string() && !token->as_string().empty() && token->as_string().size() < 16) {
            errors.push_back(
                {"metrics.token", "validation_length_out_of_range", "Must be empty or at least 16 characters."}
            );
        }
    }
}

void ValidateRateLimits(const json::object& doc, std::vector<FieldError>& errors) {
    const auto* v = doc.if_contains("rateLimits");
    if (v == nullptr || !v->is_object()) {
        return;
    }
    const RateLimitSettings s = RateLimitsOf(doc);
    if (s.enabled && s.rules.empty()) {
        errors.push_back({"rateLimits.rules", "validation_required", "Cannot be blank."});
    }
    std::vector<std::string> seen;
    for (std::size_t i = 0; i < s.rules.size(); ++i) {
        const RateLimitRule& r = s.rules[i];
        const std::string at = "rateLimits.rules." + std::to_string(i);
        const auto& raw = v->as_object().at("rules").as_array()[i];
        if (!ValidRateLimitLabel(r.label)) {
            errors.push_back({at + ".label", "validation_invalid_format", "Invalid value format."});
        }
        if (!r.audience.empty() && r.audience != "@guest" && r.audience != "@auth") {
            errors.push_back({at + ".audience", "validation_in_invalid", "Must be a valid value."});
        }
        for (const char* key : {"duration", "maxRequests"}) {
            const auto* n = raw.is_object() ? raw.as_object().if_contains(key) : nullptr;
            if (auto e = CheckRuleCount(n)) {
                e->field = at + "." + key;
                errors.push_back(std::move(*e));
            }
        }
        // PocketBase's check: label@@audience must not be a prefix of another rule's (or have one),
        // so "users:auth" for everyone conflicts with "users:auth" for @guest too.
        const std::string key = r.label + "@@" + r.audience;
        const bool conflicts = std::any_of(seen.begin(), seen.end(), [&](const std::string& other) {
            return key.starts_with(other) || other.starts_with(key);
        });
        if (conflicts) {
            errors.push_back(
                {at + ".label",
                 "validation_conflicting_rate_limit_rule",
                 "Rate limit rule configuration with label " + r.label +
                     " already exists or conflicts with another rule."}
            );
        } else {
            seen.push_back(key);
        }
    }
    for (std::size_t i = 0; i < s.excluded_ips.size(); ++i) {
        if (!ParseIpNetwork(s.excluded_ips[i])) {
            errors.push_back(
                {"rateLimits.excludedIPs." + std::to_string(i),
                 "validation_invalid_ip",
                 "Must be a valid IP address or subnet."}
            );
        }
    }
}

// PocketBase's BackupsConfig.Validate: a cron expression the scheduler reads; cronMaxKeep required
// (at least 1) with a cron.
void ValidateBackups(const json::object& doc, std::vector<FieldError>& errors) {
    const auto* b = doc.if_contains("backups");
    if (b == nullptr || !b->is_object()) {
        return;
    }
    const auto* cron = b->as_object().if_contains("cron");
    const bool scheduled = cron != nullptr && cron->is_string() && !cron->as_string().empty();
    if (scheduled) {
        if (auto parsed = jobs::Schedule::Parse(std::string_view(cron->as_string())); !parsed) {
            errors.push_back({"backups.cron", "validation_invalid_cron", parsed.error().message});
        }
    }
    const std::int64_t keep = Int(b->as_object(), "cronMaxKeep", 0);
    if (scheduled && keep == 0) {  // a negative number is refused by Merge, as every setting's
        errors.push_back({"backups.cronMaxKeep", "validation_required", "Cannot be blank."});
    }
}

// PocketBase's S3Config.Validate: when enabled, every field but forcePathStyle is required.
void ValidateS3(const json::object& doc, std::string_view where, std::vector<FieldError>& errors) {
    const json::object* o = nullptr;
    std::string prefix(where);
    if (where == "s3") {
        if (const auto* v = doc.if_contains("s3"); v != nullptr && v->is_object()) {
            o = &v->as_object();
        }
    } else if (const auto* b = doc.if_contains("backups"); b != nullptr && b->is_object()) {
        if (const auto* v = b->as_object().if_contains("s3"); v != nullptr && v->is_object()) {
            o = &v->as_object();
        }
    }
    if (o == nullptr) {
        return;
    }
    const auto* enabled = o->if_contains("enabled");
    if (enabled == nullptr || !enabled->is_bool() || !enabled->as_bool()) {
        return;
    }
    for (const char* key : {"endpoint", "bucket", "region", "accessKey", "secret"}) {
        const auto* v = o->if_contains(key);
        if (v == nullptr || !v->is_string() ||
            TrimSpace(std::string_view(v->as_string().data(), v->as_string().size())).empty()) {
            errors.push_back({prefix + "." + key, "validation_required", "Cannot be blank."});
        }
    }
}

S3Settings ReadS3(const json::object* o) {
    S3Settings s;
    if (o == nullptr) {
        return s;
    }
    auto str = [o](std::string_view k) {
        const auto* v = o->if_contains(k);
        return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
    };
    auto flag = [o](std::string_view k) {
        const auto* v = o->if_contains(k);
        return v != nullptr && v->is_bool() && v->as_bool();
    };
    s.enabled = flag("enabled");
    s.bucket = str("bucket");
    s.region = str("region");
    s.endpoint = str("endpoint");
    s.access_key = str("accessKey");
    s.secret = str("secret");
    s.force_path_style = flag("forcePathStyle");
    return s;
}

}  // namespace

json::object SettingsStore::Defaults() {
    json::object s3{
        {"enabled", false},
        {"bucket", ""},
        {"region", ""},
        {"endpoint", ""},
        {"accessKey", ""},
        {"secret", ""},
        {"forcePathStyle", false}};
    return {
        {"meta",
         {{"appName", "basalt"},
          {"appURL", "http://127.0.0.1:8090"},
          {"senderName", "Support"},
          {"senderAddress", "support@example.com"},
          {"hideControls", false},
          {"accentColor", "#1055c9"}}},
        {"logs", {{"maxDays", 5}, {"minLevel", 0}, {"logIP", true}, {"logAuthId", false}}},
        {"smtp",
         {{"enabled", false},
          {"port", 587},
          {"host", "smtp.example.com"},
          {"username", ""},
          {"password", ""},
          {"authMethod", ""},
          {"tls", false},
          {"localName", ""}}},
        {"backups", {{"cron", ""}, {"cronMaxKeep", 3}, {"s3", s3}}},
        {"s3", s3},
        {"batch", {{"enabled", false}, {"maxRequests", 50}, {"timeout", 3}, {"maxBodySize", 0}}},
        // Superusers may sign requests only from these IPs/CIDRs when any are listed (PocketBase's).
        {"superuserIPs", json::array{}},
        {"rateLimits",
         {{"enabled", false},
          {"excludedIPs", json::array{}},
          {"rules",
           json::array{
               json::object{{"label", "*:auth"}, {"audience", ""}, {"duration", 3}, {"maxRequests", 2}},
               json::object{{"label", "*:create"}, {"audience", ""}, {"duration", 5}, {"maxRequests", 20}},
               json::object{{"label", "/api/batch"}, {"audience", ""}, {"duration", 1}, {"maxRequests", 3}},
               json::object{{"label", "/api/"}, {"audience", ""}, {"duration", 10}, {"maxRequests", 300}},
           }}}},
        // basalt: `proxies` are the peers trusted to set those headers (IPs or CIDRs; none listed:
        // loopback and private-network peers).
        {"trustedProxy", {{"headers", json::array{}}, {"useLeftmostIP", false}, {"proxies", json::array{}}}},
        // basalt: webhook targets on private, loopback and link-local addresses are refused unless allowed.
        {"webhooks", {{"allowPrivateTargets", false}, {"timeout", 10}}},
        // basalt: a bearer token that may read GET /api/metrics (a Prometheus scraper); empty: only
        // superusers may.
        {"metrics", {{"token", ""}}},
    };
}

Result<void> SettingsStore::Load() {
    BASALT_ASSIGN_OR_RETURN(auto rs, db_.Read("SELECT value FROM _params WHERE key = 'settings'"));
    json::object doc = Defaults();
    if (!rs.rows.empty()) {
        boost::system::error_code ec;
        auto stored = json::parse(db::AsString(rs.rows[0][0]), ec);
        if (ec || !stored.is_object()) {
            return MakeError(ErrorCode::kInternal, "the stored settings are corrupt");
        }
        std::vector<std::string> path;
        std::vector<FieldError> ignored;
        Merge(doc, Defaults(), stored.as_object(), path, ignored);
    }
    std::lock_guard lock(mu_);
    SetDocument(std::move(doc));
    return Ok();
}

void SettingsStore::SetDocument(json::object doc) {
    doc_ = std::move(doc);
    auto proxy = std::make_shared<ProxySettings>();
    if (const auto* v = doc_.if_contains("trustedProxy"); v != nullptr && v->is_object()) {
        const auto& o = v->as_object();
        auto strings = [&](std::string_view key, std::vector<std::string>& out) {
            if (const auto* a = o.if_contains(key); a != nullptr && a->is_array()) {
                for (const auto& e : a->as_array()) {
                    if (e.is_string() && !e.as_string().empty()) {
                        out.emplace_back(e.as_string());
                    }
                }
            }
        };
        strings("headers", proxy->headers);
        strings("proxies", proxy->proxies);
        if (const auto* b = o.if_contains("useLeftmostIP"); b != nullptr && b->is_bool()) {
            proxy->use_leftmost_ip = b->as_bool();
        }
    }
    if (const auto* a = doc_.if_contains("superuserIPs"); a != nullptr && a->is_array()) {
        for (const auto& e : a->as_array()) {
            if (e.is_string() && !e.as_string().empty()) {
                proxy->superuser_ips.emplace_back(e.as_string());
            }
        }
    }
    proxy_ = std::move(proxy);
    rate_limits_ = std::make_shared<const RateLimitSettings>(RateLimitsOf(doc_));
}

std::shared_ptr<const RateLimitSettings> SettingsStore::RateLimits() const {
    std::lock_guard lock(mu_);
    return rate_limits_;
}

std::shared_ptr<const ProxySettings> SettingsStore::TrustedProxy() const {
    std::lock_guard lock(mu_);
    return proxy_;
}

json::object SettingsStore::Redacted() const {
    json::object copy;
    {
        std::lock_guard lock(mu_);
        copy = doc_;
    }
    Redact(copy);
    return copy;
}

Result<json::object> SettingsStore::Patch(const json::object& patch) {
    json::object next;
    {
        std::lock_guard lock(mu_);
        next = doc_;
    }
    std::vector<std::string> path;
    std::vector<FieldError> errors;
    Merge(next, Defaults(), patch, path, errors);
    ValidateNetwork(next, errors);
    ValidateLimits(next, errors);
    ValidateS3(next, "s3", errors);
    ValidateS3(next, "backups.s3", errors);
    ValidateBackups(next, errors);
    ValidateRateLimits(next, errors);
    if (!errors.empty()) {
        return ValidationError("An error occurred while validating the submitted data.", std::move(errors));
    }
    const std::string text = json::serialize(next);
    auto written = db_.Write([&text](db::Executor& ex) -> Result<void> {
        BASALT_TRY(ex.Exec(
            "INSERT INTO _params (key, value) VALUES ('settings', ?) ON CONFLICT (key) DO UPDATE SET value = "
            "excluded.value",
            {text}
        ));
        return Ok();
    });
    if (!written) {
        return written.error();
    }
    {
        std::lock_guard lock(mu_);
        SetDocument(next);
    }
    if (on_change_) {
        on_change_();
    }
    Redact(next);
    return next;
}

std::string SettingsStore::MetricsToken() const {
    std::lock_guard lock(mu_);
    const auto* m = doc_.if_contains("metrics");
    const auto* token = m != nullptr && m->is_object() ? m->as_object().if_contains("token") : nullptr;
    return token != nullptr && token->is_string() ? std::string(token->as_string()) : std::string();
}

LogsSettings SettingsStore::Logs() const {
    std::lock_guard lock(mu_);
    LogsSettings l;
    if (const auto* v = doc_.if_contains("logs"); v != nullptr && v->is_object()) {
        const auto& o = v->as_object();
        l.max_days = Int(o, "maxDays", l.max_days);
        l.min_level = Int(o, "minLevel", l.min_level);
        if (const auto* b = o.if_contains("logIP"); b != nullptr && b->is_bool()) {
            l.log_ip = b->as_bool();
        }
        if (const auto* b = o.if_contains("logAuthId"); b != nullptr && b->is_bool()) {
            l.log_auth_id = b->as_bool();
        }
    }
    return l;
}

BatchSettings SettingsStore::Batch() const {
    std::lock_guard lock(mu_);
    BatchSettings b;
    if (const auto* v = doc_.if_contains("batch"); v != nullptr && v->is_object()) {
        const auto& o = v->as_object();
        if (const auto* e = o.if_contains("enabled"); e != nullptr && e->is_bool()) {
            b.enabled = e->as_bool();
        }
        b.max_requests = Int(o, "maxRequests", 50);
        b.timeout_seconds = Int(o, "timeout", 3);
        b.max_body_size = Int(o, "maxBodySize", 0);
    }
    return b;
}

WebhookSettings SettingsStore::Webhooks() const {
    std::lock_guard lock(mu_);
    WebhookSettings w;
    if (const auto* v = doc_.if_contains("webhooks"); v != nullptr && v->is_object()) {
        const auto& o = v->as_object();
        if (const auto* e = o.if_contains("allowPrivateTargets"); e != nullptr && e->is_bool()) {
            w.allow_private_targets = e->as_bool();
        }
        w.timeout_seconds = std::clamp<std::int64_t>(Int(o, "timeout", 10), 1, 60);
    }
    return w;
}

storage::S3Config S3Settings::Config() const {
    storage::S3Config c;
    c.bucket = bucket;
    c.region = region;
    c.endpoint = endpoint;
    c.access_key = access_key;
    c.secret = secret;
    c.force_path_style = force_path_style;
    return c;
}

S3Settings SettingsStore::FileStorage() const {
    std::lock_guard lock(mu_);
    const auto* v = doc_.if_contains("s3");
    return ReadS3(v != nullptr && v->is_object() ? &v->as_object() : nullptr);
}

S3Settings SettingsStore::BackupStorage() const {
    std::lock_guard lock(mu_);
    const json::object* o = nullptr;
    if (const auto* b = doc_.if_contains("backups"); b != nullptr && b->is_object()) {
        if (const auto* v = b->as_object().if_contains("s3"); v != nullptr && v->is_object()) {
            o = &v->as_object();
        }
    }
    return ReadS3(o);
}

BackupSchedule SettingsStore::Backups() const {
    std::lock_guard lock(mu_);
    BackupSchedule out;
    if (const auto* b = doc_.if_contains("backups"); b != nullptr && b->is_object()) {
        if (const auto* c = b->as_object().if_contains("cron"); c != nullptr && c->is_string()) {
            out.cron = std::string(c->as_string());
        }
        out.max_keep = Int(b->as_object(), "cronMaxKeep", out.max_keep);
    }
    return out;
}

MailSettings SettingsStore::Mail() const {
    std::lock_guard lock(mu_);
    MailSettings m;
    auto str = [](const json::object& o, std::string_view k) {
        const auto* v = o.if_contains(k);
        return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
    };
    if (const auto* v = doc_.if_contains("smtp"); v != nullptr && v->is_object()) {
        const auto& o = v->as_object();
        if (const auto* e = o.if_contains("enabled"); e != nullptr && e->is_bool()) {
            m.enabled = e->as_bool();
        }
        if (const auto* t = o.if_contains("tls"); t != nullptr && t->is_bool()) {
            m.tls = t->as_bool();
        }
        m.host = str(o, "host");
        m.port = Int(o, "port", 587);
        m.username = str(o, "username");
        m.password = str(o, "password");
        m.local_name = str(o, "localName");
    }
    if (const auto* v = doc_.if_contains("meta"); v != nullptr && v->is_object()) {
        const auto& o = v->as_object();
        m.app_name = str(o, "appName");
        m.app_url = str(o, "appURL");
        m.sender_name = str(o, "senderName");
        m.sender_address = str(o, "senderAddress");
    }
    return m;
}

}  // namespace basalt::settings
