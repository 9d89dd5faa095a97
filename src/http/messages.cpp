// SPDX-License-Identifier: MIT
#include "http/messages.hpp"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>

#include "core/text.hpp"
#include "http/router.hpp"
#include "http/server.hpp"

namespace basalt::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;

Method ToMethod(bhttp::verb v) {
    switch (v) {
        case bhttp::verb::get:
            return Method::kGet;
        case bhttp::verb::head:
            return Method::kHead;
        case bhttp::verb::post:
            return Method::kPost;
        case bhttp::verb::put:
            return Method::kPut;
        case bhttp::verb::patch:
            return Method::kPatch;
        case bhttp::verb::delete_:
            return Method::kDelete;
        case bhttp::verb::options:
            return Method::kOptions;
        default:
            return Method::kOther;
    }
}

// Converts Beast's parsed request head into basalt's Request (the body is set apart). Returns false
// when the request-target is not in origin form ("/path?query").
bool BuildRequest(const bhttp::request_header<>& msg, Request& req) {
    req.method = ToMethod(msg.method());
    req.method_name = std::string(msg.method_string());
    req.target = std::string(msg.target());
    if (req.target.empty() || req.target.front() != '/') {
        return false;
    }
    const auto q = req.target.find('?');
    req.path = req.target.substr(0, q);
    if (q != std::string::npos) {
        req.query = req.target.substr(q + 1);
    }
    req.headers.reserve(8);
    for (const auto& field : msg) {
        req.headers.emplace_back(std::string(field.name_string()), std::string(field.value()));
    }
    return true;
}

// RFC 9112 6.3: a request with Transfer-Encoding must end its codings with chunked (the only
// coding basalt reads), name no other coding, and carry no Content-Length beside it.
bool FramingIsSound(const bhttp::request_header<>& msg) {
    const auto te = msg.find(bhttp::field::transfer_encoding);
    if (te == msg.end()) {
        return true;
    }
    if (msg.count(bhttp::field::transfer_encoding) != 1 || msg.count(bhttp::field::content_length) != 0) {
        return false;
    }
    // Exactly "chunked" (any case, optional surrounding whitespace): gzip, chunked and the like are
    // codings basalt does not decode.
    std::string_view v = te->value();
    while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) {
        v.remove_prefix(1);
    }
    while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) {
        v.remove_suffix(1);
    }
    return v.size() == 7 && beast::iequals(v, "chunked");
}

// An error the connection answers itself (before the router): malformed or over-limit requests.
Response ProtocolError(int status, std::string message) {
    Response r = Response::FromApiError(ApiError(status, std::move(message)));
    r.close = true;
    return r;
}

Response ResponseForParseError(const boost::system::error_code& ec) {
    if (ec == bhttp::error::header_limit) {
        return ProtocolError(431, "Request header fields too large.");
    }
    if (ec == bhttp::error::body_limit) {
        return ProtocolError(413, "Request entity too large.");
    }
    return ProtocolError(400, "Malformed HTTP request.");
}

// The header parser allows the larger upload limit when uploads may be spooled; a body kept in
// memory is held to max_body_bytes once its head is known (ReadBody).
void ApplyLimits(Parser& parser, const config::HttpConfig& cfg) {
    parser.header_limit(static_cast<std::uint32_t>(cfg.max_header_bytes));
    parser.body_limit(cfg.spool_dir.empty() ? cfg.max_body_bytes : std::max(cfg.max_body_bytes, cfg.max_upload_bytes));
}

namespace {

bool IsTokenChar(char c) {
    const auto u = static_cast<unsigned char>(c);
    return std::isalnum(u) != 0 || std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool SafeField(std::string_view name, std::string_view value) {
    if (name.empty() || !std::all_of(name.begin(), name.end(), IsTokenChar)) {
        return false;
    }
    return value.find_first_of(std::string_view("\r\n\0", 3)) == std::string_view::npos;
}

// The fields the connection frames the message with; a handler's own are dropped.
bool FramingField(std::string_view name) {
    return EqualsIgnoreCase(name, "Content-Length") || EqualsIgnoreCase(name, "Transfer-Encoding") ||
           EqualsIgnoreCase(name, "Connection") || EqualsIgnoreCase(name, "Date");
}

}  // namespace

std::string SerializeHead(const Response& res, unsigned version, std::string_view date, const Framing& framing) {
    const std::string_view reason = bhttp::obsolete_reason(static_cast<bhttp::status>(res.status));
    std::string head;
    head.reserve(256);
    head += version >= 11 ? "HTTP/1.1 " : "HTTP/1.0 ";
    head += std::to_string(res.status);
    head += ' ';
    head += reason;
    head += "\r\n";
    for (const auto& [name, value] : res.headers) {
        if (!SafeField(name, value) || FramingField(name)) {
            continue;
        }
        head += name;
        head += ": ";
        head += value;
        head += "\r\n";
    }
    if (!date.empty()) {
        head += "Date: ";
        head += date;
        head += "\r\n";
    }
    if (framing.content_length) {
        head += "Content-Length: ";
        head += std::to_string(*framing.content_length);
        head += "\r\n";
    }
    if (framing.chunked) {
        head += "Transfer-Encoding: chunked\r\n";
    }
    if (!framing.keep_alive) {
        head += "Connection: close\r\n";
    } else if (framing.keep_alive && version < 11) {
        head += "Connection: keep-alive\r\n";
    }
    head += "\r\n";
    return head;
}

Framing FramingOf(const Response& res, std::uint64_t body_size, bool keep_alive) {
    const bool no_body = res.status == 204 || res.status == 304 || (res.status >= 100 && res.status < 200);
    Framing f;
    if (!no_body) {
        f.content_length = body_size;
    }
    f.keep_alive = keep_alive;
    return f;
}

Response HandleRawRequestForTest(const Router& router, const config::HttpConfig& config, std::string_view raw) {
    Parser parser;
    ApplyLimits(parser, config);
    parser.eager(true);
    boost::system::error_code ec;
    std::size_t used = 0;
    while (!ec && !parser.is_done() && used < raw.size()) {
        used += parser.put(net::buffer(raw.data() + used, raw.size() - used), ec);
        if (ec == bhttp::error::need_more) {
            ec = {};
            break;
        }
    }
    if (!ec && !parser.is_done()) {
        if (!parser.got_some()) {
            return ProtocolError(400, "Malformed HTTP request.");
        }
        parser.put_eof(ec);
    }
    if (ec) {
        return ResponseForParseError(ec);
    }
    Request req;
    req.started = std::chrono::steady_clock::now();
    req.remote_ip = "127.0.0.1";
    req.peer_ip = "127.0.0.1";
    if (!BuildRequest(parser.get().base(), req)) {
        return ProtocolError(400, "Malformed HTTP request.");
    }
    req.body = std::move(parser.get().body());
    if (auto sync = router.TryDispatchSync(req)) {
        return std::move(*sync);
    }
    net::io_context ioc;
    Response out;
    net::co_spawn(
        ioc,
        [](const Router& r, Request& q, Response& o) -> net::awaitable<void> {
            o = co_await r.Dispatch(q);
        }(router, req, out),
        net::detached
    );
    ioc.run();
    return out;
}

}  // namespace basalt::http
