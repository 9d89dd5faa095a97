// SPDX-License-Identifier: MIT
// basalt's API keys (superusers): POST/GET /api/keys, DELETE /api/keys/{id}.
#include "api/auth_common.hpp"
#include "api/json_body.hpp"
#include "auth/scopes.hpp"
#include "identity/api_keys.hpp"
#include "records/codec.hpp"

namespace basalt::api::authapi {

namespace {

namespace json = boost::json;
using http::Request;
using http::Response;

json::object ApiKeyJson(const identity::ApiKey& k) {
    json::array scopes;
    for (const auto& s : k.scopes) {
        scopes.emplace_back(s);
    }
    return json::object{
        {"id", k.id},
        {"name", k.name},
        {"collectionId", k.collection_id},
        {"recordId", k.record_id},
        {"prefix", k.prefix},
        {"scopes", std::move(scopes)},
        {"expires", k.expires},
        {"created", k.created},
        {"lastUsed", k.last_used},
    };
}

// A new key's request, validated: name, auth collection, scopes, a future expiry.
struct NewKey {
    std::string name;
    const schema::Collection* collection = nullptr;
    std::string record_id;
    std::vector<std::string> scopes;
    std::string expires;
};

NewKey DecodeNewKey(const Deps& d, const json::object& body, const collections::Snapshot& snap) {
    NewKey k;
    std::vector<FieldError> errors;
    k.name = StringField(body, "name");
    if (k.name.size() > 255) {
        errors.push_back({"name", "validation_length_out_of_range", "The length must be at most 255."});
    }
    k.collection = snap.Find(StringField(body, "collection"));
    if (k.collection == nullptr || k.collection->type != schema::CollectionType::kAuth) {
        errors.push_back({"collection", "validation_invalid_collection", "Must be an auth collection."});
    }
    k.record_id = StringField(body, "recordId");
    if (const auto* v = body.if_contains("scopes"); v != nullptr && v->is_array()) {
        for (const auto& s : v->as_array()) {
            k.scopes.emplace_back(s.is_string() ? std::string(s.as_string()) : std::string("?"));
        }
    }
    if (auto ok = auth::ValidateScopes(k.scopes); !ok) {
        errors.push_back({"scopes", "validation_invalid_scopes", ok.error().message});
    }
    k.expires = StringField(body, "expires");
    if (!k.expires.empty()) {
        auto normalized = records::NormalizeDate(k.expires);
        if (!normalized || *normalized <= FormatDateTime(d.clock.Now())) {
            errors.push_back({"expires", "validation_invalid_date", "Must be a date in the future."});
        } else {
            k.expires = *normalized;
        }
    }
    if (!errors.empty()) {
        throw ApiError::BadRequest("An error occurred while validating the submitted data.", std::move(errors));
    }
    return k;
}

net::awaitable<Response> CreateKey(const Deps& d, Request& req) {
    RequireAdmin(req);
    const json::object body = DecodeJsonObject(req);
    const auto snap = d.collections.Current();
    const NewKey k = DecodeNewKey(d, body, *snap);
    const schema::Collection collection = *k.collection;
    using Created = std::pair<identity::ApiKey, std::string>;
    auto created = co_await Blocking<Created>(d, req, [&]() -> Result<Created> {
        BASALT_ASSIGN_OR_RETURN(auto rec, d.auth_records.FindById(collection, k.record_id));
        if (!rec.has_value()) {
            return ValidationError(
                "An error occurred while validating the submitted data.",
                {{"recordId", "validation_missing_record", "The record does not exist."}}
            );
        }
        return d.api_keys.Create(k.name, collection, k.record_id, k.scopes, k.expires);
    });
    json::object out = ApiKeyJson(created.first);
    out["key"] = created.second;  // shown once
    co_return JsonResponse(out);
}

net::awaitable<Response> ListKeys(const Deps& d, Request& req) {
    RequireAdmin(req);
    const auto list = co_await Blocking<std::vector<identity::ApiKey>>(d, req, [&] { return d.api_keys.List(); });
    json::array items;
    for (const auto& k : list) {
        items.emplace_back(ApiKeyJson(k));
    }
    co_return JsonResponse(json::object{{"items", std::move(items)}});
}

net::awaitable<Response> RevokeKey(const Deps& d, Request& req) {
    RequireAdmin(req);
    const std::string id(req.Param("id"));
    std::optional<Result<void>> r;
    co_await d.blocking.Run([&] { r.emplace(d.api_keys.Revoke(id)); });
    if (!*r) {
        if (r->error().code == ErrorCode::kNotFound) {
            throw ApiError::NotFound();
        }
        ThrowApiError(req, r->error());
    }
    co_return Response::NoContent();
}

}  // namespace

void RegisterKeyRoutes(http::Router& router, const std::shared_ptr<const Deps>& d) {
    using http::Method;
    router.Add(Method::kPost, "/api/keys", Async(d, &CreateKey));
    router.Add(Method::kGet, "/api/keys", Async(d, &ListKeys));
    router.Add(Method::kDelete, "/api/keys/{id}", Async(d, &RevokeKey));
}

}  // namespace basalt::api::authapi
