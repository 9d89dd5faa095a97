// SPDX-License-Identifier: MIT
#include "api/realtime_handlers.hpp"

#include <boost/json/serialize.hpp>

#include "api/data_handlers.hpp"
#include "api/handlers.hpp"
#include "api/json_body.hpp"
#include "api/routes.hpp"
#include "http/event_stream.hpp"

namespace basalt::api {

namespace json = boost::json;

namespace {

constexpr std::size_t kMaxRealtimeBody = 4 << 20;  // 1000 topics of 2500 characters, with room

// The page the OAuth2 provider sends the browser to: the popup has done its job.
std::string RedirectPage(bool ok) {
    std::string page = "<!doctype html><html><head><meta charset=\"utf-8\"><title>OAuth2</title></head><body><p>";
    page += ok ? "Signed in. You can close this window." : "The sign-in failed. You can close this window.";
    page += "</p><script>window.close()</script></body></html>";
    return page;
}

// How a client's credentials are checked again after its auth record changes.
std::function<std::shared_ptr<const auth::Principal>()> Reauth(const Deps& deps, std::string token) {
    if (token.empty()) {
        return nullptr;
    }
    const bool key = identity::ApiKeyStore::IsKey(token);
    return [&tokens = deps.tokens, &keys = deps.api_keys, token = std::move(token), key]() {
        auto p = key ? keys.Authenticate(token) : tokens.Authenticate(token, true);
        return p ? *p : nullptr;
    };
}

}  // namespace

void RegisterRealtimeRoutes(http::Router& router, const Deps& deps) {
    using http::Method;
    router.Add(Method::kGet, "/api/realtime", http::SyncHandler([deps](http::Request& req) {
                   std::string client_id;
                   http::Response res;
                   res.stream = deps.realtime.Connect(req.remote_ip, &client_id);
                   res.SetHeader("Content-Type", "text/event-stream");
                   res.SetHeader("Cache-Control", "no-store");
                   res.SetHeader("X-Accel-Buffering", "no");
                   return res;
               }));

    router.Add(Method::kPost, "/api/realtime", http::SyncHandler([deps](http::Request& req) {
                   if (req.body.size() > kMaxRealtimeBody) {
                       throw ApiError(413, "Request entity too large.");
                   }
                   const json::object body = DecodeJsonObject(req);
                   const json::value* id = body.if_contains("clientId");
                   if (id == nullptr || !id->is_string() || id->as_string().empty()) {
                       throw ApiError::BadRequest(
                           "Failed to load the submitted data due to invalid formatting.",
                           {{"clientId", "validation_required", "Cannot be blank."}}
                       );
                   }
                   std::vector<std::string> topics;
                   if (const json::value* subs = body.if_contains("subscriptions");
                       subs != nullptr && !subs->is_null()) {
                       if (!subs->is_array()) {
                           throw ApiError::BadRequest(
                               "Failed to load the submitted data due to invalid formatting.",
                               {{"subscriptions", "validation_invalid_value", "Must be a list of topics."}}
                           );
                       }
                       for (const auto& t : subs->as_array()) {
                           if (!t.is_string()) {
                               throw ApiError::BadRequest(
                                   "Failed to load the submitted data due to invalid formatting.",
                                   {{"subscriptions", "validation_invalid_value", "Must be a list of topics."}}
                               );
                           }
                           topics.emplace_back(t.as_string());
                       }
                   }
                   realtime::ClientAuth auth;
                   if (RequestAuth(req) != nullptr) {
                       auth.principal = std::any_cast<std::shared_ptr<const auth::Principal>>(req.auth);
                       auth.reauth = Reauth(deps, std::string(BearerToken(req)));
                   }
                   auto r = deps.realtime.SetSubscriptions(id->as_string(), req.remote_ip, topics, std::move(auth));
                   if (!r) {
                       ThrowApiError(req, r.error());
                   }
                   return http::Response::NoContent();
               }));

    auto redirect = http::SyncHandler([deps](http::Request& req) {
        // The provider answers with a query (GET) or a form (POST, response_mode=form_post).
        http::Request form;
        form.query = req.method == Method::kPost ? req.body : req.query;
        const std::string state = form.QueryParam("state").value_or("");
        const std::string code = form.QueryParam("code").value_or("");
        const std::string error = form.QueryParam("error").value_or("");
        json::object msg;
        msg["state"] = state;
        msg["code"] = code;
        msg["error"] = error;
        const bool delivered = !state.empty() && deps.realtime.SendTo(state, "@oauth2", json::serialize(msg));
        http::Response res;
        res.status = delivered ? 200 : 400;
        res.SetHeader("Content-Type", "text/html; charset=utf-8");
        res.SetHeader("Cache-Control", "no-store");
        res.body = RedirectPage(delivered && error.empty() && !code.empty());
        return res;
    });
    router.Add(Method::kGet, "/api/oauth2-redirect", redirect);
    router.Add(Method::kPost, "/api/oauth2-redirect", redirect);
}

}  // namespace basalt::api
