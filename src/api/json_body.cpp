// SPDX-License-Identifier: MIT
#include "api/json_body.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "api/multipart.hpp"
#include "core/api_error.hpp"
#include "core/text.hpp"

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

// Text that is not UTF-8 would be stored as it is and break every JSON reader after it.
void RequireUtf8(const std::string& name, const std::string& value) {
    if (!IsValidUtf8(name)) {
        throw LoadError();
    }
    if (!IsValidUtf8(value)) {
        throw ApiError::BadRequest(
            "An error occurred while loading the submitted data.",
            {{name, "validation_invalid_value", "Must be valid UTF-8 text."}}
        );
    }
}

// PocketBase's inference for plain multipart values: "true"/"false" are booleans, a canonical
// number is a number, anything else a string.
boost::json::value InferValue(const std::string& text) {
    if (text == "true") {
        return true;
    }
    if (text == "false") {
        return false;
    }
    if (!text.empty() && text.size() < 32) {
        boost::system::error_code ec;
        auto v = boost::json::parse(text, ec);
        if (!ec && v.is_number() && AllFinite(v) && boost::json::serialize(v) == text) {
            return v;
        }
    }
    return boost::json::value(text);
}

boost::json::object DecodeMultipart(
    const http::Request& req, const std::string& boundary, std::vector<records::UploadedFile>* files
) {
    // A large upload was streamed to a spool file as it arrived: its file parts stay there.
    auto parts = req.body_file ? ParseMultipartFile(req.body_file, boundary) : ParseMultipart(req.body, boundary);
    if (!parts) {
        if (parts.error().code == ErrorCode::kTooLarge) {
            throw ApiError(413, "Request entity too large.");
        }
        throw LoadError();
    }
    boost::json::object out;
    for (auto& part : *parts) {
        RequireUtf8(part.name, part.filename.empty() ? part.data : std::string());
        if (!part.filename.empty() && files != nullptr) {
            RequireUtf8(part.filename, {});
            ByteSource bytes = req.body_file ? std::move(part.file) : ByteSource::InMemory(std::move(part.data));
            files->push_back({part.name, part.filename, std::move(bytes)});
            continue;
        }
        if (!part.filename.empty()) {
            throw ApiError::BadRequest(
                "File uploads are not supported yet.",
                {{part.name, "validation_file_unsupported", "File uploads are not supported yet."}}
            );
        }
        if (part.name == "@jsonPayload") {
            boost::json::object payload;
            if (!ParseJsonObject(part.data, payload)) {
                throw LoadError();
            }
            for (auto& [k, v] : payload) {
                out[k] = std::move(v);
            }
            continue;
        }
        boost::json::value v = InferValue(part.data);
        if (auto* existing = out.if_contains(part.name)) {
            // A repeated name collects its values in an array.
            if (!existing->is_array()) {
                boost::json::array a;
                a.push_back(std::move(*existing));
                *existing = std::move(a);
            }
            existing->as_array().push_back(std::move(v));
        } else {
            out[part.name] = std::move(v);
        }
    }
    return out;
}

}  // namespace

bool ParseJsonObject(std::string_view text, boost::json::object& out) {
    boost::system::error_code ec;
    boost::json::value v = ParseJson(text, ec);
    if (ec || !v.is_object() || !AllFinite(v)) {
        return false;
    }
    out = std::move(v.as_object());
    return true;
}

namespace {

boost::json::object DecodeBody(const http::Request& req, std::vector<records::UploadedFile>* files) {
    boost::json::object out;
    const std::string_view type = MediaType(req.Header("Content-Type"));
    if (http::EqualsIgnoreCase(type, "application/x-www-form-urlencoded")) {
        http::ForEachFormPair(req.body, [&](std::string_view raw_key, std::optional<std::string_view> raw_value) {
            const std::string key = http::PercentDecode(raw_key, true);
            const std::string value = raw_value ? http::PercentDecode(*raw_value, true) : std::string();
            RequireUtf8(key, value);
            out[key] = value;
            return true;
        });
        return out;
    }
    if (const std::string boundary = MultipartBoundary(req.Header("Content-Type")); !boundary.empty()) {
        return DecodeMultipart(req, boundary, files);
    }
    if (req.body.empty() || req.body.find_first_not_of(" \t\r\n") == std::string::npos) {
        return out;
    }
    if (!type.empty() && !http::EqualsIgnoreCase(type, "application/json")) {
        throw LoadError();
    }
    boost::system::error_code ec;
    boost::json::value v = ParseJson(req.body, ec);
    if (ec || !v.is_object()) {
        throw LoadError();
    }
    out = std::move(v.as_object());
    // 1e400 parses as infinity, which no JSON reader downstream can take: named per field.
    std::vector<FieldError> errors;
    for (const auto& [k, member] : out) {
        if (!AllFinite(member)) {
            errors.push_back({std::string(k), "validation_invalid_number", "Must be a finite number."});
        }
    }
    if (!errors.empty()) {
        throw ApiError::BadRequest("An error occurred while loading the submitted data.", std::move(errors));
    }
    return out;
}

}  // namespace

boost::json::object DecodeJsonObject(const http::Request& req) {
    return DecodeBody(req, nullptr);
}

boost::json::object DecodeRecordBody(const http::Request& req, std::vector<records::UploadedFile>& files) {
    return DecodeBody(req, &files);
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
