// SPDX-License-Identifier: MIT
#include "http/body_io.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>

namespace basalt::http {

namespace net = boost::asio;
namespace bhttp = boost::beast::http;

namespace {

// What one read may gather before it is written out: large enough that the disk thread is woken
// rarely, small enough that thousands of uploads hold little memory.
constexpr std::size_t kSpoolBuffer = std::size_t{256} * 1024;

// Runs `fn` on `pool` and resumes the caller on its own executor once it returned.
template <typename F>
net::awaitable<void> OnPool(net::thread_pool& pool, F&& fn) {
    co_await net::co_spawn(
        pool,
        [&]() -> net::awaitable<void> {
            fn();
            co_return;
        },
        net::use_awaitable
    );
}

}  // namespace

bool ShouldSpool(
    const bhttp::request_header<>& header, bool chunked, std::uint64_t content_length, const config::HttpConfig& cfg
) {
    if (cfg.spool_dir.empty() || (!chunked && content_length <= cfg.spool_threshold_bytes)) {
        return false;
    }
    const auto type = header[bhttp::field::content_type];
    constexpr std::string_view kMultipart = "multipart/form-data";
    return type.size() >= kMultipart.size() && boost::beast::iequals(type.substr(0, kMultipart.size()), kMultipart);
}

net::awaitable<std::shared_ptr<SpoolFile>> ReadBodyToSpool(
    net::ip::tcp::socket& socket,
    boost::beast::flat_buffer& buffer,
    SpoolParser& parser,
    const config::HttpConfig& cfg,
    net::thread_pool& disk,
    std::chrono::steady_clock::time_point& deadline,
    boost::system::error_code& ec
) {
    parser.body_limit(cfg.max_upload_bytes);
    std::optional<Result<std::shared_ptr<SpoolFile>>> created;
    co_await OnPool(disk, [&] { created.emplace(SpoolFile::Create(cfg.spool_dir)); });
    if (!*created) {
        ec = make_error_code(boost::system::errc::io_error);
        co_return nullptr;
    }
    std::shared_ptr<SpoolFile> file = std::move(**created);
    std::string chunk(kSpoolBuffer, '\0');
    while (!parser.is_done()) {
        parser.get().body().data = chunk.data();
        parser.get().body().size = chunk.size();
        deadline = std::chrono::steady_clock::now() + cfg.body_timeout;
        co_await bhttp::async_read(socket, buffer, parser, net::redirect_error(net::use_awaitable, ec));
        if (ec == bhttp::error::need_buffer) {
            ec = {};
        }
        if (ec) {
            co_return nullptr;
        }
        const std::size_t n = chunk.size() - parser.get().body().size;
        if (n == 0) {
            continue;
        }
        Result<void> written = Ok();
        co_await OnPool(disk, [&] { written = file->Append(std::string_view(chunk.data(), n)); });
        if (!written) {
            ec = make_error_code(boost::system::errc::io_error);
            co_return nullptr;
        }
    }
    co_return file;
}

std::optional<std::string> ReadWholeIfReady(BodyReader& reader, std::uint64_t max_bytes) {
    const std::uint64_t size = reader.Size();
    if (size > max_bytes) {
        return std::nullopt;
    }
    std::string bytes(static_cast<std::size_t>(size), '\0');
    for (std::size_t done = 0; done < bytes.size();) {
        const auto got = reader.ReadAtIfReady(done, std::span<char>(bytes.data() + done, bytes.size() - done));
        if (!got || !*got || **got == 0) {
            return std::nullopt;
        }
        done += **got;
    }
    return bytes;
}

net::awaitable<void> WriteBodyFromReader(
    net::ip::tcp::socket& socket,
    BodyReader& reader,
    net::thread_pool& disk,
    std::chrono::milliseconds write_timeout,
    std::chrono::steady_clock::time_point& deadline,
    boost::system::error_code& ec
) {
    const std::uint64_t size = reader.Size();
    std::string chunk(static_cast<std::size_t>(std::min<std::uint64_t>(kSpoolBuffer, size)), '\0');
    for (std::uint64_t done = 0; done < size;) {
        const std::span<char> out(
            chunk.data(), static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), size - done))
        );
        std::optional<Result<std::size_t>> got = reader.ReadAtIfReady(done, out);
        if (!got) {
            co_await OnPool(disk, [&] { got.emplace(reader.ReadAt(done, out)); });
        }
        if (!*got || **got == 0) {
            ec = make_error_code(boost::system::errc::io_error);
            co_return;
        }
        deadline = std::chrono::steady_clock::now() + write_timeout;
        co_await net::async_write(
            socket, net::buffer(chunk.data(), **got), net::redirect_error(net::use_awaitable, ec)
        );
        if (ec) {
            co_return;
        }
        done += **got;
    }
}

}  // namespace basalt::http
