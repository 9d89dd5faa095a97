// SPDX-License-Identifier: MIT
#include "http/response_head.hpp"

#include <gtest/gtest.h>

namespace basalt::http {
namespace {

constexpr std::string_view kDate = "Wed, 02 Dec 2026 12:00:00 GMT";

Framing Length(std::uint64_t n, bool keep_alive = true) {
    Framing f;
    f.content_length = n;
    f.keep_alive = keep_alive;
    return f;
}

TEST(ResponseHeadTest, StatusLineFieldsInOrderDateAndLength) {
    Response res = Response::Json(200, "{}");
    res.SetHeader("X-Request-Id", "abc");
    EXPECT_EQ(
        SerializeHead(res, 11, kDate, Length(2)),
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Request-Id: abc\r\n"
        "Date: Wed, 02 Dec 2026 12:00:00 GMT\r\nContent-Length: 2\r\n\r\n"
    );
}

TEST(ResponseHeadTest, ConnectionFollowsVersionAndKeepAlive) {
    Response res;
    res.status = 404;
    EXPECT_EQ(
        SerializeHead(res, 11, "", Length(0, false)),
        "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    EXPECT_EQ(
        SerializeHead(res, 10, "", Length(0, true)),
        "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\nConnection: keep-alive\r\n\r\n"
    );
    Framing stream;
    stream.chunked = true;
    EXPECT_EQ(SerializeHead(res, 11, "", stream), "HTTP/1.1 404 Not Found\r\nTransfer-Encoding: chunked\r\n\r\n");
}

TEST(ResponseHeadTest, NoBodyStatusesCarryNoLength) {
    Response res;
    res.status = 304;
    res.SetHeader("ETag", "\"x\"");
    EXPECT_EQ(SerializeHead(res, 11, "", Framing{}), "HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n");
}

TEST(ResponseHeadTest, FieldsThatCouldSplitTheResponseAreDropped) {
    Response res;
    res.headers.emplace_back("Location", "/ok\r\nSet-Cookie: evil=1");
    res.headers.emplace_back("X-Bad Name", "v");
    res.headers.emplace_back("X-Nul", std::string("a\0b", 3));
    res.headers.emplace_back("X-Lf", "a\nb");
    res.headers.emplace_back("X-Fine", "a b\tc");
    EXPECT_EQ(SerializeHead(res, 11, "", Length(0)), "HTTP/1.1 200 OK\r\nX-Fine: a b\tc\r\nContent-Length: 0\r\n\r\n");
}

TEST(ResponseHeadTest, FramingFieldsAreTheConnectionsOwn) {
    Response res;
    res.headers.emplace_back("content-length", "999");
    res.headers.emplace_back("Transfer-Encoding", "gzip");
    res.headers.emplace_back("Connection", "upgrade");
    res.headers.emplace_back("DATE", "yesterday");
    EXPECT_EQ(
        SerializeHead(res, 11, kDate, Length(5)),
        "HTTP/1.1 200 OK\r\nDate: Wed, 02 Dec 2026 12:00:00 GMT\r\nContent-Length: 5\r\n\r\n"
    );
}

TEST(ResponseHeadTest, UnknownStatusKeepsItsCode) {
    Response res;
    res.status = 599;
    EXPECT_EQ(SerializeHead(res, 11, "", Length(0)).substr(0, 13), "HTTP/1.1 599 ");
}

}  // namespace
}  // namespace basalt::http
