// SPDX-License-Identifier: MIT
#include "api/logs_handlers.hpp"

#include <charconv>
#include <chrono>

#include <boost/json/serialize.hpp>

#include "api/data_handlers.hpp"
#include "api/routes.hpp"
#include "core/json.hpp"
#include "core/json_text.hpp"
#include "core/text.hpp"
#include "obs/trace.hpp"
#include "records/service.hpp"

namespace basalt::api {

namespace json = boost::json;
using http::Method;
using http::Request;
using http::Response;

namespace {

constexpr std::size_t kMaxUrl = 3000;
constexpr std::size_t kMaxHeader = 2000;
constexpr std::size_t kMaxMethod = 50;
constexpr std::size_t kMaxErrorBody = 64UL * 1024;  // error answers read for their message and details

json::object EntryJson(const logs::LogEntry& e) {
    boost::system::error_code ec;
    json::value data = ParseJson(e.data, ec);
    if (ec || !data.is_object()) {
        data = json::object{};
    }
    return json::object{
        {"id", e.id}, {"created", e.created}, {"data", std::move(data)}, {"message", e.message}, {"level", e.level}};
}

class LogsApi {
public:
    explicit LogsApi(const Deps& d) : d_(d) {}

    net::awaitable<Response> List(Request& req) const {
        RequireSuperuser(req);
        const TableListParams p = TableListParamsOf(req);
        logs::LogQuery q;
        q.page = p.paging.page;
        q.per_page = p.paging.per_page;
        q.filter = p.filter;
        q.sort = p.sort;
        q.skip_total = p.skip_total;
        auto r = co_await d_.queries.Call([&] { return d_.logs.List(q); });
        if (!r) {
            ThrowListError(req, r.error());
        }
        json::array items;
        items.reserve(r->items.size());
        for (const auto& e : r->items) {
            items.emplace_back(EntryJson(e));
        }
        co_return ListResponse(p.paging, r->total_items, std::move(items));
    }

    net::awaitable<Response> Stats(Request& req) const {
        RequireSuperuser(req);
        const std::string filter = req.QueryParam("filter").value_or("");
        auto r = co_await d_.queries.Call([&] { return d_.logs.Stats(filter); });
        if (!r) {
            if (r.error().code == ErrorCode::kInvalidArgument || r.error().code == ErrorCode::kForbidden) {
                throw ApiError::BadRequest("Invalid filter format.");
            }
            ThrowApiError(req, r.error());
        }
        json::array out;
        out.reserve(r->size());
        for (const auto& s : *r) {
            out.emplace_back(json::object{{"date", s.date}, {"total", s.total}});
        }
        co_return JsonResponse(out);
    }

    net::awaitable<Response> View(Request& req) const {
        RequireSuperuser(req);
        const std::string id(req.Param("id"));
        auto r = co_await d_.queries.Call([&] { return d_.logs.Find(id); });
        if (!r) {
            ThrowApiError(req, r.error());
        }
        if (!r->has_value()) {
            throw ApiError::NotFound();
        }
        co_return JsonResponse(EntryJson(**r));
    }

private:
    Deps d_;  // a copy: the one routes are registered with is gone once they are
};

bool IsLogsApi(std::string_view path) {
    return path == "/api/logs" || path.starts_with("/api/logs/");
}

// The message and details of an error answer in PocketBase's shape, as its logs keep them.
void AppendErrorDetails(std::string& data, const Response& res) {
    if (res.body.empty() || res.body.size() > kMaxErrorBody || res.body.front() != '{') {
        return;
    }
    boost::system::error_code ec;
    const json::value body = ParseJson(res.body, ec);
    if (ec || !body.is_object()) {
        return;
    }
    const json::object& o = body.as_object();
    if (const auto* m = o.if_contains("message"); m != nullptr && m->is_string()) {
        data += R"(,"error":)";
        AppendJsonString(data, m->as_string());
    }
    if (const auto* details = o.if_contains("data"); details != nullptr && details->is_object()) {
        data += R"(,"details":)";
        data += json::serialize(*details);
    }
}

// `,"key":"value"`, the value cut at `max` bytes and marked with "..." (PocketBase's cutStr),
// escaped and made valid UTF-8 by the JSON writer; no copy of the value.
void AppendField(std::string& data, std::string_view key, std::string_view value, std::size_t max = kMaxUrl) {
    data += ",\"";
    data += key;
    data += "\":";
    if (value.size() <= max) {
        AppendJsonString(data, value);
        return;
    }
    AppendJsonString(data, value.substr(0, max));
    data.pop_back();  // the closing quote
    data += "...\"";
}

// The request's span: traceId, spanId and (when the caller sent a traceparent) parentId.
void AppendTrace(std::string& data, const obs::TraceContext& span) {
    if (!span.Valid()) {
        return;
    }
    data += R"(,"traceId":")";
    obs::AppendHex(data, span.trace_id.data(), span.trace_id.size());
    data += R"(","spanId":")";
    obs::AppendHex(data, span.span_id.data(), span.span_id.size());
    if (span.HasParent()) {
        data += R"(","parentId":")";
        obs::AppendHex(data, span.parent_id.data(), span.parent_id.size());
    }
    data.push_back('"');
}

// PocketBase's message: "METHOD /url" with the url percent-decoded, as valid UTF-8 without NUL.
std::string MessageOf(std::string_view method, std::string_view url) {
    std::string message(method);
    message.push_back(' ');
    message += http::PercentDecode(url);
    if (!IsValidUtf8(message) || message.find('\0') != std::string::npos) {
        return ValidUtf8Text(message);
    }
    return message;
}

}  // namespace

void RequestLogMiddleware::After(const Request& req, Response& res) {
    const bool failed = res.status >= 400;
    const std::int64_t level = failed ? logs::kError : logs::kInfo;
    if (!store_.Accepts(level) || (!failed && IsLogsApi(req.path))) {
        return;
    }
    const logs::LogSettings settings = store_.Settings();
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - req.started).count();
    const std::string_view url = std::string_view(req.target).substr(0, kMaxUrl);
    const std::string_view method = std::string_view(req.method_name).substr(0, kMaxMethod);
    std::string data;
    data.reserve(320 + url.size());
    data += R"({"type":"request","execTime":)";
    char buf[32];
    const auto written = std::to_chars(buf, buf + sizeof(buf), ms, std::chars_format::fixed, 3);
    data.append(buf, written.ptr);
    if (failed) {
        AppendErrorDetails(data, res);
    }
    AppendField(data, "url", req.target, kMaxUrl);
    AppendField(data, "method", req.method_name, kMaxMethod);
    data += R"(,"status":)";
    data += std::to_string(res.status);
    AppendField(data, "referer", req.Header("Referer"), kMaxHeader);
    AppendField(data, "userAgent", req.Header("User-Agent"), kMaxHeader);
    const auth::Principal* who = RequestAuth(req);
    AppendField(data, "auth", who != nullptr ? std::string_view(who->record.collection_name) : std::string_view());
    if (who != nullptr && settings.log_auth_id) {
        AppendField(data, "authId", who->record.id);
    }
    if (settings.log_ip) {
        AppendField(data, "userIP", req.remote_ip);
        AppendField(data, "remoteIP", req.peer_ip);
    }
    AppendTrace(data, req.trace);
    data.push_back('}');
    store_.Add(level, MessageOf(method, url), std::move(data));
}

void RegisterLogsRoutes(http::Router& router, const Deps& deps) {
    auto api = std::make_shared<LogsApi>(deps);
    router.Add(Method::kGet, "/api/logs", http::AsyncHandler([api](Request& r) { return api->List(r); }));
    router.Add(Method::kGet, "/api/logs/stats", http::AsyncHandler([api](Request& r) { return api->Stats(r); }));
    router.Add(Method::kGet, "/api/logs/{id}", http::AsyncHandler([api](Request& r) { return api->View(r); }));
}

}  // namespace basalt::api
