// SPDX-License-Identifier: MIT
#pragma once

#include <string_view>

#include <boost/json/value.hpp>

#include "core/result.hpp"
#include "http/router.hpp"

namespace basalt::api {

/// PocketBase's `fields` query parameter: a comma list of dot paths, `*` for every key at a depth,
/// and the modifier `:excerpt(maxLength[, withEllipsis])` (text without HTML, cut to maxLength).
/// Returns the picked value; kInvalidArgument on a malformed list.
Result<boost::json::value> PickFields(const boost::json::value& value, std::string_view fields);

/// Applies `fields` to every successful JSON response (to each item of a list envelope), as
/// PocketBase does; error responses are never picked.
class FieldsMiddleware final : public http::Middleware {
public:
    void After(const http::Request& req, http::Response& res) override;
};

}  // namespace basalt::api
