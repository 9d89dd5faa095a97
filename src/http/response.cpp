// SPDX-License-Identifier: MIT
#include "http/response.hpp"

#include <map>

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

namespace {

// Field errors keyed by dotted paths ("fields.1.name") nest as objects, as PocketBase's do.
struct ErrorNode {
    const FieldError* leaf = nullptr;
    std::map<std::string, ErrorNode> children;
};

void AppendNode(std::string& out, const ErrorNode& node) {
    out.push_back('{');
    bool first = true;
    for (const auto& [key, child] : node.children) {
        if (!first) {
            out.push_back(',');
        }
        first = false;
        AppendJsonString(out, key);
        out.push_back(':');
        if (child.leaf != nullptr && child.children.empty()) {
            out += R"({"code":)";
            AppendJsonString(out, child.leaf->code);
            out += R"(,"message":)";
            AppendJsonString(out, child.leaf->message);
            if (!child.leaf->params_json.empty()) {
                out += R"(,"params":)";
                out += child.leaf->params_json;  // built by basalt: valid JSON
            }
            if (!child.leaf->response_json.empty()) {
                out += R"(,"response":)";
                out += child.leaf->response_json;  // built by basalt from an error body: valid JSON
            }
            out.push_back('}');
        } else {
            AppendNode(out, child);
        }
    }
    out.push_back('}');
}

}  // namespace

std::string ErrorBody(const ApiError& error) {
    ErrorNode root;
    for (const auto& f : error.Data()) {
        ErrorNode* node = &root;
        std::string_view path = f.field;
        for (;;) {
            const auto dot = path.find('.');
            node = &node->children[std::string(path.substr(0, dot))];
            if (dot == std::string_view::npos) {
                break;
            }
            path.remove_prefix(dot + 1);
        }
        if (node->leaf == nullptr) {
            node->leaf = &f;  // the first error of a field is the one reported, as PocketBase does
        }
    }
    std::string out = R"({"data":)";
    AppendNode(out, root);
    out += R"(,"message":)";
    AppendJsonString(out, error.Message());
    out += R"(,"status":)";
    out += std::to_string(error.Status());
    out.push_back('}');
    return out;
}

Response Response::FromApiError(const ApiError& error) {
    Response r = Json(error.Status(), ErrorBody(error));
    for (const auto& [name, value] : error.Headers()) {
        r.SetHeader(name, value);
    }
    return r;
}

}  // namespace basalt::http
