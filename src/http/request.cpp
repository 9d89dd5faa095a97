// SPDX-License-Identifier: MIT
#include "http/request.hpp"

namespace basalt::http {

namespace {

int HexValue(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

}  // namespace

std::string_view MethodName(Method m) {
    switch (m) {
        case Method::kGet:
            return "GET";
        case Method::kHead:
            return "HEAD";
        case Method::kPost:
            return "POST";
        case Method::kPut:
            return "PUT";
        case Method::kPatch:
            return "PATCH";
        case Method::kDelete:
            return "DELETE";
        case Method::kOptions:
            return "OPTIONS";
        case Method::kOther:
            break;
    }
    return "OTHER";
}

Method ParseMethod(std::string_view name) {
    if (name == "GET") {
        return Method::kGet;
    }
    if (name == "POST") {
        return Method::kPost;
    }
    if (name == "HEAD") {
        return Method::kHead;
    }
    if (name == "PATCH") {
        return Method::kPatch;
    }
    if (name == "DELETE") {
        return Method::kDelete;
    }
    if (name == "PUT") {
        return Method::kPut;
    }
    if (name == "OPTIONS") {
        return Method::kOptions;
    }
    return Method::kOther;
}

std::string_view Request::Header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
        if (EqualsIgnoreCase(k, name)) {
            return v;
        }
    }
    return {};
}

bool Request::HasHeader(std::string_view name) const {
    for (const auto& [k, v] : headers) {
        if (EqualsIgnoreCase(k, name)) {
            return true;
        }
    }
    return false;
}

std::string_view Request::Param(std::string_view name) const {
    for (const auto& [k, v] : params) {
        if (k == name) {
            return v;
        }
    }
    return {};
}

std::optional<std::string> Request::QueryParam(std::string_view name) const {
    return FormValue(query, name);
}

std::optional<std::string> FormValue(std::string_view text, std::string_view name) {
    std::optional<std::string> found;
    ForEachFormPair(text, [&](std::string_view key, std::optional<std::string_view> value) {
        if (PercentDecode(key, true) != name) {
            return true;
        }
        found = value ? PercentDecode(*value, true) : std::string();
        return false;
    });
    return found;
}

std::string PercentDecode(std::string_view in, bool plus_as_space) {
    std::string out;
    out.reserve(in.size());
    for (std::size_t i = 0; i < in.size(); ++i) {
        const char c = in[i];
        if (c == '%' && i + 2 < in.size()) {
            const int hi = HexValue(in[i + 1]);
            const int lo = HexValue(in[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out.push_back(static_cast<char>(hi * 16 + lo));
                i += 2;
                continue;
            }
        }
        out.push_back(plus_as_space && c == '+' ? ' ' : c);
    }
    return out;
}

}  // namespace basalt::http
