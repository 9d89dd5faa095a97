// SPDX-License-Identifier: MIT
#include "api/data_handlers.hpp"

#include <algorithm>
#include <charconv>
#include <initializer_list>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "api/auth_handlers.hpp"
#include "api/guest_cache.hpp"
#include "api/json_body.hpp"
#include "api/record_files.hpp"
#include "api/routes.hpp"
#include "auth/scopes.hpp"
#include "collections/view.hpp"
#include "core/ids.hpp"
#include "core/json.hpp"
#include "core/json_text.hpp"
#include "core/random.hpp"
#include "core/text.hpp"
#include "identity/auth_input.hpp"
#include "identity/oauth2.hpp"
#include "identity/throttle.hpp"
#include "obs/log.hpp"

namespace basalt::api {

namespace {

namespace json = boost::json;
using http::Method;
using http::Request;
using http::Response;

// Header names as @request.headers sees them: lower case, '-' -> '_'.
json::object HeadersObject(const Request& req) {
    json::object o;
    for (const auto& [k, v] : req.headers) {
        std::string name = k;
        for (char& c : name) {
            c = c == '-' ? '_' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        }
        if (name != "authorization") {  // the token never reaches rules
            o[name] = v;
        }
    }
    return o;
}

json::object QueryObject(const Request& req) {
    json::object o;
    std::string_view q = req.query;
    while (!q.empty()) {
        const auto amp = q.find('&');
        const auto pair = q.substr(0, amp);
        q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
        const auto eq = pair.find('=');
        const std::string key = http::PercentDecode(pair.substr(0, eq), true);
        if (!key.empty() && !o.contains(key)) {
            o[key] = eq == std::string_view::npos ? "" : http::PercentDecode(pair.substr(eq + 1), true);
        }
    }
    return o;
}

}  // namespace

void RequireSuperuser(const http::Request& req) {
    const auth::Principal* p = RequestAuth(req);
    if (p == nullptr) {
        throw ApiError::Unauthorized("The request requires valid record authorization token.");
    }
    if (!p->superuser || (p->scopes && !auth::ScopesAllowAdmin(*p->scopes))) {
        throw ApiError::Forbidden("The authorized record is not allowed to perform this action.");
    }
}

std::string ConsoleQuery(const boost::json::object& body) {
    const auto* v = body.if_contains("query");
    if (v != nullptr && !v->is_string() && !v->is_null()) {
        throw ApiError::BadRequest("An error occurred while loading the submitted data.");
    }
    std::string query = v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
    if (query.empty()) {
        throw ApiError::BadRequest(
            "An error occurred while validating the submitted data.",
            {{"query", "validation_required", "Cannot be blank."}}
        );
    }
    if (Utf8Length(query) > kMaxConsoleQuery) {
        throw ApiError::BadRequest(
            "An error occurred while validating the submitted data.",
            {{"query",
              "validation_length_too_long",
              "The length must be no more than " + std::to_string(kMaxConsoleQuery) + ".",
              {},
              R"({"max":)" + std::to_string(kMaxConsoleQuery) + R"(,"min":0})"}}
        );
    }
    return query;
}

http::Response JsonResponse(const boost::json::value& v) {
    return http::Response::Json(200, boost::json::serialize(v));
}

void ThrowApiError(const http::Request& req, const Error& e) {
    if (e.code == ErrorCode::kInternal || e.code == ErrorCode::kUnavailable) {
        obs::Error("request failed", {{"request_id", req.request_id}, {"error", e.message}});
    }
    throw ApiError::FromError(e);
}

namespace {

// Which parts of the request some rule of a schema reads; computed once per schema snapshot.
struct RequestNeeds {
    bool headers = false;
    bool query = false;
    bool volatile_reads = false;  // a list or view rule reads what no write changes (the clock, ...)
    bool views = false;           // the schema has a view collection
};

// Whether `text` (a rule, filter or sort) mentions an @-name whose value can change without a write
// (@now, @todayStart, @random, @request.headers.*, ...): only @request.auth, @request.query,
// @request.method, @request.context and @collection are fixed for a guest's repeated request. An @
// inside a string literal counts too (wrongly, and only costs a cache miss).
bool MentionsVolatile(std::string_view text) {
    static constexpr std::string_view kFixed[] = {
        "request.auth", "request.query", "request.method", "request.context", "collection."};
    for (std::size_t at = text.find('@'); at != std::string_view::npos; at = text.find('@', at + 1)) {
        const std::string_view rest = text.substr(at + 1);
        if (std::none_of(std::begin(kFixed), std::end(kFixed), [&](std::string_view f) {
                return rest.starts_with(f);
            })) {
            return true;
        }
    }
    return false;
}

RequestNeeds NeedsOf(const std::shared_ptr<const collections::Snapshot>& snap) {
    thread_local std::shared_ptr<const collections::Snapshot> cached_for;
    thread_local RequestNeeds cached;
    if (cached_for == snap) {
        return cached;
    }
    RequestNeeds n;
    for (const auto& c : snap->All()) {
        for (const auto* rule : {&c.list_rule, &c.view_rule, &c.create_rule, &c.update_rule, &c.delete_rule}) {
            if (*rule) {
                n.headers = n.headers || (*rule)->find("@request.headers") != std::string::npos;
                n.query = n.query || (*rule)->find("@request.query") != std::string::npos;
            }
        }
        for (const auto* rule : {&c.list_rule, &c.view_rule}) {
            n.volatile_reads = n.volatile_reads || (*rule && MentionsVolatile(**rule));
        }
        n.views = n.views || c.IsView();
        for (const auto& [key, value] : c.options) {
            if (value.is_string()) {  // authRule, manageRule, ...
                n.headers = n.headers || value.as_string().find("@request.headers") != std::string::npos;
                n.query = n.query || value.as_string().find("@request.query") != std::string::npos;
            }
        }
    }
    cached_for = snap;
    cached = n;
    return n;
}

}  // namespace

records::Access AccessFor(const Request& req, const collections::CollectionStore& store, json::object body) {
    records::Access a;
    const auth::Principal* p = RequestAuth(req);
    a.superuser = p != nullptr && p->superuser;
    a.request.method = req.method_name;
    // Superusers bypass rules, but their own filters may read @request.* too.
    RequestNeeds needs;
    if (a.superuser) {
        needs.headers = req.query.find("request.headers") != std::string::npos;
        needs.query = req.query.find("request.query") != std::string::npos;
    } else {
        needs = NeedsOf(store.Current());
    }
    {
        if (needs.headers) {
            a.request.headers = HeadersObject(req);
        }
        if (needs.query) {
            a.request.query = QueryObject(req);
        }
    }
    a.request.body = std::move(body);
    if (p != nullptr) {
        a.request.auth = p->auth_json;  // every field of the auth record (never password or tokenKey)
        a.scopes = p->scopes;
    }
    return a;
}

std::int64_t IntParam(const Request& req, const char* name, std::int64_t fallback) {
    const std::string text = req.QueryParam(name).value_or("");
    if (text.empty()) {
        return fallback;
    }
    std::int64_t n = 0;
    const char* end = text.data() + text.size();
    auto [p, ec] = std::from_chars(text.data(), end, n);
    if (ec != std::errc() || p != end) {
        throw ApiError::BadRequest(
            "Invalid " + std::string(name) + " parameter.", {{name, "validation_invalid_value", "Must be an integer."}}
        );
    }
    return n;
}

Paging PagingOf(const Request& req, std::int64_t default_per_page, std::int64_t max_per_page) {
    Paging p;
    p.per_page = IntParam(req, "perPage", default_per_page);
    p.per_page = p.per_page < 1 ? default_per_page : std::min(p.per_page, max_per_page);
    p.page = std::clamp<std::int64_t>(IntParam(req, "page", 1), 1, records::kMaxPage);
    return p;
}

TableListParams TableListParamsOf(const Request& req) {
    return TableListParams{
        PagingOf(req, 30, records::kMaxPerPage),
        req.QueryParam("filter").value_or(""),
        req.QueryParam("sort").value_or(""),
        BoolParam(req, "skipTotal")};
}

void ThrowListError(const Request& req, const Error& e) {
    if (e.code == ErrorCode::kInvalidArgument || e.code == ErrorCode::kForbidden) {
        throw ApiError::BadRequest();
    }
    ThrowApiError(req, e);
}

Response ListResponse(const Paging& paging, std::int64_t total, json::array items) {
    return JsonResponse(json::object{
        {"page", paging.page},
        {"perPage", paging.per_page},
        {"totalItems", total},
        {"totalPages", total < 0 ? -1 : (total + paging.per_page - 1) / paging.per_page},
        {"items", std::move(items)}});
}

bool BoolParam(const Request& req, const char* name) {
    auto v = req.QueryParam(name);
    return v && (*v == "1" || *v == "t" || *v == "T" || *v == "true" || *v == "TRUE" || *v == "True");
}

namespace {

// The list envelope around the already serialized items.
std::string ListJson(const records::ListResult& r) {
    std::string out = R"({"items":)";
    out += r.items_json;
    out += R"(,"page":)" + std::to_string(r.page);
    out += R"(,"perPage":)" + std::to_string(r.per_page);
    out += R"(,"totalItems":)" + std::to_string(r.total_items);
    out += R"(,"totalPages":)" + std::to_string(r.total_pages);
    out.push_back('}');
    return out;
}

class DataApi {
public:
    explicit DataApi(const Deps& deps)
        : d_(deps),
          guest_cache_(deps.guest_cache_bytes > 0 ? std::make_shared<GuestCache>(deps.guest_cache_bytes) : nullptr) {}

    const std::shared_ptr<GuestCache>& Cache() const { return guest_cache_; }

    // ---- collections ------------------------------------------------------------------------

    // PocketBase's collections list: filter and sort over id, created, updated, name, system and
    // type. Anything else answers PocketBase's generic 400 (it shows no detail either).
    net::awaitable<Response> ListCollections(Request& req) const {
        RequireSuperuser(req);
        const TableListParams p = TableListParamsOf(req);
        collections::CollectionQuery q;
        q.page = p.paging.page;
        q.per_page = p.paging.per_page;
        q.filter = p.filter;
        q.sort = p.sort;
        q.skip_total = p.skip_total;
        auto r = co_await d_.queries.Call([&] { return d_.collections.List(q); });
        if (!r) {
            ThrowListError(req, r.error());
        }
        json::array items;
        for (const auto& c : r->items) {
            items.emplace_back(schema::CollectionToJson(c));
        }
        co_return ListResponse(p.paging, r->total_items, std::move(items));
    }

    // Every OAuth2 provider PocketBase knows, for the dashboard's provider picker (a plain array).
    Response OAuth2Providers(Request& req) const {
        RequireSuperuser(req);
        json::array out;
        for (const auto& p : identity::ProviderCatalog()) {
            out.push_back(json::object{
                {"name", p.name}, {"displayName", p.display_name}, {"logo", identity::ProviderLogo(p.display_name)}});
        }
        return JsonResponse(out);
    }

    // The fields and a sample of the records a view collection with this query would have; nothing
    // is created (the dashboard calls it as the query is typed).
    net::awaitable<Response> DryRunView(Request& req) const {
        RequireSuperuser(req);
        const std::string query = ConsoleQuery(DecodeJsonObject(req));
        const auto snap = d_.collections.Current();
        std::optional<collections::ViewDryRun> run;
        auto r = co_await d_.queries.Call([&] {
            return d_.db.ReadTx([&](db::Executor& ex) -> Result<void> {
                BASALT_ASSIGN_OR_RETURN(run, collections::DryRunView(ex, query, *snap, 10));
                return Ok();
            });
        });
        if (!r) {
            if (r.error().code != ErrorCode::kInvalidArgument) {
                ThrowApiError(req, r.error());
            }
            throw ApiError::BadRequest(Sentenize("Invalid view query. Raw error: \n" + r.error().message));
        }
        schema::Collection temp;
        temp.type = schema::CollectionType::kView;
        temp.name = "temp_view_" + SecureRandomString(5, kAlphanumericLower);
        temp.id = CollectionIdFor("view", temp.name);
        temp.fields = run->shape.fields;
        json::array fields;
        for (const auto& f : temp.fields) {
            fields.emplace_back(schema::FieldToJson(f));
        }
        json::array sample;
        for (std::size_t i = 0; i < run->sample.rows.size(); ++i) {
            sample.emplace_back(records::RecordJson(temp, run->sample, i, /*include_hidden=*/true));
        }
        co_return JsonResponse(json::object{{"fields", std::move(fields)}, {"sample", std::move(sample)}});
    }

    // Empty collections of each type, as the dashboard's "new collection" forms start from.
    Response Scaffolds(Request& req) const {
        RequireSuperuser(req);
        auto scaffold = [](std::string_view type) {
            schema::Collection c;
            c.type = *schema::ParseCollectionType(type);
            c.fields.push_back(schema::IdField());
            json::object o = schema::CollectionToJson(c);
            if (type == "view") {
                o["viewQuery"] = "";
            }
            return o;
        };
        return JsonResponse(json::object{
            {"base", scaffold("base")}, {"auth", scaffold("auth")}, {"view", scaffold("view")}});
    }

    Response ViewCollection(Request& req) const {
        RequireSuperuser(req);
        const auto snap = d_.collections.Current();
        const schema::Collection* c = snap->Find(req.Param("collection"));
        if (c == nullptr) {
            throw ApiError::NotFound();
        }
        return JsonResponse(schema::CollectionToJson(*c));
    }

    net::awaitable<Response> CreateCollection(Request& req) const {
        RequireSuperuser(req);
        const json::object body = DecodeJsonObject(req);
        collections::ChangeResult result;
        co_await d_.blocking.Run([&] { result = d_.collections.Create(body); });
        if (!result.collection) {
            if (result.errors.empty() && result.code != ErrorCode::kInvalidArgument) {
                ThrowApiError(req, MakeError(result.code, result.message));
            }
            throw ApiError::BadRequest(
                result.message.empty() ? "Failed to create collection." : result.message, std::move(result.errors)
            );
        }
        co_return JsonResponse(schema::CollectionToJson(*result.collection));
    }

    net::awaitable<Response> UpdateCollection(Request& req) const {
        RequireSuperuser(req);
        const json::object body = DecodeJsonObject(req);
        const std::string name(req.Param("collection"));
        collections::ChangeResult result;
        co_await d_.blocking.Run([&] { result = d_.collections.Update(name, body); });
        if (!result.collection) {
            if (result.code == ErrorCode::kNotFound) {
                throw ApiError::NotFound();
            }
            if (result.errors.empty() && result.code != ErrorCode::kInvalidArgument) {
                ThrowApiError(req, MakeError(result.code, result.message));
            }
            throw ApiError::BadRequest(
                result.message.empty() ? "Failed to update collection." : result.message, std::move(result.errors)
            );
        }
        co_return JsonResponse(schema::CollectionToJson(*result.collection));
    }

    // Superusers read the outbox: GET /api/events?after=<id>&limit=<n> (basalt).
    net::awaitable<Response> ListEvents(Request& req) const {
        RequireSuperuser(req);
        const std::int64_t after = std::max<std::int64_t>(0, IntParam(req, "after", 0));
        const std::int64_t limit = std::clamp<std::int64_t>(IntParam(req, "limit", 100), 1, 1000);
        auto list =
            co_await d_.queries.Call([&] { return events::ReadAfter(d_.db, after, static_cast<std::size_t>(limit)); });
        if (!list) {
            ThrowApiError(req, list.error());
        }
        json::array items;
        for (const auto& e : *list) {
            boost::system::error_code ec;
            json::value record = ParseJson(e.record, ec);
            items.push_back(json::object{
                {"id", e.id},
                {"created", e.created},
                {"collectionId", e.collection_id},
                {"collectionName", e.collection_name},
                {"recordId", e.record_id},
                {"action", e.action},
                {"record", ec ? json::value(nullptr) : std::move(record)}});
        }
        co_return JsonResponse(json::object{{"items", std::move(items)}});
    }

    net::awaitable<Response> ImportCollections(Request& req) const {
        RequireSuperuser(req);
        const json::object body = DecodeJsonObject(req);
        const auto* list = body.if_contains("collections");
        if (list == nullptr || !list->is_array() || list->as_array().empty()) {
            throw ApiError::BadRequest(
                "An error occurred while validating the submitted data.",
                {{"collections", "validation_required", "Cannot be blank."}}
            );
        }
        const auto* dm = body.if_contains("deleteMissing");
        if (dm != nullptr && !dm->is_bool() && !dm->is_null()) {
            throw ApiError::BadRequest(
                "An error occurred while loading the submitted data.",
                {{"deleteMissing", "validation_invalid_value", "Must be a boolean."}}
            );
        }
        const bool delete_missing = dm != nullptr && dm->is_bool() && dm->as_bool();
        collections::ChangeResult result;
        co_await d_.blocking.Run([&] { result = d_.collections.Import(list->as_array(), delete_missing); });
        if (!result.errors.empty() || !result.message.empty()) {
            if (result.errors.empty() && result.code != ErrorCode::kInvalidArgument) {
                ThrowApiError(req, MakeError(result.code, result.message));
            }
            throw ApiError::BadRequest("Failed to import collections.", std::move(result.errors));
        }
        co_return Response::NoContent();
    }

    net::awaitable<Response> DeleteCollection(Request& req) const {
        RequireSuperuser(req);
        const std::string name(req.Param("collection"));
        Result<void> r;
        co_await d_.blocking.Run([&] { r = d_.collections.Delete(name); });
        if (!r) {
            if (r.error().code == ErrorCode::kNotFound) {
                throw ApiError::NotFound();
            }
            ThrowApiError(req, r.error());
        }
        co_return Response::NoContent();
    }

    net::awaitable<Response> TruncateCollection(Request& req) const {
        RequireSuperuser(req);
        const std::string name(req.Param("collection"));
        Result<void> r;
        co_await d_.blocking.Run([&] { r = d_.collections.Truncate(name); });
        if (!r) {
            if (r.error().code == ErrorCode::kNotFound) {
                throw ApiError::NotFound();
            }
            if (r.error().code == ErrorCode::kConflict) {
                throw ApiError::BadRequest(
                    "Failed to truncate collection: some records are part of a required relation."
                );
            }
            ThrowApiError(req, r.error());
        }
        co_return Response::NoContent();
    }

    // ---- settings -----------------------------------------------------------------------------

    Response GetSettings(Request& req) const {
        RequireSuperuser(req);
        return JsonResponse(d_.settings.Redacted());
    }

    net::awaitable<Response> PatchSettings(Request& req) const {
        RequireSuperuser(req);
        const json::object body = DecodeJsonObject(req);
        auto r = co_await d_.blocking.Call([&] { return d_.settings.Patch(body); });
        if (!r) {
            ThrowApiError(req, r.error());
        }
        co_return JsonResponse(*r);
    }

    // ---- records ------------------------------------------------------------------------------

    net::awaitable<Response> ListRecords(Request& req) const {
        records::ListParams p;
        const Paging paging = PagingOf(req, 30, records::kMaxPerPage);
        p.page = paging.page;
        p.per_page = paging.per_page;
        p.sort = req.QueryParam("sort").value_or("");
        p.filter = req.QueryParam("filter").value_or("");
        p.skip_total = BoolParam(req, "skipTotal");
        p.expand = req.QueryParam("expand").value_or("");
        const std::string collection(req.Param("collection"));
        const std::string key = GuestKey(req, collection, !p.expand.empty(), {p.filter, p.sort});
        const std::uint64_t version = d_.collections.DataVersion();  // before the data is read
        if (!key.empty()) {
            if (auto body = guest_cache_->Find(key, version)) {
                co_return Response::Json(200, *body);
            }
        }
        const records::Access access = AccessFor(req, d_.collections);
        // A filter may scan: off the I/O thread.
        auto r = co_await d_.queries.Call([&] { return d_.records.List(collection, p, access); });
        if (!r) {
            ListFailure(req, r.error());
        }
        std::string body = ListJson(*r);
        if (!key.empty()) {
            guest_cache_->Store(key, version, d_.collections.DataVersion(), body);
        }
        co_return Response::Json(200, std::move(body));
    }

    net::awaitable<Response> ViewRecord(Request& req) const {
        const std::string collection(req.Param("collection"));
        const std::string id(req.Param("id"));
        const std::string expand = req.QueryParam("expand").value_or("");
        const std::string key = GuestKey(req, collection, !expand.empty(), {});
        const std::uint64_t version = d_.collections.DataVersion();  // before the data is read
        if (!key.empty()) {
            if (auto body = guest_cache_->Find(key, version)) {
                co_return Response::Json(200, *body);
            }
        }
        const records::Access access = AccessFor(req, d_.collections);
        auto view = [&] {
            return d_.records.View(collection, id, access, expand);
        };
        Response res;
        if (d_.records.ViewMayScan(collection, access, expand)) {
            // A view collection's query, a joining rule or expand may scan: never on an I/O thread.
            auto r = co_await d_.queries.Call(view);
            res = ViewAnswer(req, r);
        } else {
            // One primary-key read (and the rows its relations point at): inline is faster than a hop
            // to the pool and back (docs/architecture.md, "Reads on the I/O threads").
            res = ViewAnswer(req, view());
        }
        if (!key.empty()) {
            guest_cache_->Store(key, version, d_.collections.DataVersion(), res.body);
        }
        co_return res;
    }

    // The response cache's key for a guest's list or view of `collection` when its answer may be
    // kept (GuestCache): no auth, a schema whose list and view rules read nothing that changes
    // without a write (nor headers), not a view collection (its query may read the clock), no expand
    // when any view collection exists, and `params` (filter, sort) free of such names too.
    std::string GuestKey(
        const Request& req, std::string_view collection, bool expands, std::initializer_list<std::string_view> params
    ) const {
        constexpr std::size_t kMaxKeyTarget = 2048;
        if (!guest_cache_ || RequestAuth(req) != nullptr || !req.Header("Authorization").empty() ||
            req.target.size() > kMaxKeyTarget) {
            return {};
        }
        const auto snap = d_.collections.Current();
        const RequestNeeds needs = NeedsOf(snap);
        if (needs.headers || needs.volatile_reads || (expands && needs.views)) {
            return {};
        }
        const schema::Collection* c = snap->Find(collection);
        if (c == nullptr || c->IsView()) {
            return {};
        }
        for (const std::string_view text : params) {
            if (MentionsVolatile(text)) {
                return {};
            }
        }
        return req.method_name + ' ' + req.target;
    }

    static Response ViewAnswer(const Request& req, const Result<json::object>& r) {
        if (!r) {
            ListFailure(req, r.error());
        }
        return JsonResponse(*r);
    }

    net::awaitable<Response> CreateRecord(Request& req) const {
        std::vector<records::UploadedFile> files;
        json::object body = co_await DecodeUploadBody(d_, req, files);
        const std::string collection(req.Param("collection"));
        StagedUploads staged(d_.storage);
        auto stored = co_await StageRecordFiles(d_, collection, "", body, files, "Failed to create record.");
        if (!stored) {
            ThrowApiError(req, stored.error());
        }
        staged.Add(*stored);
        const records::Access access = AccessFor(req, d_.collections, body);
        const records::AuthInput auth = co_await AuthInputFor(req, "", body, access);
        auto prepared = d_.records.PrepareCreate(collection, body, access, auth, stored->names);
        if (!prepared) {
            ThrowApiError(req, prepared.error());  // `staged` deletes the files
        }
        co_return co_await Commit(req, std::move(*prepared), std::move(staged));
    }

    net::awaitable<Response> UpdateRecord(Request& req) const {
        std::vector<records::UploadedFile> files;
        json::object body = co_await DecodeUploadBody(d_, req, files);
        const std::string collection(req.Param("collection"));
        const std::string id(req.Param("id"));
        StagedUploads staged(d_.storage);
        auto stored = co_await StageRecordFiles(d_, collection, id, body, files, "Failed to update record.");
        if (!stored) {
            ThrowApiError(req, stored.error());
        }
        staged.Add(*stored);
        const records::Access access = AccessFor(req, d_.collections, body);
        const records::AuthInput auth = co_await AuthInputFor(req, id, body, access);
        auto prepared = d_.records.PrepareUpdate(collection, id, body, access, auth, stored->names);
        if (!prepared) {
            ThrowApiError(req, prepared.error());  // `staged` deletes the files
        }
        co_return co_await Commit(req, std::move(*prepared), std::move(staged));
    }

    net::awaitable<Response> DeleteRecord(Request& req) const {
        auto prepared =
            d_.records.PrepareDelete(req.Param("collection"), req.Param("id"), AccessFor(req, d_.collections));
        if (!prepared) {
            ThrowApiError(req, prepared.error());
        }
        auto r = co_await AwaitWrite(d_.db, std::move(prepared->fn));
        if (!r) {
            ThrowApiError(req, r.error());
        }
        co_return Response::NoContent();
    }

private:
    // The auth collection a records request names, or nullptr.
    std::optional<schema::Collection> AuthCollectionOf(const Request& req) const {
        const auto snap = d_.collections.Current();
        const schema::Collection* c = snap->Find(req.Param("collection"));
        if (c == nullptr || c->type != schema::CollectionType::kAuth) {
            return std::nullopt;
        }
        return *c;
    }

    // Password checks and hashing for writes to auth collections, on the blocking pool.
    net::awaitable<records::AuthInput> AuthInputFor(
        Request& req, const std::string& id, const json::object& body, const records::Access& access
    ) const {
        const auto c = AuthCollectionOf(req);
        if (!c) {
            co_return records::AuthInput{};
        }
        // An owner's oldPassword is a password check: throttled per record like a sign-in (a stolen
        // token must not turn into a password oracle).
        std::vector<std::string> throttle_keys;
        if (!id.empty() && body.contains("oldPassword")) {
            throttle_keys.push_back(identity::ThrottleKey(identity::ThrottleKind::kPassword, c->id, id));
            ReserveAttempt(d_, throttle_keys);
        }
        auto r = co_await d_.blocking.Call([&] {
            return identity::PrepareAuthInput(d_.records, d_.auth_records, *c, id, body, access);
        });
        if (!r) {
            ThrowApiError(req, r.error());
        }
        AttemptSucceeded(d_, throttle_keys);
        co_return std::move(*r);
    }

    net::awaitable<Response> Commit(Request& req, records::PreparedWrite w, StagedUploads staged) const {
        auto record = w.record;
        auto r = co_await AwaitWrite(d_.db, std::move(w.fn));
        if (!r) {
            if (!staged.Empty()) {
                co_await d_.blocking.Run([&] { staged.Discard(); });
            }
            ThrowApiError(req, r.error());
        }
        staged.Keep();
        const std::string expand = req.QueryParam("expand").value_or("");
        if (!expand.empty()) {
            if (auto e = d_.records.ExpandOne(req.Param("collection"), *record, expand, AccessFor(req, d_.collections));
                !e) {
                ListFailure(req, e.error());
            }
        }
        co_return JsonResponse(*record);
    }

    [[noreturn]] static void ListFailure(const Request& req, const Error& e) {
        if (e.field == "filter" || e.field == "sort" || e.field == "expand") {
            if (e.code == ErrorCode::kForbidden) {
                throw ApiError::Forbidden(e.message);
            }
            if (e.field != "expand") {
                // PocketBase's answer to a filter or sort it cannot use: the generic 400, no detail.
                throw ApiError::BadRequest();
            }
            throw ApiError::BadRequest(
                "Something went wrong while processing your request. Invalid " + e.field + " parameter.",
                {{e.field, "validation_invalid_" + e.field, Sentenize(e.message)}}
            );
        }
        ThrowApiError(req, e);
    }

    Deps d_;
    std::shared_ptr<GuestCache> guest_cache_;  // null when off
};

}  // namespace

void RegisterDataRoutes(http::Router& router, const Deps& deps) {
    auto api = std::make_shared<const DataApi>(deps);
    auto sync = [api](Response (DataApi::*fn)(Request&) const) {
        return http::SyncHandler([api, fn](Request& r) { return ((*api).*fn)(r); });
    };
    auto async = [api](net::awaitable<Response> (DataApi::*fn)(Request&) const) {
        return http::AsyncHandler([api, fn](Request& r) { return ((*api).*fn)(r); });
    };
    router.Add(Method::kGet, "/api/collections", async(&DataApi::ListCollections));
    router.Add(Method::kPost, "/api/collections", async(&DataApi::CreateCollection));
    router.Add(Method::kGet, "/api/collections/meta/scaffolds", sync(&DataApi::Scaffolds));
    router.Add(Method::kGet, "/api/collections/meta/oauth2-providers", sync(&DataApi::OAuth2Providers));
    router.Add(Method::kPost, "/api/collections/meta/dry-run-view", async(&DataApi::DryRunView));
    router.Add(Method::kPut, "/api/collections/import", async(&DataApi::ImportCollections));
    router.Add(Method::kGet, "/api/events", async(&DataApi::ListEvents));
    router.Add(Method::kGet, "/api/collections/{collection}", sync(&DataApi::ViewCollection));
    router.Add(Method::kPatch, "/api/collections/{collection}", async(&DataApi::UpdateCollection));
    router.Add(Method::kDelete, "/api/collections/{collection}", async(&DataApi::DeleteCollection));
    router.Add(Method::kDelete, "/api/collections/{collection}/truncate", async(&DataApi::TruncateCollection));
    router.Add(Method::kGet, "/api/settings", sync(&DataApi::GetSettings));
    router.Add(Method::kPatch, "/api/settings", async(&DataApi::PatchSettings));
    router.Add(Method::kGet, "/api/collections/{collection}/records", async(&DataApi::ListRecords));
    router.Add(Method::kPost, "/api/collections/{collection}/records", async(&DataApi::CreateRecord));
    router.Add(Method::kGet, "/api/collections/{collection}/records/{id}", async(&DataApi::ViewRecord));
    router.Add(Method::kPatch, "/api/collections/{collection}/records/{id}", async(&DataApi::UpdateRecord));
    router.Add(Method::kDelete, "/api/collections/{collection}/records/{id}", async(&DataApi::DeleteRecord));
    if (const auto& cache = api->Cache()) {
        deps.metrics.Add([cache](obs::Exposition& out) { cache->CollectMetrics(out); });
    }
}

}  // namespace basalt::api
