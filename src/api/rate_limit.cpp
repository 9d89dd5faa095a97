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
    std::vector<std::string_view> tags;
};

std::vector<std::string_view> Segments(std::string_view path) {
    std::vector<std::string_view> out;
    while (!path.empty()) {
        const auto slash = path.find('/');
        const auto seg = path.substr(0, slash);
        if (!seg.empty()) {
            out.push_back(seg);
        }
        path = slash == std::string_view::npos ? std::string_view{} : path.substr(slash + 1);
    }
    return out;
}

// The auth routes' actions and their tags (PocketBase's apis/record_auth.go).
std::vector<std::string_view> AuthActionTags(std::string_view action) {
    static const std::vector<std::pair<std::string_view, std::vector<std::string_view>>> kActions = {
        {"auth-methods", {"listAuthMethods"}},
        {"auth-refresh", {"authRefresh"}},
        {"auth-with-password", {"authWithPassword", "auth"}},
        {"auth-with-oauth2", {"authWithOAuth2", "auth"}},
        {"request-otp", {"requestOTP"}},
        {"auth-with-otp", {"authWithOTP", "auth"}},
        {"request-password-reset", {"requestPasswordReset"}},
        {"confirm-password-reset", {"confirmPasswordReset"}},
        {"request-verification", {"requestVerification"}},
        {"confirm-verification", {"confirmVerification"}},
        {"request-email-change", {"requestEmailChange"}},
        {"confirm-email-change", {"confirmEmailChange"}},
    };
    for (const auto& [name, tags] : kActions) {
        if (name == action) {
            return tags;
        }
    }
    return {};
}

std::optional<RouteTags> TagsOf(http::Method method, std::string_view path) {
    const auto s = Segments(path);
    if (s.size() < 3 || s[0] != "api") {
        return std::nullopt;
    }
    if (s[1] == "files" && s.size() == 5 && method == http::Method::kGet) {
        return RouteTags{s[2], {"file"}};
    }
    if (s[1] != "collections" || s.size() < 4) {
        return std::nullopt;
    }
    if (s[3] == "records" && s.size() == 4) {
        if (method == http::Method::kGet) {
            return RouteTags{s[2], {"list"}};
        }
        if (method == http::Method::kPost) {
            return RouteTags{s[2], {"create"}};
        }
        return std::nullopt;
    }
    if (s[3] == "records" && s.size() == 5) {
        switch (method) {
            case http::Method::kGet:
                return RouteTags{s[2], {"view"}};
            case http::Method::kPatch:
                return RouteTags{s[2], {"update"}};
            case http::Method::kDelete:
                return RouteTags{s[2], {"delete"}};
            default:
                return std::nullopt;
        }
    }
    if (s.size() == 4) {
        auto tags = AuthActionTags(s[3]);
        if (!tags.empty()) {
            return RouteTags{s[2], std::move(tags)};
        }
    }
    return std::nullopt;
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

const RateLimitRule* FindRateLimitRule(
    const std::vector<RateLimitRule>& rules, const std::vector<std::string>& labels, bool signed_in
) {
    std::vector<const RateLimitRule*> prefixes;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        for (const RateLimitRule& r : rules) {
            if (labels[i] == r.label && AudienceAllowed(r, signed_in)) {
                return &r;
            }
            if (i == 0 && r.label.ends_with('/')) {
                prefixes.push_back(&r);
            }
        }
        const std::string with_slash = labels[i] + "/";
        for (const RateLimitRule* r : prefixes) {
            if (with_slash.starts_with(r->label) && AudienceAllowed(*r, signed_in)) {
                return r;
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
    {
        std::lock_guard lock(rules_mu_);
        if (rules_seen_ != settings) {
            limiter_.Clear();  // as PocketBase: new rules start from nothing
            rules_seen_ = settings;
        }
    }
    const auth::Principal* who = RequestAuth(req);
    if ((who != nullptr && who->superuser) || Excluded(*settings, req.remote_ip)) {
        return std::nullopt;
    }
    const bool signed_in = who != nullptr;
    const auto now = std::chrono::steady_clock::now();
    const std::string client = ClientKey(req);
    std::vector<std::string> labels{std::string(req.method_name) + " " + req.path, req.path};

    // A refused request: PocketBase's 429, with the limit's headers.
    const auto take = [&](const RateLimitRule& rule, const std::string& bucket) -> std::optional<http::Response> {
        const auto d = limiter_.Take(bucket + rule.audience + "\n" + client, rule, now);
        SetHeaders(req, rule, d);
        if (d.allowed) {
            return std::nullopt;
        }
        rejected_.Add();
        auto res = http::Response::FromApiError(ApiError(429, "Too Many Requests."));
        After(req, res);
        return res;
    };
    // Every request: the path's rule, one bucket per rule.
    if (const RateLimitRule* rule = FindRateLimitRule(settings->rules, labels, signed_in)) {
        if (auto refused = take(*rule, rule->label)) {
            return refused;
        }
    }
    // The records, auth and file routes: their tags first, one bucket per collection and route.
    const auto route = TagsOf(req.method, req.path);
    if (route) {
        const auto snap = deps_.collections.Current();
        const schema::Collection* c = snap->Find(route->collection);
        if (c != nullptr) {
            std::vector<std::string> tagged;
            std::string bucket = c->id;
            for (const auto tag : route->tags) {
                tagged.push_back(c->name + ":" + std::string(tag));
                bucket += ":" + std::string(tag);
            }
            for (const auto tag : route->tags) {
                tagged.push_back("*:" + std::string(tag));
            }
            tagged.insert(tagged.end(), labels.begin(), labels.end());
            if (const RateLimitRule* rule = FindRateLimitRule(settings->rules, tagged, signed_in)) {
                return take(*rule, bucket);
            }
        }
    }
    return std::nullopt;
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
