// SPDX-License-Identifier: MIT
// Internal to the http module (Beast types): request bodies streamed to a spool file, response
// bodies streamed from a BodyReader; the disk work on a small pool, never on an I/O thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "config/config.hpp"
#include "core/spool_file.hpp"
#include "http/response.hpp"

namespace basalt::http {

using SpoolParser = boost::beast::http::request_parser<boost::beast::http::buffer_body>;

/// Whether the body announced by `header` is streamed to a spool file rather than kept in memory:
/// spooling is configured, the body is multipart/form-data (uploads), and it is chunked or longer
/// than cfg.spool_threshold_bytes.
bool ShouldSpool(
    const boost::beast::http::request_header<>& header,
    bool chunked,
    std::uint64_t content_length,
    const config::HttpConfig& cfg
);

/// Reads the rest of the body into a new spool file in cfg.spool_dir, one buffer at a time (the
/// file is written on `disk`, never on the I/O thread), at most cfg.max_upload_bytes in all.
/// `deadline` is moved on as bytes arrive: a slow but steady upload is not cut off, a stalled one
/// is. On a read error (`ec` set, the peer gone, the limit hit) or a disk error (`ec` set to
/// io_error) the file is dropped: nothing of the body stays on disk.
boost::asio::awaitable<std::shared_ptr<SpoolFile>> ReadBodyToSpool(
    boost::asio::ip::tcp::socket& socket,
    boost::beast::flat_buffer& buffer,
    SpoolParser& parser,
    const config::HttpConfig& cfg,
    boost::asio::thread_pool& disk,
    std::chrono::steady_clock::time_point& deadline,
    boost::system::error_code& ec
);

/// All of `reader`'s bytes when it is at most `max_bytes` long and they are at hand without waiting
/// (ReadAtIfReady), so a small cached file goes out in one write with its head; nullopt otherwise
/// (nothing is consumed: the reader is read by offset).
std::optional<std::string> ReadWholeIfReady(BodyReader& reader, std::uint64_t max_bytes);

/// Writes `reader`'s bytes after the head was written: a piece at a time, each read first where it
/// is at hand (ReadAtIfReady, on this thread) and otherwise on `disk`. `deadline` is moved on by
/// `write_timeout` before each write. `ec` on a write error, or io_error when the reader fails or
/// ends early (the connection must then close: the Content-Length was promised).
boost::asio::awaitable<void> WriteBodyFromReader(
    boost::asio::ip::tcp::socket& socket,
    BodyReader& reader,
    boost::asio::thread_pool& disk,
    std::chrono::milliseconds write_timeout,
    std::chrono::steady_clock::time_point& deadline,
    boost::system::error_code& ec
);

}  // namespace basalt::http
