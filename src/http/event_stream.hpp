// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace basalt::obs {
class Counter;
}

namespace basalt::http {

/// A response body that is written as it is produced (server-sent events): a handler answers with a
/// Response whose `stream` is set, and the connection writes whatever producers Push() until the
/// stream is closed, the peer goes away, a limit ends it, or the server stops. Producers on any
/// thread; a full queue closes the stream (the client reconnects) instead of ever blocking them.
class EventStream {
public:
    struct Limits {
        std::size_t max_queued_bytes = 1 << 20;                   // a subscriber this far behind is dropped
        std::chrono::milliseconds heartbeat{30000};               // an SSE comment when nothing else was written
        std::chrono::milliseconds idle{std::chrono::minutes(5)};  // no message (heartbeats do not count)
        std::chrono::milliseconds max_duration{std::chrono::minutes(30)};
        /// Counts the streams closed because their queue was full (the metrics of their owner).
        obs::Counter* overflows = nullptr;
    };

    /// Bytes shared between streams (one event's frame goes to many subscribers without copies).
    using Segment = std::shared_ptr<const std::string>;

    explicit EventStream(Limits limits) : limits_(limits) {}
    EventStream(const EventStream&) = delete;
    EventStream& operator=(const EventStream&) = delete;

    /// Queues `bytes` for the connection. False (and the stream is closed) when it is already closed or
    /// the queue would grow past max_queued_bytes.
    bool Push(std::string_view bytes);
    /// Queues shared segments, in order (no copy).
    bool Push(const std::vector<Segment>& segments);
    /// Ends the stream; the connection finishes writing nothing more and closes. Idempotent; runs the
    /// close callback once.
    void Close();
    bool Closed() const;
    /// Bytes queued and not yet taken by the connection.
    std::size_t QueuedBytes() const;
    /// Called once when the stream ends for any reason (set by the handler before answering).
    void OnClose(std::function<void()> callback);

    // The connection's side.
    const Limits& GetLimits() const { return limits_; }
    /// Moves everything queued to `out` (appending). Returns false once the stream is closed.
    bool Take(std::vector<Segment>& out);
    /// `wake` runs (on a producer's thread) when bytes arrive into an empty queue or the stream
    /// closes; the connection clears it when it ends.
    void SetWaker(std::function<void()> wake);

private:
    Limits limits_;
    mutable std::mutex mu_;
    std::vector<Segment> queue_;
    std::size_t queued_bytes_ = 0;
    bool closed_ = false;
    std::function<void()> wake_;
    std::function<void()> on_close_;
};

}  // namespace basalt::http
