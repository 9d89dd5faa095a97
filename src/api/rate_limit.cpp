// SPDX-License-Identifier: MIT
#include "api/rate_limit.hpp"

#include <algorithm>
#include <functional>

#include "api/routes.hpp"
#include "core/ip.hpp"

namespace basalt::api {

namespace {

using settings::RateLimitRule;

constexpr std::int64_t kNanos = 1'000'000'000;

bool AudienceAllowed(const RateLimitRule& rule, bool signed_in) {
    return rule.audience.empty() || rule.audience == (signed_in ? "@auth" : "@guest");
}

// The tags PocketBase's record, auth and file routes check besides the path, and the collection
// (name or id, as the path has it) they are for; nothing for other routes.
struct RouteTags {
    std::string_view collection;
    std::array<std::string_view, 2> tags{};
    std::size_t count = 0;
};

// The first segments of a path (at most 6; `n` is how many there are, counting past 6).
struct Segments {
    std::array<std::string_view, 6> at{};
    std::size_t n = 0;

    explicit Segments(std::string_view path) {
        while (!path.empty()) {
            const auto slash = path.find('/');
            const auto seg = path.substr(0, slash);
            if (!seg.empty()) {
                if (n < at.size()) {
                    at[n] = seg;
                }
                ++n;
            }
            path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
        }
    }
};

// The auth routes' actions and their tags (PocketBase's apis/record_auth.go).
std::optional<RouteTags> AuthActionTags(std::string_view collection, std::string_view action) {
    struct Action {
        std::string_view name;
        std::string_view tag;
        bool auth;  // also tagged "auth"
    };
    static constexpr std::array<Action, 12> kActions{{
        {"auth-methods", "listAuthMethods", false},
        {"auth-refresh", "authRefresh", false},
        {"auth-with-password", "authWithPassword", true},
        {"auth-with-oauth2", "authWithOAuth2", true},
        {"request-otp", "requestOTP", false},
        {"auth-with-otp", "authWithOTP", true},
        {"request-password-reset", "requestPasswordReset", false},
        {"confirm-password-reset", "confirmPasswordReset", false},
        {"request-verification", "requestVerification", false},
        {"confirm-verification", "confirmVerification", false},
        {"request-email-change", "requestEmailChange", false},
        {"confirm-email-change", "confirmEmailChange", false},
    }};
    for (const Action& a : kActions) {
        if (a.name == action) {
            return a.auth ? RouteTags{collection, {a.tag, "auth"}, 2} : RouteTags{collection, {a.tag}, 1};
        }
    }
    return std::nullopt;
}

std::optional<RouteTags> TagsOf(http::Method method, std::string_view path) {
    const Segments s(path);
    if (s.n < 3 || s.at[0] != "api") {
        return std::nullopt;
    }
    if (s.at[1] == "files" && s.n == 5 && method == http::Method::kGet) {
        return RouteTags{s.at[2], {"file"}, 1};
    }
    if (s.at[1] != "collections" || s.n < 4) {
        return std::nullopt;
    }
    const auto one = [&](std::string_view tag) {
        return std::optional<RouteTags>(RouteTags{s.at[2], {tag}, 1});
    };
    if (s.at[3] == "records" && s.n == 4) {
        if (method == http::Method::kGet) {
            return one("list");
        }
        return method == http::Method::kPost ? one("create") : std::nullopt;
    }
    if (s.at[3] == "records" && s.n == 5) {
        switch (method) {
            case http::Method::kGet:
                return one("view");
            case http::Method::kPatch:
                return one("update");
            case http::Method::kDelete:
                return one("delete");
            default:
                return std::nullopt;
        }
    }
    return s.n == 4 ? AuthActionTags(s.at[2], s.at[3]) : std::nullopt;
}

// Who a limit counts against: the auth record (an API key by its id), or the client's IP.
std::string ClientKey(const http::Request& req) {
    if (const auth::Principal* p = RequestAuth(req); p != nullptr) {
        if (!p->api_key_id.empty()) {
            return "key:" + p->api_key_id;
        }
        return "auth:" + p->record.collection_id + "/" + p->record.id;
    }
    return "ip:" + req.remote_ip;
}

bool Excluded(const settings::RateLimitSettings& s, std::string_view ip) {
    if (s.excluded_ips.empty()) {
        return false;
    }
    const auto addr = ParseIp(ip);
    return addr && std::any_of(s.excluded_ips.begin(), s.excluded_ips.end(), [&](const std::string& e) {
               const auto net = ParseIpNetwork(e);
               return net && Contains(*net, *addr);
           });
}

void SetHeaders(http::Request& req, const RateLimitRule& rule, const RateLimiter::Decision& d) {
    req.response_headers.clear();
    std::string quoted = "\"" + rule.label + rule.audience + "\"";
    req.response_headers.emplace_back(
        "RateLimit-Policy",
        quoted + ";q=" + std::to_string(rule.max_requests) + ";w=" + std::to_string(rule.duration_seconds)
    );
    req.response_headers.emplace_back(
        "RateLimit", quoted + ";r=" + std::to_string(d.remaining) + ";t=" + std::to_string(d.reset_seconds)
    );
    if (!d.allowed) {
        req.response_headers.emplace_back("Retry-After", std::to_string(d.retry_after_seconds));
    }
}

}  // namespace

bool RateLimitLabel::Equals(std::string_view text) const {
    for (const std::string_view part : parts) {
        if (!text.starts_with(part)) {
            return false;
        }
        text.remove_prefix(part.size());
    }
    return text.empty();
}

bool RateLimitLabel::SlashedStartsWith(std::string_view prefix) const {
    for (const std::string_view part : parts) {
        const std::size_t n = std::min(part.size(), prefix.size());
        if (part.substr(0, n) != prefix.substr(0, n)) {
            return false;
        }
        prefix.remove_prefix(n);
        if (prefix.empty()) {
            return true;
        }
    }
    return prefix == "/";
}

const RateLimitRule* FindRateLimitRule(
    const std::vector<RateLimitRule>& rules, std::span<const RateLimitLabel> labels, bool signed_in
) {
    for (const RateLimitLabel& label : labels) {
        for (const RateLimitRule& r : rules) {
            if (label.Equals(r.label) && AudienceAllowed(r, signed_in)) {
                return &r;
            }
        }
        // Path prefixes (labels ending in "/"), in the rules' order, tried for each label in turn.
        for (const RateLimitRule& r : rules) {
            if (r.label.ends_with('/') && label.SlashedStartsWith(r.label) && AudienceAllowed(r, signed_in)) {
                return &r;
            }
        }
    }
    return nullptr;
}

RateLimiter::RateLimiter(std::size_t max_keys) : max_per_shard_(std::max<std::size_t>(1, max_keys / kShards)) {}

RateLimiter::Decision RateLimiter::Take(
    const std::string& key, const RateLimitRule& rule, std::chrono::steady_clock::time_point now
) {
    const std::int64_t now_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
    const std::int64_t max = std::max<std::int64_t>(1, rule.max_requests);
    const std::int64_t interval =
        std::max<std::int64_t>(1, rule.duration_seconds * kNanos / max);  // one request's share
    const std::int64_t tolerance = interval * (max - 1);                  // how far ahead a burst may run
    Shard& shard = shards_[std::hash<std::string>{}(key) % kShards];
    std::lock_guard lock(shard.mu);
    auto it = shard.tat.find(key);
    if (it == shard.tat.end()) {
        if (shard.tat.size() >= max_per_shard_) {
            std::erase_if(shard.tat, [now_ns](const auto& kv) { return kv.second <= now_ns; });
            if (shard.tat.size() >= max_per_shard_) {
                shard.tat.erase(shard.tat.begin());
            }
        }
        it = shard.tat.emplace(key, now_ns).first;
    }
    const std::int64_t tat = std::max(it->second, now_ns);
    Decision d;
    const auto up_seconds = [](std::int64_t ns) {
        return (ns + kNanos - 1) / kNanos;
    };
    if (tat - now_ns > tolerance) {
        d.allowed = false;
        d.remaining = 0;
        d.reset_seconds = up_seconds(tat - now_ns);
        d.retry_after_seconds = std::max<std::int64_t>(1, up_seconds(tat - tolerance - now_ns));
        return d;
    }
    it->second = tat + interval;
    d.allowed = true;
    const std::int64_t slack = now_ns + tolerance - it->second;  // < 0: the next request must wait
    d.remaining = slack < 0 ? 0 : slack / interval + 1;
    d.reset_seconds = up_seconds(it->second - now_ns);
    return d;
}

void RateLimiter::Clear() {
    for (Shard& s : shards_) {
        std::lock_guard lock(s.mu);
        s.tat.clear();
    }
}

std::size_t RateLimiter::Size() const {
    std::size_t n = 0;
    for (const Shard& s : shards_) {
        std::lock_guard lock(s.mu);
        n += s.tat.size();
    }
    return n;
}

std::optional<http::Response> RateLimitMiddleware::Before(http::Request& req) {
    const auto settings = deps_.settings.RateLimits();
    if (!settings->enabled || settings->rules.empty()) {
        return std::nullopt;
    }
    if (rules_seen_raw_.load(std::memory_order_acquire) != settings.get()) {
        std::lock_guard lock(rules_mu_);
        if (rules_seen_ != settings) {
            limiter_.Clear();  // as PocketBase: new rules start from nothing
            rules_seen_ = settings;
            rules_seen_raw_.store(settings.get(), std::memory_order_release);
        }
    }
    const auth::Principal* who = RequestAuth(req);
    if ((who != nullptr && who->superuser) || Excluded(*settings, req.remote_ip)) {
        return std::nullopt;
    }
    const bool signed_in = who != nullptr;
    const std::string_view path = req.path;
    const std::array<RateLimitLabel, 2> labels{{{{req.method_name, " ", path}}, {{path}}}};

    // One bucket per rule (or per collection and route); a refused request gets PocketBase's 429
    // with the limit's headers.
    const auto take = [&](const RateLimitRule& rule, std::string bucket) -> std::optional<http::Response> {
        bucket += rule.audience;
        bucket += '\n';
        bucket += ClientKey(req);
        const auto d = limiter_.Take(bucket, rule, std::chrono::steady_clock::now());
        SetHeaders(req, rule, d);
        if (d.allowed) {
            return std::nullopt;
        }
        rejected_.Add();
        auto res = http::Response::FromApiError(ApiError(429, "Too Many Requests."));
        After(req, res);
        return res;
    };
    // The records, auth and file routes of a collection are checked by their tags ("users:create",
    // then "*:create"), then the path's labels, in one bucket per collection and route — and only
    // so: in PocketBase their route-level limiter replaces the global one (same handler id), so a
    // record request never also counts against a path rule's bucket. Every other request: the
    // path's rule.
    const auto route = TagsOf(req.method, path);
    const auto snap = route ? deps_.collections.Current() : nullptr;
    const schema::Collection* c = route ? snap->Find(route->collection) : nullptr;
    if (c == nullptr) {
        const RateLimitRule* rule = FindRateLimitRule(settings->rules, labels, signed_in);
        return rule == nullptr ? std::nullopt : take(*rule, rule->label);
    }
    std::array<RateLimitLabel, 6> tagged{};
    std::size_t n = 0;
    for (std::size_t i = 0; i < route->count; ++i) {
        tagged[n++] = RateLimitLabel{{c->name, ":", route->tags[i]}};
    }
    for (std::size_t i = 0; i < route->count; ++i) {
        tagged[n++] = RateLimitLabel{{"*:", route->tags[i]}};
    }
    for (const RateLimitLabel& l : labels) {
        tagged[n++] = l;
    }
    const RateLimitRule* rule = FindRateLimitRule(settings->rules, std::span(tagged.data(), n), signed_in);
    if (rule == nullptr) {
        return std::nullopt;
    }
    std::string bucket = c->id;
    for (std::size_t i = 0; i < route->count; ++i) {
        bucket += ':';
        bucket += route->tags[i];
    }
    return take(*rule, std::move(bucket));
}

void RateLimitMiddleware::After(const http::Request& req, http::Response& res) {
    for (const auto& [name, value] : req.response_headers) {
        res.SetHeader(name, value);
    }
}

void RateLimitMiddleware::Collect(obs::Exposition& out) const {
    out.CounterValue(
        "basalt_rate_limit_rejections_total",
        "Requests refused with 429 by settings.rateLimits.",
        static_cast<double>(rejected_.Value())
    );
    out.GaugeValue(
        "basalt_rate_limit_keys",
        "Client buckets the rate limiter tracks (bounded; idle ones are evicted).",
        static_cast<double>(limiter_.Size())
    );
}

}  // namespace basalt::api
