// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>

#include "core/api_error.hpp"
#include "core/result.hpp"
#include "http/request.hpp"

namespace basalt::http {

class EventStream;

/// A response body the connection reads a piece at a time (a file) instead of holding it whole.
class BodyReader {
public:
    virtual ~BodyReader() = default;
    /// The body's length (the Content-Length sent).
    virtual std::uint64_t Size() const = 0;
    /// Up to out.size() bytes at `offset` of the body; may wait for a disk (called on a disk thread).
    virtual Result<std::size_t> ReadAt(std::uint64_t offset, std::span<char> out) = 0;
    /// The same when the bytes are at hand without waiting, nullopt otherwise (called on the I/O
    /// thread first, so a cached file costs no thread hop).
    virtual std::optional<Result<std::size_t>> ReadAtIfReady(std::uint64_t offset, std::span<char> out) = 0;
};

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
    /// Set for a body read in pieces (a downloaded file): Content-Length is its Size(), the connection
    /// writes it 256 KiB at a time, reading off the I/O thread when the bytes are not cached; `body`
    /// is ignored.
    std::shared_ptr<BodyReader> body_reader;

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
