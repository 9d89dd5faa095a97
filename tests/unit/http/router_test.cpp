// SPDX-License-Identifier: MIT
#include "http/router.hpp"

#include <stdexcept>

#include <gtest/gtest.h>

#include "http/middlewares.hpp"
#include "http/server.hpp"

namespace basalt::http {
namespace {

class RouterTest : public ::testing::Test {
protected:
    void SetUp() override {
        router_.Use(std::make_shared<RequestIdMiddleware>());
        router_.Use(std::make_shared<SecurityHeadersMiddleware>());
        router_.Use(std::make_shared<CorsMiddleware>(std::vector<std::string>{"https://app.example"}));
        router_.Add(Method::kGet, "/api/health", SyncHandler([](Request&) { return Response::Json(200, "{}"); }));
        router_.Add(
            Method::kGet, "/api/collections/{collection}/records/{id}", SyncHandler([](Request& r) {
                return Response::Json(200, std::string(r.Param("collection")) + "|" + std::string(r.Param("id")));
            })
        );
        router_.Add(Method::kDelete, "/api/collections/{collection}/records/{id}", SyncHandler([](Request&) {
                        return Response::NoContent();
                    }));
        router_.Add(Method::kGet, "/files/{path...}", SyncHandler([](Request& r) {
                        return Response::Json(200, std::string(r.Param("path")));
                    }));
        router_.Add(Method::kPost, "/echo", AsyncHandler([](Request& r) -> net::awaitable<Response> {
                        co_return Response::Json(200, r.body);
                    }));
        router_.Add(Method::kGet, "/boom", SyncHandler([](Request&) -> Response {
                        throw std::runtime_error("secret detail");
                    }));
        router_.Add(Method::kGet, "/bad", SyncHandler([](Request&) -> Response {
                        throw ApiError::BadRequest("Nope.", {{"title", "validation_required", "Cannot be blank."}});
                    }));
    }

    Response Send(std::string_view raw) { return HandleRawRequestForTest(router_, cfg_, raw); }

    Router router_;
    config::HttpConfig cfg_;
};

TEST_F(RouterTest, MatchesPathParametersPercentDecoded) {
    auto r = Send("GET /api/collections/my%20posts/records/abc HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "my posts|abc");
    auto rest = Send("GET /files/a/b/c.txt HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(rest.body, "a/b/c.txt");
}

TEST_F(RouterTest, UnknownPathIs404InTheErrorShape) {
    auto r = Send("GET /api/nope HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(r.status, 404);
    EXPECT_EQ(r.body, R"({"data":{},"message":"The requested resource wasn't found.","status":404})");
}

TEST_F(RouterTest, PathTraversalFindsNothing) {
    for (const char* target : {"/api/../../etc/passwd", "/files/../../etc/passwd", "/%2e%2e/%2e%2e/etc/passwd"}) {
        auto r = Send(std::string("GET ") + target + " HTTP/1.1\r\nHost: x\r\n\r\n");
        if (r.status == 200) {
            // The files route takes the rest of the path verbatim; it must never be resolved here.
            EXPECT_EQ(r.body, "../../etc/passwd") << target;
        } else {
            EXPECT_EQ(r.status, 404) << target;
        }
    }
}

TEST_F(RouterTest, WrongMethodIs405WithAllow) {
    auto r = Send("PATCH /api/collections/c/records/1 HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(r.status, 405);
    EXPECT_EQ(r.Header("Allow"), "GET, HEAD, DELETE");
}

TEST_F(RouterTest, HeadIsServedByGet) {
    auto r = Send("HEAD /api/health HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(r.status, 200);
}

TEST_F(RouterTest, AsyncHandlersGetChunkedBodies) {
    auto r = Send(
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    );
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.body, "hello world");
}

TEST_F(RouterTest, ExceptionBecomes500WithoutDetail) {
    auto r = Send("GET /boom HTTP/1.1\r\nHost: x\r\nX-Request-Id: req-123\r\n\r\n");
    EXPECT_EQ(r.status, 500);
    EXPECT_EQ(r.body.find("secret"), std::string::npos);
    EXPECT_EQ(r.Header("X-Request-Id"), "req-123");
}

TEST_F(RouterTest, ApiErrorKeepsFieldErrors) {
    auto r = Send("GET /bad HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(r.status, 400);
    EXPECT_EQ(
        r.body,
        R"({"data":{"title":{"code":"validation_required","message":"Cannot be blank."}},"message":"Nope.","status":400})"
    );
}

TEST_F(RouterTest, RequestIdIsKeptOrMade) {
    auto kept = Send("GET /api/health HTTP/1.1\r\nHost: x\r\nX-Request-Id: abc-1\r\n\r\n");
    EXPECT_EQ(kept.Header("X-Request-Id"), "abc-1");
    auto made = Send("GET /api/health HTTP/1.1\r\nHost: x\r\nX-Request-Id: <script>\r\n\r\n");
    EXPECT_EQ(made.Header("X-Request-Id").size(), 32U);
}

TEST_F(RouterTest, SecurityHeadersOnEveryResponse) {
    for (const char* raw : {"GET /api/health HTTP/1.1\r\nHost: x\r\n\r\n", "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"}) {
        auto r = Send(raw);
        EXPECT_EQ(r.Header("X-Frame-Options"), "SAMEORIGIN");
        EXPECT_EQ(r.Header("X-Content-Type-Options"), "nosniff");
        EXPECT_EQ(r.Header("X-Xss-Protection"), "1; mode=block");
    }
}

TEST_F(RouterTest, CorsAllowsConfiguredOriginsOnly) {
    auto pre = Send(
        "OPTIONS /api/health HTTP/1.1\r\nHost: x\r\nOrigin: https://app.example\r\n"
        "Access-Control-Request-Method: POST\r\nAccess-Control-Request-Headers: authorization\r\n\r\n"
    );
    EXPECT_EQ(pre.status, 204);
    EXPECT_EQ(pre.Header("Access-Control-Allow-Origin"), "https://app.example");
    EXPECT_EQ(pre.Header("Access-Control-Allow-Headers"), "authorization");
    auto other = Send("GET /api/health HTTP/1.1\r\nHost: x\r\nOrigin: https://evil.example\r\n\r\n");
    EXPECT_EQ(other.status, 200);
    EXPECT_TRUE(other.Header("Access-Control-Allow-Origin").empty());
}

TEST_F(RouterTest, LimitsAnswerWithTheirStatus) {
    cfg_.max_header_bytes = 1024;
    cfg_.max_body_bytes = 10;
    auto big_header = Send("GET /api/health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(2000, 'a') + "\r\n\r\n");
    EXPECT_EQ(big_header.status, 431);
    EXPECT_TRUE(big_header.close);
    auto big_body = Send("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world");
    EXPECT_EQ(big_body.status, 413);
    auto big_chunked = Send(
        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        "8\r\n12345678\r\n8\r\n12345678\r\n0\r\n\r\n"
    );
    EXPECT_EQ(big_chunked.status, 413);
}

TEST_F(RouterTest, MalformedRequestsAre400) {
    for (const char* raw :
         {"GARBAGE\r\n\r\n",
          "GET /api/health HTTP/9.9\r\n\r\n",
          "GET /api/health HTTP/1.1\r\nBad Header\r\n\r\n",
          "GET http://other/api/health HTTP/1.1\r\nHost: x\r\n\r\n",
          "POST /echo HTTP/1.1\r\nContent-Length: abc\r\n\r\n"}) {
        auto r = Send(raw);
        EXPECT_EQ(r.status, 400) << raw;
        EXPECT_NE(r.body.find("\"status\":400"), std::string::npos);
    }
}

}  // namespace
}  // namespace basalt::http
