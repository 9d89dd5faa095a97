// SPDX-License-Identifier: MIT
#include "api/batch_handler.hpp"

#include <algorithm>

#include <boost/json/serialize.hpp>

#include "api/data_handlers.hpp"
#include "api/json_body.hpp"
#include "core/text.hpp"
#include "http/response.hpp"
#include "identity/auth_input.hpp"
#include "obs/log.hpp"
#include "records/fields_picker.hpp"

namespace basalt::api {

namespace {

namespace json = boost::json;
using http::Request;
using http::Response;

// One parsed sub-request: /api/collections/{collection}/records[/{id}][?query].
struct SubRequest {
    std::string method;
    std::string collection;
    std::string id;
    std::string expand;
    std::string fields;
    json::object body;
    json::object headers;
    bool supported = false;  // one of the batchable actions
};

std::optional<std::string> QueryValue(std::string_view query, std::string_view name) {
    while (!query.empty()) {
        const auto amp = query.find('&');
        const auto pair = query.substr(0, amp);
        query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
        const auto eq = pair.find('=');
        if (http::PercentDecode(pair.substr(0, eq), true) == name) {
            return eq == std::string_view::npos ? "" : http::PercentDecode(pair.substr(eq + 1), true);
        }
    }
    return std::nullopt;
}

// The sub-request's action, if it is one of the batchable ones (PocketBase's ValidBatchActions):
// create, upsert, update or delete of records at /api/collections/{collection}/records[/{id}][?query].
bool ParseAction(SubRequest& r, std::string_view url) {
    std::string_view u = url;
    std::string_view query;
    if (const auto q = u.find('?'); q != std::string_view::npos) {
        query = u.substr(q + 1);
        u = u.substr(0, q);
    }
    constexpr std::string_view kPrefix = "/api/collections/";
    if (u.substr(0, kPrefix.size()) != kPrefix) {
        return false;
    }
    u.remove_prefix(kPrefix.size());
    const auto slash = u.find('/');
    if (slash == 0 || slash == std::string_view::npos) {
        return false;
    }
    r.collection = http::PercentDecode(u.substr(0, slash));
    u.remove_prefix(slash);
    if (u == "/records") {
        // create, upsert
    } else if (u.substr(0, 9) == "/records/" && u.size() > 9 && u.find('/', 9) == std::string_view::npos) {
        r.id = http::PercentDecode(u.substr(9));
    } else {
        return false;
    }
    r.expand = QueryValue(query, "expand").value_or("");
    r.fields = QueryValue(query, "fields").value_or("");
    return (r.method == "POST" && r.id.empty()) || (r.method == "PUT" && r.id.empty()) ||
           (r.method == "PATCH" && !r.id.empty()) || (r.method == "DELETE" && !r.id.empty());
}

ApiError ReadError() {
    return ApiError::BadRequest("Failed to read the submitted batch data.");
}

// A string member of a sub-request, as Go binds it ("" when missing or null); another type is a
// body that cannot be read.
std::string BoundString(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    if (v == nullptr || v->is_null()) {
        return {};
    }
    if (!v->is_string()) {
        throw ReadError();
    }
    return std::string(v->as_string());
}

// One item of `requests` bound and validated as PocketBase's InternalRequest: field errors are
// added under requests.<i>; an item that is not an object (or has members of the wrong type) makes
// the whole body unreadable.
SubRequest BindSubRequest(const json::value& v, std::size_t i, std::vector<FieldError>& invalid) {
    if (!v.is_object()) {
        throw ReadError();
    }
    const auto& o = v.as_object();
    SubRequest r;
    r.method = BoundString(o, "method");
    const std::string url = BoundString(o, "url");
    if (const auto* b = o.if_contains("body"); b != nullptr && !b->is_null()) {
        if (!b->is_object()) {
            throw ReadError();
        }
        r.body = b->as_object();
    }
    if (const auto* h = o.if_contains("headers"); h != nullptr && !h->is_null()) {
        if (!h->is_object()) {
            throw ReadError();
        }
        for (const auto& [k, hv] : h->as_object()) {
            if (!hv.is_string()) {
                throw ReadError();
            }
        }
        r.headers = h->as_object();
    }
    const std::string at = "requests." + std::to_string(i) + ".";
    static constexpr std::string_view kMethods[] = {"GET", "POST", "PUT", "PATCH", "DELETE"};
    if (r.method.empty()) {
        invalid.push_back({at + "method", "validation_required", "Cannot be blank."});
    } else if (std::find(std::begin(kMethods), std::end(kMethods), r.method) == std::end(kMethods)) {
        invalid.push_back({at + "method", "validation_in_invalid", "Must be a valid value."});
    }
    constexpr std::size_t kMaxUrl = 2000;
    if (url.empty()) {
        invalid.push_back({at + "url", "validation_required", "Cannot be blank."});
    } else if (Utf8Length(url) > kMaxUrl) {
        invalid.push_back(
            {at + "url",
             "validation_length_too_long",
             "The length must be no more than " + std::to_string(kMaxUrl) + ".",
             {},
             R"({"max":)" + std::to_string(kMaxUrl) + R"(,"min":0})"}
        );
    }
    r.supported = ParseAction(r, url);
    return r;
}

// What a failed sub-request would have answered on its own.
std::string ResponseJson(const Error& e) {
    return http::ErrorBody(ApiError::FromError(e));
}

class Batch {
public:
    explicit Batch(const Deps& deps) : d_(deps) {}

    net::awaitable<Response> Handle(Request& req) const {
        const settings::BatchSettings limits = d_.settings.Batch();
        if (!limits.enabled) {
            throw ApiError::Forbidden("Batch requests are not allowed.");
        }
        if (limits.max_body_size > 0 && static_cast<std::int64_t>(req.body.size()) > limits.max_body_size) {
            throw ApiError(413, "Request entity too large.");
        }
        json::object body;
        if (const std::string_view type = req.Header("Content-Type");
            type.find("multipart/") != std::string_view::npos ||
            type.find("x-www-form-urlencoded") != std::string_view::npos) {
            body = DecodeJsonObject(req);
        } else if (req.body.find_first_not_of(" \t\r\n") != std::string::npos && !ParseJsonObject(req.body, body)) {
            throw ReadError();
        }
        const auto* list = body.if_contains("requests");
        if (list != nullptr && !list->is_null() && !list->is_array()) {
            throw ReadError();
        }
        const std::size_t count = list != nullptr && list->is_array() ? list->as_array().size() : 0;
        if (count == 0) {
            throw ApiError::BadRequest(
                "Invalid batch request data.", {{"requests", "validation_required", "Cannot be blank."}}
            );
        }
        if (static_cast<std::int64_t>(count) > limits.max_requests) {
            const std::string max = std::to_string(limits.max_requests);
            throw ApiError::BadRequest(
                "Invalid batch request data.",
                {{"requests",
                  "validation_length_too_long",
                  "The length must be no more than " + max + ".",
                  {},
                  R"({"max":)" + max + R"(,"min":0})"}}
            );
        }
        std::vector<SubRequest> subs;
        std::vector<FieldError> invalid;
        for (std::size_t i = 0; i < count; ++i) {
            subs.push_back(BindSubRequest(list->as_array()[i], i, invalid));
        }
        if (!invalid.empty()) {
            throw ApiError::BadRequest("Invalid batch request data.", std::move(invalid));
        }
        // Requests run in order; an unsupported one fails the batch when it is reached (the ones
        // before it run, then roll back), as PocketBase. PocketBase's error for it is a plain one: its
        // own 400 as the first request, a 500 after others (it surfaces through their handlers).
        std::size_t stop = subs.size();
        std::string stop_response;
        Error stop_error = MakeError(ErrorCode::kInvalidArgument, "unknown batch request action");
        for (std::size_t i = 0; i < subs.size(); ++i) {
            if (!subs[i].supported) {
                stop = i;
                stop_response = http::ErrorBody(
                    i == 0 ? ApiError::BadRequest()
                           : ApiError(500, "Something went wrong while processing your request.")
                );
                break;
            }
        }
        // Every sub-request runs inside one write: all of them commit, or none does.
        struct Outcome {
            std::vector<std::pair<int, std::shared_ptr<json::object>>> results;
            std::size_t failed = 0;
            Error error;
            std::string response_json;  // the failed request's answer when it is not error's
        };
        auto outcome = std::make_shared<Outcome>();
        const records::Access base = AccessFor(req, d_.collections);
        const records::RecordService* records = &d_.records;
        // Writes to auth collections: password checks and hashing (~100 ms each) happen here, on the
        // blocking pool, never inside the writer. A failure here is that request's: the batch stops
        // there (the requests before it still run first and roll back).
        std::vector<records::AuthInput> auth_inputs(subs.size());
        {
            const auto snap = d_.collections.Current();
            for (std::size_t i = 0; i < stop; ++i) {
                const SubRequest& s = subs[i];
                const schema::Collection* c = snap->Find(s.collection);
                if (c == nullptr || c->type != schema::CollectionType::kAuth || s.method == "DELETE") {
                    continue;
                }
                records::Access access = base;
                access.request.body = s.body;
                std::string id = s.id;
                if (id.empty() && s.method == "PUT") {
                    if (const auto* v = s.body.if_contains("id"); v != nullptr && v->is_string()) {
                        id = std::string(v->as_string());
                    }
                }
                const schema::Collection collection = *c;
                auto in = co_await d_.blocking.Call([&] {
                    if (s.method == "PUT" && !id.empty()) {
                        auto existing = d_.auth_records.FindById(collection, id);
                        if (existing && !existing->has_value()) {
                            id.clear();  // an upsert of a new record is a create
                        }
                    } else if (s.method == "POST") {
                        id.clear();
                    }
                    return identity::PrepareAuthInput(d_.records, d_.auth_records, collection, id, s.body, access);
                });
                if (!in) {
                    stop = i;
                    stop_error = in.error();
                    stop_response.clear();
                    break;
                }
                auth_inputs[i] = std::move(*in);
            }
        }
        if (stop == 0) {
            // Nothing runs before the failing request.
            throw ApiError::BadRequest(
                "Batch transaction failed.",
                {{"requests.0",
                  "batch_request_failed",
                  "Batch request failed.",
                  stop_response.empty() ? ResponseJson(stop_error) : stop_response}}
            );
        }
        db::WriteFn fn = [subs, base, outcome, records, auth_inputs, stop, stop_error, stop_response](db::Executor& ex
                         ) -> Result<void> {
            for (std::size_t i = 0; i < subs.size(); ++i) {
                if (i == stop) {
                    outcome->failed = i;
                    outcome->error = stop_error;
                    outcome->response_json = stop_response;
                    return stop_error;
                }
                const SubRequest& s = subs[i];
                records::Access access = base;
                access.request.method = s.method;
                access.request.body = s.body;
                for (const auto& [k, v] : s.headers) {
                    access.request.headers[k] = v;
                }
                Result<records::PreparedWrite> prepared = MakeError(ErrorCode::kInternal, "not prepared");
                int status = 200;
                std::string method = s.method;
                if (method == "PUT") {
                    // Upsert: an id that exists is an update, otherwise a create.
                    method = "POST";
                    if (const auto* id = s.body.if_contains("id"); id != nullptr && id->is_string()) {
                        // Looked up in this transaction: earlier requests of the batch count.
                        auto found = records->ExistsIn(ex, s.collection, id->as_string());
                        if (!found) {
                            outcome->failed = i;
                            outcome->error = found.error();
                            return found.error();
                        }
                        if (*found) {
                            method = "PATCH";
                        }
                    }
                }
                if (method == "POST") {
                    prepared = records->PrepareCreate(s.collection, s.body, access, auth_inputs[i]);
                } else if (method == "PATCH") {
                    const std::string id = s.id.empty() ? std::string(s.body.at("id").as_string()) : s.id;
                    prepared = records->PrepareUpdate(s.collection, id, s.body, access, auth_inputs[i]);
                } else {
                    prepared = records->PrepareDelete(s.collection, s.id, access);
                    status = 204;
                }
                if (!prepared) {
                    outcome->failed = i;
                    outcome->error = prepared.error();
                    return prepared.error();
                }
                if (auto r = prepared->fn(ex); !r) {
                    outcome->failed = i;
                    outcome->error = r.error();
                    return r.error();
                }
                outcome->results.emplace_back(status, prepared->record);
            }
            return Ok();
        };
        auto r = co_await AwaitWrite(d_.db, std::move(fn));
        if (!r) {
            if (outcome->error.message.empty() && outcome->response_json.empty()) {
                outcome->error = r.error();  // the commit itself failed
            }
            if (outcome->response_json.empty() &&
                (outcome->error.code == ErrorCode::kInternal || outcome->error.code == ErrorCode::kUnavailable)) {
                obs::Error("batch failed", {{"request_id", req.request_id}, {"error", outcome->error.message}});
            }
            throw ApiError::BadRequest(
                "Batch transaction failed.",
                {{"requests." + std::to_string(outcome->failed),
                  "batch_request_failed",
                  "Batch request failed.",
                  outcome->response_json.empty() ? ResponseJson(outcome->error) : outcome->response_json}}
            );
        }
        json::array out;
        for (std::size_t i = 0; i < outcome->results.size(); ++i) {
            auto& [status, record] = outcome->results[i];
            const SubRequest& s = subs[i];
            json::value result = nullptr;
            if (status == 200 && record) {
                if (!s.expand.empty()) {
                    (void)d_.records.ExpandOne(s.collection, *record, s.expand, AccessFor(req, d_.collections));
                }
                result = *record;
                if (!s.fields.empty()) {
                    if (auto picked = records::PickFields(result, s.fields)) {
                        result = std::move(*picked);
                    }
                }
            }
            out.push_back(json::object{{"status", status}, {"body", std::move(result)}});
        }
        co_return Response::Json(200, json::serialize(out));
    }

private:
    Deps d_;
};

}  // namespace

http::Handler BatchHandler(const Deps& deps) {
    auto h = std::make_shared<const Batch>(deps);
    return http::AsyncHandler([h](Request& req) { return h->Handle(req); });
}

}  // namespace basalt::api
