// SPDX-License-Identifier: MIT
#include "api/batch_handler.hpp"

#include <algorithm>
#include <optional>

#include <boost/json/serialize.hpp>

#include "api/data_handlers.hpp"
#include "api/json_body.hpp"
#include "api/record_files.hpp"
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
    r.expand = http::FormValue(query, "expand").value_or("");
    r.fields = http::FormValue(query, "fields").value_or("");
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

// The request a batch fails at and what it answers: the requests before it run (and roll back),
// the ones after it never do. Set before the transaction for a request that cannot run (an
// unsupported action, files or a password that fail their checks), inside it for any other failure.
struct Stop {
    std::size_t index = 0;
    Error error = MakeError(ErrorCode::kInvalidArgument, "unknown batch request action");
    std::string response_json;   // the answer when it is not error's
    bool upload_failed = false;  // its files failed their checks: a create's or an update's message
};

Stop FailedAt(std::size_t index, Error error) {
    Stop stop;
    stop.index = index;
    stop.error = std::move(error);
    return stop;
}

[[noreturn]] void ThrowFailed(const Request& req, const Stop& f) {
    if (f.response_json.empty() && (f.error.code == ErrorCode::kInternal || f.error.code == ErrorCode::kUnavailable)) {
        obs::Error("batch failed", {{"request_id", req.request_id}, {"error", f.error.message}});
    }
    throw ApiError::BadRequest(
        "Batch transaction failed.",
        {{"requests." + std::to_string(f.index),
          "batch_request_failed",
          "Batch request failed.",
          f.response_json.empty() ? ResponseJson(f.error) : f.response_json}}
    );
}

// Requests run in order; an unsupported one fails the batch when it is reached (the ones before it
// run, then roll back), as PocketBase. PocketBase's error for it is a plain one: its own 400 as the
// first request, a 500 after others (it surfaces through their handlers).
Stop FirstUnsupported(const std::vector<SubRequest>& subs) {
    Stop stop;
    stop.index = subs.size();
    for (std::size_t i = 0; i < subs.size(); ++i) {
        if (!subs[i].supported) {
            stop.index = i;
            stop.response_json = http::ErrorBody(
                i == 0 ? ApiError::BadRequest() : ApiError(500, "Something went wrong while processing your request.")
            );
            break;
        }
    }
    return stop;
}

// The sub-request a file part is for and the field it names: `requests.N.field` (what the SDK
// sends) or `requests[N].field` (PocketBase accepts both); nullopt for any other name.
std::optional<std::pair<std::size_t, std::string>> FilePartTarget(std::string_view name) {
    constexpr std::string_view kPrefix = "requests";
    if (!name.starts_with(kPrefix) || name.size() == kPrefix.size()) {
        return std::nullopt;
    }
    name.remove_prefix(kPrefix.size());
    const char open = name.front();
    if (open != '.' && open != '[') {
        return std::nullopt;
    }
    name.remove_prefix(1);
    const std::size_t digits = name.find_first_not_of("0123456789");
    if (digits == 0 || digits == std::string_view::npos || (digits > 1 && name.front() == '0') || digits > 9) {
        return std::nullopt;  // PocketBase matches the canonical index only
    }
    const std::size_t index = std::stoul(std::string(name.substr(0, digits)));
    name.remove_prefix(digits);
    const std::string_view close = open == '.' ? "." : "].";
    if (!name.starts_with(close)) {
        return std::nullopt;
    }
    name.remove_prefix(close.size());
    return std::make_pair(index, std::string(name));
}

// The file parts of a multipart batch by sub-request, each named by its field (modifiers kept:
// `field+`, `+field`). As PocketBase, parts under other names or for an index past the last
// request are ignored.
std::vector<std::vector<records::UploadedFile>> FilesByRequest(
    std::vector<records::UploadedFile> files, std::size_t count
) {
    std::vector<std::vector<records::UploadedFile>> out(count);
    for (auto& f : files) {
        auto target = FilePartTarget(f.field);
        if (target && target->first < count) {
            f.field = std::move(target->second);
            out[target->first].push_back(std::move(f));
        }
    }
    return out;
}

// One sub-request run inside the batch's write: its status and record (null for a delete).
using SubResult = std::pair<int, std::shared_ptr<json::object>>;

// Upsert: an id that exists is an update, otherwise a create. Looked up in the batch's
// transaction, so earlier requests of the batch count.
Result<std::string> ResolveMethod(db::Executor& ex, const records::RecordService& records, const SubRequest& s) {
    if (s.method != "PUT") {
        return s.method;
    }
    const auto* id = s.body.if_contains("id");
    if (id == nullptr || !id->is_string()) {
        return std::string("POST");
    }
    BASALT_ASSIGN_OR_RETURN(auto found, records.ExistsIn(ex, s.collection, id->as_string()));
    return std::string(found ? "PATCH" : "POST");
}

Result<SubResult> RunOne(
    db::Executor& ex,
    const records::RecordService& records,
    const SubRequest& s,
    const std::string& method,
    records::Access access,
    const records::AuthInput& auth,
    const std::vector<std::string>& uploaded
) {
    access.request.method = s.method;
    access.request.body = s.body;
    for (const auto& [k, v] : s.headers) {
        access.request.headers[k] = v;
    }
    Result<records::PreparedWrite> prepared = MakeError(ErrorCode::kInternal, "not prepared");
    if (method == "POST") {
        prepared = records.PrepareCreate(s.collection, s.body, access, auth, uploaded);
    } else if (method == "PATCH") {
        const std::string id = s.id.empty() ? std::string(s.body.at("id").as_string()) : s.id;
        prepared = records.PrepareUpdate(s.collection, id, s.body, access, auth, uploaded);
    } else {
        prepared = records.PrepareDelete(s.collection, s.id, access);
    }
    if (!prepared) {
        return prepared.error();
    }
    BASALT_TRY(prepared->fn(ex));
    return SubResult{method == "DELETE" ? 204 : 200, method == "DELETE" ? nullptr : prepared->record};
}

// What the batch's write leaves: the results in order, or the request it failed at.
struct Outcome {
    std::vector<SubResult> results;
    std::optional<Stop> failed;
};

// Everything one batch runs with inside its write.
struct Plan {
    std::vector<SubRequest> subs;
    records::Access base;
    std::vector<records::AuthInput> auth_inputs;
    std::vector<std::vector<std::string>> uploaded;  // per request: the names of its staged files
    Stop stop;
};

// The batch's write function: every sub-request runs inside it, so they share one savepoint and
// all commit or none does.
db::WriteFn BatchWrite(
    const records::RecordService* records, std::shared_ptr<const Plan> plan, std::shared_ptr<Outcome> out
) {
    return [records, plan = std::move(plan), out = std::move(out)](db::Executor& ex) -> Result<void> {
        for (std::size_t i = 0; i < plan->subs.size(); ++i) {
            const SubRequest& s = plan->subs[i];
            auto method = i == plan->stop.index && !plan->stop.upload_failed ? Result<std::string>(s.method)
                                                                             : ResolveMethod(ex, *records, s);
            if (!method) {
                out->failed = FailedAt(i, method.error());
                return method.error();
            }
            if (i == plan->stop.index) {
                out->failed = plan->stop;
                if (plan->stop.upload_failed) {
                    out->failed->error.message =
                        *method == "PATCH" ? "Failed to update record." : "Failed to create record.";
                }
                return out->failed->error;
            }
            auto r = RunOne(ex, *records, s, *method, plan->base, plan->auth_inputs[i], plan->uploaded[i]);
            if (!r) {
                out->failed = FailedAt(i, r.error());
                return r.error();
            }
            out->results.push_back(std::move(*r));
        }
        return Ok();
    };
}

class Batch {
public:
    explicit Batch(const Deps& deps) : d_(deps) {}

    net::awaitable<Response> Handle(Request& req) const {
        std::vector<records::UploadedFile> files;
        auto plan = std::make_shared<Plan>();
        plan->subs = co_await Bind(req, files);
        plan->stop = FirstUnsupported(plan->subs);
        plan->base = AccessFor(req, d_.collections);
        // Every request's files are stored before the transaction; if the batch does not commit,
        // `staged` deletes them all. Files that committed updates and deletes drop go after the commit.
        StagedUploads staged(d_.storage);
        auto uploads = FilesByRequest(std::move(files), plan->subs.size());
        co_await StageAll(*plan, std::move(uploads), staged);
        co_await PrepareAuthInputs(*plan);
        auto outcome = std::make_shared<Outcome>();
        if (plan->stop.index == 0 && !plan->stop.upload_failed) {
            outcome->failed = plan->stop;  // nothing runs before the failing request
        } else {
            db::WriteFn write = BatchWrite(&d_.records, plan, outcome);
            auto r = co_await AwaitWrite(d_.db, std::move(write));
            if (!r && !outcome->failed) {
                outcome->failed = FailedAt(0, r.error());  // the commit itself failed
            }
        }
        if (outcome->failed) {
            if (!staged.Empty()) {
                co_await d_.blocking.Run([&] { staged.Discard(); });
            }
            ThrowFailed(req, *outcome->failed);
        }
        staged.Keep();
        co_return Encode(req, plan->subs, outcome->results);
    }

private:
    // The body bound and validated as PocketBase's batch form; file parts of a multipart body go to
    // `files`.
    net::awaitable<std::vector<SubRequest>> Bind(const Request& req, std::vector<records::UploadedFile>& files) const {
        const settings::BatchSettings limits = d_.settings.Batch();
        if (!limits.enabled) {
            throw ApiError::Forbidden("Batch requests are not allowed.");
        }
        const std::uint64_t size = req.body_file ? req.body_file->Size() : req.body.size();
        if (limits.max_body_size > 0 && size > static_cast<std::uint64_t>(limits.max_body_size)) {
            throw ApiError(413, "Request entity too large.");
        }
        json::object body;
        if (const std::string_view type = req.Header("Content-Type");
            type.find("multipart/") != std::string_view::npos ||
            type.find("x-www-form-urlencoded") != std::string_view::npos) {
            body = co_await DecodeUploadBody(d_, req, files);
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
        co_return subs;
    }

    // Stores the files of the creates, upserts and updates that run (those before the stop), in
    // order, as the records API does (StageRecordFiles), and notes their names in the plan. The first
    // request whose files fail their checks becomes the stop. As PocketBase, a file part replaces
    // the body's member of the same name, and a delete's files are ignored.
    net::awaitable<void> StageAll(
        Plan& plan, std::vector<std::vector<records::UploadedFile>> uploads, StagedUploads& staged
    ) const {
        plan.uploaded.resize(plan.subs.size());
        for (std::size_t i = 0; i < plan.stop.index; ++i) {
            SubRequest& s = plan.subs[i];
            if (uploads[i].empty() || s.method == "DELETE") {
                continue;
            }
            for (const auto& u : uploads[i]) {
                s.body.erase(u.field);
            }
            // (No temporaries inside the co_await: GCC 12 miscompiles some, conditionals among them.)
            const bool update = s.method == "PATCH";
            std::string id = update ? s.id : std::string();
            std::string failure = update ? "Failed to update record." : "Failed to create record.";
            auto r = co_await StageRecordFiles(d_, s.collection, std::move(id), s.body, uploads[i], std::move(failure));
            if (!r) {
                plan.stop = FailedAt(i, std::move(r.error()));
                plan.stop.upload_failed = true;
                break;
            }
            staged.Add(*r);
            plan.uploaded[i] = std::move(r->names);
        }
    }

    // Writes to auth collections: password checks and hashing (~100 ms each) happen here, on the
    // blocking pool, never inside the writer. A failure here is that request's: the batch stops
    // there (the requests before it still run first and roll back).
    net::awaitable<void> PrepareAuthInputs(Plan& plan) const {
        plan.auth_inputs.resize(plan.subs.size());
        const auto snap = d_.collections.Current();
        for (std::size_t i = 0; i < plan.stop.index; ++i) {
            const SubRequest& s = plan.subs[i];
            const schema::Collection* c = snap->Find(s.collection);
            if (c == nullptr || c->type != schema::CollectionType::kAuth || s.method == "DELETE") {
                continue;
            }
            records::Access access = plan.base;
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
                plan.stop = FailedAt(i, in.error());
                break;
            }
            plan.auth_inputs[i] = std::move(*in);
        }
    }

    // The results as PocketBase answers them, with each request's `expand` and `fields` applied.
    Response Encode(const Request& req, const std::vector<SubRequest>& subs, std::vector<SubResult>& results) const {
        json::array out;
        for (std::size_t i = 0; i < results.size(); ++i) {
            auto& [status, record] = results[i];
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
        return Response::Json(200, json::serialize(out));
    }

    Deps d_;
};

}  // namespace

http::Handler BatchHandler(const Deps& deps) {
    auto h = std::make_shared<const Batch>(deps);
    return http::AsyncHandler([h](Request& req) { return h->Handle(req); });
}

}  // namespace basalt::api
