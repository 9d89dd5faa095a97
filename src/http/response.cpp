// SPDX-License-Identifier: MIT
#include "http/response.hpp"

#include "core/json_text.hpp"

namespace basalt::http {

void Response::SetHeader(std::string_view name, std::string value) {
    for (auto& [k, v] : headers) {
        if (EqualsIgnoreCase(k, name)) {
            v = std::move(value);
            return;
        }
    }
    headers.emplace_back(std::string(name), std::move(value));
}

std::string_view Response::Header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
        if (EqualsIgnoreCase(k, name)) {
            return v;
        }
    }
    return {};
}

Response Response::Json(int status, std::string json) {
    Response r;
    r.status = status;
    r.body = std::move(json);
    r.headers.emplace_back("Content-Type", "application/json");
    return r;
}

Response Response::NoContent() {
    Response r;
    r.status = 204;
    return r;
}

std::string ErrorBody(const ApiError& error) {
    std::string out = R"({"data":{)";
    bool first = true;
    for (const auto& f : error.Data()) {
        if (!first) {
            out.push_back(',');
        }
        first = false;
        AppendJsonString(out, f.field);
        out += R"(:{"code":)";
        AppendJsonString(out, f.code);
        out += R"(,"message":)";
        AppendJsonString(out, f.message);
        out.push_back('}');
    }
    out += R"(},"message":)";
    AppendJsonString(out, error.Message());
    out += R"(,"status":)";
    out += std::to_string(error.Status());
    out.push_back('}');
    return out;
}

Response Response::FromApiError(const ApiError& error) {
    return Json(error.Status(), ErrorBody(error));
}

}  // namespace basalt::http
