// SPDX-License-Identifier: MIT
#pragma once

#include <boost/json/object.hpp>

#include "core/json.hpp"
#include "http/request.hpp"
#include "records/files.hpp"

namespace basalt::api {

/// Decodes the request body as a JSON object (an empty body is an empty object). Accepts
/// application/json, application/x-www-form-urlencoded and multipart/form-data (plain values
/// inferred as PocketBase does; an `@jsonPayload` part's object merged in; file parts refused). Throws ApiError 400
/// "An error occurred while loading the submitted data." on malformed input, non-objects, nesting deeper than
/// kMaxJsonDepth, numbers out of range (1e400), text that is not UTF-8 (also in form and multipart
/// values), or another content type.
boost::json::object DecodeJsonObject(const http::Request& req);

/// DecodeJsonObject for a record create or update: the file parts of a multipart body go to `files`
/// (their part name, original file name and bytes) instead of being refused.
boost::json::object DecodeRecordBody(const http::Request& req, std::vector<records::UploadedFile>& files);

/// Parses `text` as a JSON object with the same limits; false when it is not one.
bool ParseJsonObject(std::string_view text, boost::json::object& out);

/// A string member, or empty when missing; throws ApiError 400 naming the field when it has another type.
std::string StringField(const boost::json::object& body, std::string_view name);

}  // namespace basalt::api
