// SPDX-License-Identifier: MIT
#include "api/fields_picker.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "core/json.hpp"
#include "records/fields_picker.hpp"

namespace basalt::api {

namespace json = boost::json;
using records::PickFields;

void FieldsMiddleware::After(const http::Request& req, http::Response& res) {
    if (res.status < 200 || res.status >= 300 || res.body.empty() || req.query.find("fields=") == std::string::npos) {
        return;
    }
    const auto fields = req.QueryParam("fields");
    if (!fields || fields->empty() || res.Header("Content-Type") != "application/json") {
        return;
    }
    boost::system::error_code ec;
    json::value body = ParseJson(res.body, ec);
    if (ec) {
        return;
    }
    // A list envelope keeps its keys; the picker applies to each item.
    json::value* target = &body;
    if (body.is_object() && body.as_object().contains("items") && body.as_object().contains("perPage")) {
        target = &body.as_object()["items"];
    }
    auto picked = PickFields(*target, *fields);
    if (!picked) {
        throw ApiError::BadRequest(
            "Invalid fields parameter.", {{"fields", "validation_invalid_fields", Sentenize(picked.error().message)}}
        );
    }
    *target = std::move(*picked);
    res.body = json::serialize(body);
}

}  // namespace basalt::api
