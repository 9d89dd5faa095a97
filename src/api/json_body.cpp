// SPDX-License-Identifier: MIT
#include "api/json_body.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>

#include "core/api_error.hpp"

namespace basalt::api {

namespace {

ApiError LoadError() {
    return ApiError::BadRequest("An error occurred while loading the submitted data.");
}

std::string_view MediaType(std::string_view content_type) {
    const auto semi = content_type.find(';');
    std::string_view t = content_type.substr(0, semi);
    while (!t.empty() && t.back() == ' ') {
        t.remove_suffix(1);
    }
    return t;
}

}  // namespace

bool ParseJsonObject(std::string_view text, boost::json::object& out) {
    boost::json::parse_options opts;
    opts.max_depth = kMaxJsonDepth;
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(text, ec, {}, opts);
    if (ec || !v.is_object()) {
        return false;
    }
    out = std::move(v.as_object());
    return true;
}

boost::json::object DecodeJsonObject(const http::Request& req) {
    boost::json::object out;
    const std::string_view type = MediaType(req.Header("Content-Type"));
    if (http::EqualsIgnoreCase(type, "application/x-www-form-urlencoded")) {
        std::string_view q = req.body;
        while (!q.empty()) {
            const auto amp = q.find('&');
            const std::string_view pair = q.substr(0, amp);
            q = amp == std::string_view::npos ? std::string_view{} : q.substr(amp + 1);
            if (pair.empty()) {
                continue;
            }
            const auto eq = pair.find('=');
            const std::string key = http::PercentDecode(pair.substr(0, eq), true);
            const std::string value =
                eq == std::string_view::npos ? "" : http::PercentDecode(pair.substr(eq + 1), true);
            out[key] = value;
        }
        return out;
    }
    if (req.body.empty() || req.body.find_first_not_of(" \t\r\n") == std::string::npos) {
        return out;
    }
    if (!type.empty() && !http::EqualsIgnoreCase(type, "application/json")) {
        throw LoadError();
    }
    if (!ParseJsonObject(req.body, out)) {
        throw LoadError();
    }
    return out;
}

std::string StringField(const boost::json::object& body, std::string_view name) {
    const auto* v = body.if_contains(name);
    if (v == nullptr || v->is_null()) {
        return {};
    }
    if (!v->is_string()) {
        throw ApiError::BadRequest(
            "An error occurred while loading the submitted data.",
            {{std::string(name), "validation_invalid_value", "Must be a string."}}
        );
    }
    return std::string(v->as_string());
}

}  // namespace basalt::api
