// SPDX-License-Identifier: MIT
#include "api/batch_handler.hpp"

#include <boost/json/serialize.hpp>

#include "api/auth_handlers.hpp"
#include "api/data_handlers.hpp"
#include "api/json_body.hpp"
#include "http/response.hpp"
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

std::optional<SubRequest> ParseSubRequest(const json::value& v) {
    if (!v.is_object()) {
        return std::nullopt;
    }
    const auto& o = v.as_object();
    const auto* method = o.if_contains("method");
    const auto* url = o.if_contains("url");
    if (method == nullptr || !method->is_string() || url == nullptr || !url->is_string()) {
        return std::nullopt;
    }
    SubRequest r;
    r.method = std::string(method->as_string());
    std::string_view u = url->as_string();
    std::string_view query;
    if (const auto q = u.find('?'); q != std::string_view::npos) {
        query = u.substr(q + 1);
        u = u.substr(0, q);
    }
    constexpr std::string_view kPrefix = "/api/collections/";
    if (u.substr(0, kPrefix.size()) != kPrefix) {
        return std::nullopt;
    }
    u.remove_prefix(kPrefix.size());
    const auto slash = u.find('/');
    if (slash == std::string_view::npos) {
        return std::nullopt;
    }
    r.collection = http::PercentDecode(u.substr(0, slash));
    u.remove_prefix(slash);
    if (u == "/records") {
        // create, upsert
    } else if (u.substr(0, 9) == "/records/" && u.size() > 9 && u.find('/', 9) == std::string_view::npos) {
        r.id = http::PercentDecode(u.substr(9));
    } else {
        return std::nullopt;
    }
    r.expand = QueryValue(query, "expand").value_or("");
    r.fields = QueryValue(query, "fields").value_or("");
    if (const auto* b = o.if_contains("body"); b != nullptr && b->is_object()) {
        r.body = b->as_object();
    }
    if (const auto* h = o.if_contains("headers"); h != nullptr && h->is_object()) {
        r.headers = h->as_object();
    }
    const bool ok = (r.method == "POST" && r.id.empty()) || (r.method == "PUT" && r.id.empty()) ||
                    (r.method == "PATCH" && !r.id.empty()) || (r.method == "DELETE" && !r.id.empty());
    if (!ok) {
        return std::nullopt;
    }
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
        const json::object body = DecodeJsonObject(req);
        const auto* list = body.if_contains("requests");
        if (list == nullptr || !list->is_array() || list->as_array().empty()) {
            throw ApiError::BadRequest(
                "An error occurred while validating the submitted data.",
                {{"requests", "validation_required", "Cannot be blank."}}
            );
        }
        if (static_cast<std::int64_t>(list->as_array().size()) > limits.max_requests) {
            throw ApiError::BadRequest(
                "An error occurred while validating the submitted data.",
                {{"requests",
                  "validation_length_too_long",
                  "The batch may have at most " + std::to_string(limits.max_requests) + " requests."}}
            );
        }
        std::vector<SubRequest> subs;
        std::vector<FieldError> invalid;
        for (std::size_t i = 0; i < list->as_array().size(); ++i) {
            auto sub = ParseSubRequest(list->as_array()[i]);
            if (!sub) {
                invalid.push_back(
                    {"requests." + std::to_string(i),
                     "batch_request_invalid",
                     "Only create, upsert, update and delete of records can be batched."}
                );
                continue;
            }
            subs.push_back(std::move(*sub));
        }
        if (!invalid.empty()) {
            throw ApiError::BadRequest("Batch transaction failed.", std::move(invalid));
        }

        // Every sub-request runs inside one write: all of them commit, or none does.
        struct Outcome {
            std::vector<std::pair<int, std::shared_ptr<json::object>>> results;
            std::size_t failed = 0;
            Error error;
        };
        auto outcome = std::make_shared<Outcome>();
        const records::Access base = AccessFor(req, d_.collections);
        const records::RecordService* records = &d_.records;
        // Writes to auth collections: password checks and hashing (~100 ms each) happen here, on the
        // blocking pool, never inside the writer.
        std::vector<records::AuthInput> auth_inputs(subs.size());
        {
            const auto snap = d_.collections.Current();
            for (std::size_t i = 0; i < subs.size(); ++i) {
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
                Result<records::AuthInput> in = MakeError(ErrorCode::kInternal, "not run");
                const schema::Collection collection = *c;
                co_await d_.blocking.Run([&] {
                    if (s.method == "PUT" && !id.empty()) {
                        auto existing = d_.auth_records.FindById(collection, id);
                        if (existing && !existing->has_value()) {
                            id.clear();  // an upsert of a new record is a create
                        }
                    } else if (s.method == "POST") {
                        id.clear();
                    }
                    in = PrepareAuthInput(d_, collection, id, s.body, access);
                });
                if (!in) {
                    throw ApiError::BadRequest(
                        "Batch transaction failed.",
                        {{"requests." + std::to_string(i),
                          "batch_request_failed",
                          "Batch request failed.",
                          ResponseJson(in.error())}}
                    );
                }
                auth_inputs[i] = std::move(*in);
            }
        }
        db::WriteFn fn = [subs, base, outcome, records, auth_inputs](db::Executor& ex) -> Result<void> {
            for (std::size_t i = 0; i < subs.size(); ++i) {
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
            if (outcome->error.message.empty()) {
                outcome->error = r.error();  // the commit itself failed
            }
            if (outcome->error.code == ErrorCode::kInternal || outcome->error.code == ErrorCode::kUnavailable) {
                obs::Error("batch failed", {{"request_id", req.request_id}, {"error", outcome->error.message}});
            }
            throw ApiError::BadRequest(
                "Batch transaction failed.",
                {{"requests." + std::to_string(outcome->failed),
                  "batch_request_failed",
                  "Batch request failed.",
                  ResponseJson(outcome->error)}}
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
