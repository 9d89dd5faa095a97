// SPDX-License-Identifier: MIT
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include <boost/asio/awaitable.hpp>

#include "http/request.hpp"
#include "http/response.hpp"

namespace basalt::http {

namespace net = boost::asio;

/// A handler that answers at once (no I/O to wait for).
using SyncHandler = std::function<Response(Request&)>;
/// A handler that awaits blocking work (password hashing, writes) without holding an I/O thread.
using AsyncHandler = std::function<net::awaitable<Response>(Request&)>;
using Handler = std::variant<SyncHandler, AsyncHandler>;

/// A step of the chain around every handler. `Before` runs in order and may answer early (the
/// handler and later steps are skipped); `After` runs in reverse order for every response, errors
/// included. Either may throw ApiError. Implementations must be thread-safe (shared by all threads).
class Middleware {
public:
    virtual ~Middleware() = default;
    virtual std::optional<Response> Before(Request& /*req*/) { return std::nullopt; }
    virtual void After(const Request& /*req*/, Response& /*res*/) {}
};

/// Routes by method and path pattern (`/api/collections/{collection}/records/{id}`, and a final
/// `{name...}` that takes the rest of the path). HEAD is served by GET routes. Unknown paths give 404,
/// a known path with another method 405 with Allow. Routes are added before serving; after that the
/// router is read-only and shared by every I/O thread.
class Router {
public:
    Router();
    ~Router();
    Router(const Router&) = delete;
    Router& operator=(const Router&) = delete;

    void Use(std::shared_ptr<Middleware> middleware);
    void Add(Method method, std::string_view pattern, Handler handler);

    /// Runs the middleware chain and the handler. Never throws: this is the single place where
    /// ApiError and any other exception become responses (500 with the request id, logged).
    net::awaitable<Response> Dispatch(Request& req) const;

    /// The synchronous part of Dispatch: answers when the chain and the handler need no awaiting;
    /// returns nullopt when the matched handler is asynchronous (then call Dispatch).
    std::optional<Response> TryDispatchSync(Request& req) const;

private:
    struct Node;
    struct Match;
    Match Find(Request& req) const;
    static Response Unmatched(const Match& m);
    Response RunBefore(Request& req, std::size_t& ran) const;
    void RunAfter(const Request& req, Response& res, std::size_t ran) const;

    std::unique_ptr<Node> root_;
    std::vector<std::shared_ptr<Middleware>> chain_;
};

/// Builds the 500 response for an unexpected exception and logs it with the request id.
Response InternalErrorResponse(const Request& req, std::string_view what);

}  // namespace basalt::http
