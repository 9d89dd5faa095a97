// SPDX-License-Identifier: MIT
#pragma once

#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include "api/deps.hpp"
#include "http/router.hpp"

namespace basalt::api {

/// The collections and settings APIs (superusers only) and the records API (API rules).
void RegisterDataRoutes(http::Router& router, const Deps& deps);

/// Who is asking and the request as rules see it (@request.*). Headers and query parameters are
/// gathered only when some rule in the current schema reads them.
records::Access AccessFor(
    const http::Request& req, const collections::CollectionStore& store, boost::json::object body = {}
);

/// 401 for guests, 403 for anyone but a superuser (or an API key without the admin scope).
void RequireSuperuser(const http::Request& req);

/// The integer query parameter `name` (`fallback` when absent); 400 when it is not an integer.
std::int64_t IntParam(const http::Request& req, const char* name, std::int64_t fallback);

/// Whether the query parameter `name` is true as Go's strconv.ParseBool reads it (1, t, T, true,
/// TRUE, True); absent or anything else is false.
bool BoolParam(const http::Request& req, const char* name);
/// `page` and `perPage` as PocketBase normalises them: page < 1 is 1, perPage < 1 is
/// `default_per_page`, perPage above `max_per_page` is `max_per_page`; page is also bounded so that
/// (page - 1) * perPage always fits in 64 bits (a page that far is simply empty). 400 when either is
/// not an integer.
struct Paging {
    std::int64_t page = 1;
    std::int64_t per_page = 30;
};
Paging PagingOf(const http::Request& req, std::int64_t default_per_page, std::int64_t max_per_page);

/// The query of a system table's list (collections, logs): paging, filter, sort and skipTotal.
struct TableListParams {
    Paging paging;
    std::string filter;
    std::string sort;
    bool skip_total = false;
};
TableListParams TableListParamsOf(const http::Request& req);
/// A list's failure: PocketBase's generic 400 for a filter or sort that does not compile (it shows
/// no detail either), else as ThrowApiError.
[[noreturn]] void ThrowListError(const http::Request& req, const Error& e);
/// PocketBase's list envelope around `items` (totalItems and totalPages -1 when `total` is).
http::Response ListResponse(const Paging& paging, std::int64_t total, boost::json::array items);

/// The longest `query` the view dry run and the SQL console accept (characters), as PocketBase.
inline constexpr std::size_t kMaxConsoleQuery = 5000;

/// The `query` of a view dry run or SQL console body, checked as PocketBase checks it: 400
/// "An error occurred while loading the submitted data." when it is not a string, 400 with
/// `data.query` validation_required / validation_length_too_long when empty or too long.
std::string ConsoleQuery(const boost::json::object& body);

/// A 200 with `v` as JSON.
http::Response JsonResponse(const boost::json::value& v);

/// Throws `e` as the API error it maps to; internal and unavailable ones are logged with the request id.
[[noreturn]] void ThrowApiError(const http::Request& req, const Error& e);

}  // namespace basalt::api
