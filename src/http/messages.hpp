// SPDX-License-Identifier: MIT
// Internal to the http module (Beast types): converting between Beast's messages and basalt's
// Request/Response, the request limits and framing rules, and the errors the connection answers
// itself.
#pragma once

#include <cstdint>
#include <string>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "config/config.hpp"
#include "http/request.hpp"
#include "http/response.hpp"
#include "http/response_head.hpp"

namespace basalt::http {

using Parser = boost::beast::http::request_parser<boost::beast::http::string_body>;

Method ToMethod(boost::beast::http::verb v);

/// Converts Beast's parsed request head into basalt's Request (the body is set apart). False when
/// the request-target is not in origin form ("/path?query").
bool BuildRequest(const boost::beast::http::request_header<>& msg, Request& req);

/// RFC 9112 6.3: a request with Transfer-Encoding must end its codings with chunked (the only
/// coding basalt reads), name no other coding, and carry no Content-Length beside it.
bool FramingIsSound(const boost::beast::http::request_header<>& msg);

/// An error the connection answers itself (before the router): malformed or over-limit requests;
/// the connection closes after it.
Response ProtocolError(int status, std::string message);
Response ResponseForParseError(const boost::system::error_code& ec);

/// The header parser allows the larger upload limit when uploads may be spooled; a body kept in
/// memory is held to max_body_bytes once its head is known.
void ApplyLimits(Parser& parser, const config::HttpConfig& cfg);

/// The framing of `res` with a body of `body_size` bytes: a Content-Length unless its status has no
/// body (1xx, 204, 304; a HEAD response keeps it).
Framing FramingOf(const Response& res, std::uint64_t body_size, bool keep_alive);

}  // namespace basalt::http
