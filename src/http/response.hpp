// SPDX-License-Identifier: MIT
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "core/api_error.hpp"
#include "http/request.hpp"

namespace basalt::http {

class EventStream;

/// A complete response as handlers build it. The connection adds Content-Length, Date and
/// keep-alive handling when it writes it.
struct Response {
    int status = 200;
    HeaderList headers;
    std::string body;
    bool close = false;  // ask the connection to close after writing
    /// Set for a streamed body (server-sent events): the connection writes the headers, then what the
    /// stream produces until it ends, and closes; `body` is ignored.
    std::shared_ptr<EventStream> stream;

    void SetHeader(std::string_view name, std::string value);
    std::string_view Header(std::string_view name) const;

    /// A JSON response; `json` must already be serialized JSON.
    static Response Json(int status, std::string json);
    /// 204 No Content.
    static Response NoContent();
    /// PocketBase's error shape {"status","message","data"} for `error`.
    static Response FromApiError(const ApiError& error);
};

/// Serializes an ApiError's body: {"status":400,"message":"...","data":{"field":{"code","message"}}}.
std::string ErrorBody(const ApiError& error);

}  // namespace basalt::http
