// SPDX-License-Identifier: MIT
// The bytes of a response's head (status line and header fields), written by the connection in the
// same write as a body it has at hand.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "http/response.hpp"

namespace basalt::http {

/// How the head frames what follows it. The connection owns these fields: a handler's own
/// Content-Length, Transfer-Encoding, Connection or Date is dropped.
struct Framing {
    std::optional<std::uint64_t> content_length;  // nullopt: none sent (204, 304, 1xx, a stream)
    bool keep_alive = true;                       // false: the connection closes after this response
    bool chunked = false;                         // Transfer-Encoding: chunked (a stream to an HTTP/1.1 client)
};

/// "HTTP/1.x <status> <reason>", the response's header fields in order, Date, then the framing
/// fields, and the blank line. A header whose name is not an RFC 9110 token or whose value holds a
/// CR, LF or NUL is dropped (no handler can split a response).
std::string SerializeHead(const Response& res, unsigned version, std::string_view date, const Framing& framing);

}  // namespace basalt::http
