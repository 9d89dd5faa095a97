// SPDX-License-Identifier: MIT
#include "http/router.hpp"

#include <algorithm>

#include <boost/asio/use_awaitable.hpp>

#include "obs/log.hpp"
#include "obs/trace.hpp"

namespace basalt::http {

struct Router::Node {
    std::map<std::string, std::unique_ptr<Node>, std::less<>> children;
    std::unique_ptr<Node> param_child;
    std::string param_name;
    std::unique_ptr<Node> rest_child;  // {name...}
    std::string rest_name;
    std::map<Method, Handler> handlers;
    std::string pattern;  // as added (the last Add wins when two spell one node differently)
};

struct Router::Match {
    const Handler* handler = nullptr;
    const Node* node = nullptr;  // set when the path matched (maybe not the method)
};

namespace {

std::vector<std::string_view> SplitPath(std::string_view path) {
    std::vector<std::string_view> out;
    std::size_t i = 0;
    while (i < path.size()) {
        if (path[i] == '/') {
            ++i;
            continue;
        }
        const std::size_t j = path.find('/', i);
        const std::size_t end = j == std::string_view::npos ? path.size() : j;
        out.push_back(path.substr(i, end - i));
        i = end;
    }
    return out;
}

// Non-empty segments only, but a trailing slash is significant for route identity in PocketBase
// only for prefix routes; basalt treats "/api/health/" as "/api/health".

}  // namespace

Router::Router() : root_(std::make_unique<Node>()) {}
Router::~Router() = default;

void Router::Use(std::shared_ptr<Middleware> middleware) {
    chain_.push_back(std::move(middleware));
}

void Router::Add(Method method, std::string_view pattern, Handler handler) {
    Node* node = root_.get();
    for (std::string_view seg : SplitPath(pattern)) {
        if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
            std::string_view name = seg.substr(1, seg.size() - 2);
            if (name.size() > 3 && name.substr(name.size() - 3) == "...") {
                if (!node->rest_child) {
                    node->rest_child = std::make_unique<Node>();
                }
                node->rest_name = std::string(name.substr(0, name.size() - 3));
                node = node->rest_child.get();
                break;
            }
            if (!node->param_child) {
                node->param_child = std::make_unique<Node>();
            }
            node->param_name = std::string(name);
            node = node->param_child.get();
        } else {
            auto& child = node->children[std::string(seg)];
            if (!child) {
                child = std::make_unique<Node>();
            }
            node = child.get();
        }
    }
    node->handlers[method] = std::move(handler);
    node->pattern = std::string(pattern);
}

namespace {

// Depth-first match of segments[i..] below `node`: a static segment first, then a parameter, then a
// rest parameter, backtracking when a branch dead-ends (so a collection named "meta" still reaches
// /api/collections/{collection}/records). With `method`, only a node that handles it counts.
template <typename Node>
const Node* Walk(
    const Node* node,
    const std::vector<std::string_view>& segments,
    std::size_t i,
    std::string_view path,
    const std::optional<Method>& method,
    std::vector<std::pair<std::string, std::string>>& params
) {
    if (i == segments.size()) {
        const bool ok = method ? node->handlers.contains(*method) : !node->handlers.empty();
        return ok ? node : nullptr;
    }
    const std::string_view seg = segments[i];
    if (auto it = node->children.find(seg); it != node->children.end()) {
        if (const Node* found = Walk(it->second.get(), segments, i + 1, path, method, params)) {
            return found;
        }
    }
    if (node->param_child) {
        params.emplace_back(node->param_name, PercentDecode(seg));
        if (const Node* found = Walk(node->param_child.get(), segments, i + 1, path, method, params)) {
            return found;
        }
        params.pop_back();
    }
    if (node->rest_child) {
        const auto offset = static_cast<std::size_t>(seg.data() - path.data());
        params.emplace_back(node->rest_name, PercentDecode(path.substr(offset)));
        if (const Node* found = Walk(node->rest_child.get(), segments, segments.size(), path, method, params)) {
            return found;
        }
        params.pop_back();
    }
    return nullptr;
}

}  // namespace

Router::Match Router::Find(Request& req) const {
    const auto segments = SplitPath(req.path);
    const Method m = req.method == Method::kHead ? Method::kGet : req.method;
    req.params.clear();
    const Node* node = Walk(root_.get(), segments, 0, req.path, std::optional<Method>(m), req.params);
    if (node == nullptr) {
        req.params.clear();
        node = Walk(root_.get(), segments, 0, req.path, std::optional<Method>(), req.params);
    }
    if (node == nullptr) {
        req.route = {};
        return {};
    }
    req.route = node->pattern;
    auto it = node->handlers.find(m);
    if (it == node->handlers.end()) {
        return {nullptr, node};
    }
    return {&it->second, node};
}

Response InternalErrorResponse(const Request& req, std::string_view what) {
    obs::Error(
        "unhandled exception in handler",
        {{"request_id", req.request_id}, {"method", req.method_name}, {"path", req.path}, {"error", what}}
    );
    return Response::FromApiError(ApiError(500, "Something went wrong while processing your request."));
}

Response Router::RunBefore(Request& req, std::size_t& ran) const {
    for (const auto& mw : chain_) {
        ++ran;
        if (auto early = mw->Before(req)) {
            return std::move(*early);
        }
    }
    Response none;
    none.status = 0;  // no early answer
    return none;
}

void Router::RunAfter(const Request& req, Response& res, std::size_t ran) const {
    for (std::size_t i = ran; i-- > 0;) {
        try {
            chain_[i]->After(req, res);
        } catch (const ApiError& e) {
            res = Response::FromApiError(e);
        } catch (const std::exception& e) {
            res = InternalErrorResponse(req, e.what());
        }
    }
}

namespace {

Response MethodNotAllowed(const std::map<Method, Handler>& handlers) {
    std::string allow;
    for (const auto& [m, h] : handlers) {
        if (!allow.empty()) {
            allow += ", ";
        }
        allow += MethodName(m);
        if (m == Method::kGet) {
            allow += ", HEAD";
        }
    }
    Response r = Response::FromApiError(ApiError(405, "Method not allowed."));
    r.SetHeader("Allow", std::move(allow));
    return r;
}

}  // namespace

Response Router::Unmatched(const Match& m) {
    return m.node != nullptr ? MethodNotAllowed(m.node->handlers) : Response::FromApiError(ApiError::NotFound());
}

std::optional<Response> Router::TryDispatchSync(Request& req) const {
    const Match m = Find(req);
    if (m.handler != nullptr && std::holds_alternative<AsyncHandler>(*m.handler)) {
        return std::nullopt;  // nothing has run yet: the caller awaits Dispatch instead
    }
    std::size_t ran = 0;
    Response res;
    try {
        res = RunBefore(req, ran);
        if (res.status == 0) {
            res = m.handler != nullptr ? std::get<SyncHandler>(*m.handler)(req) : Unmatched(m);
        }
    } catch (const ApiError& e) {
        res = Response::FromApiError(e);
    } catch (const std::exception& e) {
        res = InternalErrorResponse(req, e.what());
    }
    RunAfter(req, res, ran);
    return res;
}

namespace {

// Makes the request's span (when the trace middleware set one) the thread's span again.
void RestoreSpan(const Request& req) {
    if (req.trace.Valid()) {
        obs::SetCurrentSpan(&req.trace);
    }
}

}  // namespace

net::awaitable<Response> Router::Dispatch(Request& req) const {
    std::size_t ran = 0;
    Response res;
    try {
        res = RunBefore(req, ran);
        if (res.status == 0) {
            const Match m = Find(req);
            if (m.handler == nullptr) {
                res = Unmatched(m);
            } else if (const auto* sync = std::get_if<SyncHandler>(m.handler)) {
                res = (*sync)(req);
            } else {
                res = co_await std::get<AsyncHandler>(*m.handler)(req);
            }
        }
    } catch (const ApiError& e) {
        res = Response::FromApiError(e);
    } catch (const std::exception& e) {
        RestoreSpan(req);
        res = InternalErrorResponse(req, e.what());
    }
    // The handler may have suspended: this thread ran other work meanwhile.
    RestoreSpan(req);
    RunAfter(req, res, ran);
    co_return res;
}

}  // namespace basalt::http
