// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "config/config.hpp"
#include "core/result.hpp"
#include "http/response.hpp"

namespace basalt::obs {
class Exposition;
}

namespace basalt::http {

class Router;

/// The HTTP/1.1 server: one io_context per I/O thread, each with its own SO_REUSEPORT listener, one
/// coroutine per connection. Enforces the limits of HttpConfig with one coarse deadline per
/// connection, checked by a per-thread sweeper (no timer per socket operation).
class Server {
public:
    Server(const config::HttpConfig& config, std::shared_ptr<const Router> router);
    ~Server();
    Server(const Server&) = delete;
    Server& operator=(const Server&) = delete;

    /// Binds the listeners. Fails with kUnavailable when the address is in use or cannot be bound.
    Result<void> Listen();
    /// The bound port (after Listen), useful when the configured port was 0.
    std::uint16_t Port() const;

    /// Serves until Stop() and the graceful drain are done. Blocks; runs the I/O threads.
    void Run();

    /// Thread- and signal-context-safe: stop accepting, let in-flight requests finish within the
    /// grace period, close idle connections, then return from Run().
    void Stop();

    /// Also stop on SIGINT/SIGTERM while Run() is active.
    void StopOnSignals();

    /// basalt_http_{open_connections, requests_in_flight, open_streams, connections_accepted_total,
    /// connections_refused_total}. Thread-safe.
    void CollectMetrics(obs::Exposition& out) const;

private:
    class Impl;
    std::unique_ptr<Impl> impl_;
};

/// Parses `raw` as one HTTP request (as the server would, with `config`'s limits) and dispatches it
/// through `router`, returning the response that would be written. For fuzzing and tests.
Response HandleRawRequestForTest(const Router& router, const config::HttpConfig& config, std::string_view raw);

}  // namespace basalt::http
