// SPDX-License-Identifier: MIT
#include "http/server.hpp"

#include <array>
#include <atomic>
#include <ctime>
#include <list>
#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <sys/socket.h>

#include "http/body_io.hpp"
#include "http/event_stream.hpp"
#include "http/messages.hpp"
#include "http/router.hpp"
#include "obs/log.hpp"
#include "obs/metrics.hpp"

namespace basalt::http {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

constexpr auto kSweepEvery = std::chrono::milliseconds(250);
constexpr auto kErrorWriteTimeout = std::chrono::seconds(2);
constexpr auto kLingerTime = std::chrono::seconds(10);
constexpr std::size_t kLingerBytes = std::size_t{256} << 20;
// A streamed response's kernel send buffer: fixed (no autotuning to megabytes per subscriber), so
// what a stalled subscriber holds is this plus its stream's own bounded queue.
constexpr int kStreamSendBuffer = 64 * 1024;
// A file body up to this size whose bytes are cached goes out in the same write as its head (one
// send per small download, a thumb or an avatar, instead of two).
constexpr std::uint64_t kOneWriteBody = std::uint64_t{64} * 1024;

// What a connection is doing, for the sweeper and for shutdown.
enum class Phase { kIdle, kReading, kHandling, kWriting, kStreaming };

struct Connection {
    tcp::socket socket;
    Clock::time_point deadline;
    Phase phase = Phase::kIdle;
    bool timed_out = false;
    std::list<Connection*>::iterator self;

    void Enter(Phase p, Clock::time_point until) {
        phase = p;
        deadline = until;
    }
};

// Completion handler for co_spawn: logs an exception that escaped a coroutine.
auto LogEscape(const char* what) {
    return [what](const std::exception_ptr& e) {
        if (!e) {
            return;
        }
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            obs::Error("coroutine ended by an exception", {{"where", what}, {"error", ex.what()}});
        }
    };
}

// Counts a request (or a stream) in a gauge while it is alive.
class InFlight {
public:
    explicit InFlight(std::atomic<std::size_t>& n) : n_(&n) { n_->fetch_add(1, std::memory_order_relaxed); }
    ~InFlight() { Release(); }
    InFlight(const InFlight&) = delete;
    InFlight& operator=(const InFlight&) = delete;

    // Stops counting now.
    void Release() {
        if (n_ != nullptr) {
            n_->fetch_sub(1, std::memory_order_relaxed);
            n_ = nullptr;
        }
    }

private:
    std::atomic<std::size_t>* n_;
};

double Gauge(const std::atomic<std::size_t>& n) {
    return static_cast<double>(n.load(std::memory_order_relaxed));
}

}  // namespace

class Server::Impl {
public:
    struct Worker {
        net::io_context ioc{1};
        std::optional<tcp::acceptor> acceptor;
        std::list<Connection*> connections;
        net::steady_timer sweeper{ioc};
        std::string date;
        std::time_t date_second = 0;
    };

    Impl(const config::HttpConfig& cfg, std::shared_ptr<const Router> router) : cfg_(cfg), router_(std::move(router)) {
        unsigned n = cfg_.threads != 0 ? cfg_.threads : std::max(1U, std::thread::hardware_concurrency());
        for (unsigned i = 0; i < n; ++i) {
            workers_.push_back(std::make_unique<Worker>());
        }
    }

    Result<void> Listen() {
        boost::system::error_code ec;
        const auto address = net::ip::make_address(cfg_.host, ec);
        if (ec) {
            return MakeError(ErrorCode::kInvalidArgument, "invalid listen host '" + cfg_.host + "'");
        }
        tcp::endpoint endpoint(address, cfg_.port);
        // SO_REUSEPORT would let a second server share the port silently: refuse a taken port first.
        if (cfg_.port != 0) {
            // SO_REUSEADDR (without SO_REUSEPORT): connections of a stopped server lingering in
            // TIME_WAIT do not count, a live listener does, so a supervisor restart binds at once
            // and a second server on the same port is still refused.
            tcp::acceptor probe(workers_[0]->ioc);
            probe.open(endpoint.protocol(), ec);
            if (!ec) {
                probe.set_option(net::socket_base::reuse_address(true), ec);
            }
            if (!ec) {
                probe.bind(endpoint, ec);
            }
            if (ec) {
                return MakeError(
                    ErrorCode::kUnavailable,
                    "cannot listen on " + cfg_.host + ":" + std::to_string(cfg_.port) + ": " + ec.message()
                );
            }
        }
        for (auto& w : workers_) {
            auto& acc = w->acceptor.emplace(w->ioc);
            acc.open(endpoint.protocol(), ec);
            if (!ec) {
                acc.set_option(net::socket_base::reuse_address(true), ec);
            }
            if (!ec) {
                const int one = 1;
                if (::setsockopt(acc.native_handle(), SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
                    ec = boost::system::error_code(errno, boost::system::system_category());
                }
            }
            if (!ec) {
                acc.bind(endpoint, ec);
            }
            if (!ec) {
                acc.listen(net::socket_base::max_listen_connections, ec);
            }
            if (ec) {
                return MakeError(
                    ErrorCode::kUnavailable,
                    "cannot listen on " + cfg_.host + ":" + std::to_string(endpoint.port()) + ": " + ec.message()
                );
            }
            endpoint = acc.local_endpoint();  // port 0: the others join the port the first one got
        }
        port_ = endpoint.port();
        return Ok();
    }

    std::uint16_t Port() const { return port_; }

    void Run() {
        for (auto& w : workers_) {
            net::co_spawn(w->ioc, Accept(w.get()), LogEscape("accept loop"));
            net::co_spawn(w->ioc, Sweep(w.get()), LogEscape("sweeper"));
        }
        std::vector<std::thread> threads;
        for (std::size_t i = 1; i < workers_.size(); ++i) {
            threads.emplace_back([w = workers_[i].get()] { w->ioc.run(); });
        }
        workers_[0]->ioc.run();
        for (auto& t : threads) {
            t.join();
        }
        if (signals_) {
            signals_.reset();
        }
    }

    void Stop() {
        if (stopping_.load()) {
            return;
        }
        stop_started_.store(Clock::now());  // before the flag: sweepers read it once they see the flag
        if (stopping_.exchange(true)) {
            return;
        }
        for (auto& w : workers_) {
            net::post(w->ioc, [w = w.get()] {
                boost::system::error_code ignored;
                if (w->acceptor) {
                    w->acceptor->close(ignored);
                }
                for (Connection* c : w->connections) {
                    if (c->phase == Phase::kIdle || c->phase == Phase::kStreaming) {
                        c->socket.cancel(ignored);
                    }
                }
                w->sweeper.cancel();  // sweep now, then keep sweeping until the connections are gone
            });
        }
        if (signals_) {
            net::post(workers_[0]->ioc, [this] {
                boost::system::error_code ignored;
                signals_->cancel(ignored);
            });
        }
    }

    void StopOnSignals() {
        signals_.emplace(workers_[0]->ioc, SIGINT, SIGTERM);
        signals_->async_wait([this](const boost::system::error_code& ec, int signo) {
            if (!ec) {
                obs::Info("shutting down", {{"signal", signo}});
                Stop();
            }
        });
    }

    const config::HttpConfig& Cfg() const { return cfg_; }

    void CollectMetrics(obs::Exposition& out) const {
        out.GaugeValue("basalt_http_open_connections", "Open client connections.", Gauge(open_));
        out.GaugeValue(
            "basalt_http_requests_in_flight",
            "Requests read and not yet answered (streams excluded).",
            Gauge(in_flight_)
        );
        out.GaugeValue("basalt_http_open_streams", "Open event streams (realtime connections).", Gauge(streams_));
        out.CounterValue(
            "basalt_http_connections_accepted_total",
            "Client connections accepted.",
            static_cast<double>(accepted_.Value())
        );
        out.CounterValue(
            "basalt_http_connections_refused_total",
            "Client connections closed at once because max connections were open.",
            static_cast<double>(refused_.Value())
        );
    }

private:
    net::awaitable<void> Accept(Worker* w) {
        for (;;) {
            boost::system::error_code ec;
            tcp::socket socket = co_await w->acceptor->async_accept(net::redirect_error(net::use_awaitable, ec));
            if (stopping_) {
                co_return;
            }
            if (ec) {
                if (ec == net::error::operation_aborted) {
                    co_return;
                }
                // Out of file descriptors and the like: back off instead of spinning.
                obs::Warn("accept failed", {{"error", ec.message()}});
                net::steady_timer t(w->ioc, std::chrono::milliseconds(50));
                co_await t.async_wait(net::redirect_error(net::use_awaitable, ec));
                continue;
            }
            if (open_.load(std::memory_order_relaxed) >= cfg_.max_connections) {
                refused_.Add();
                boost::system::error_code ignored;
                socket.close(ignored);  // accept-and-close: the client sees a reset, the server is fine
                continue;
            }
            open_.fetch_add(1, std::memory_order_relaxed);
            accepted_.Add();
            net::co_spawn(w->ioc, Serve(w, std::move(socket)), LogEscape("connection"));
        }
    }

    // Closes (or first cancels, to let the connection answer 408) connections past their deadline.
    net::awaitable<void> Sweep(Worker* w) {
        for (;;) {
            w->sweeper.expires_after(kSweepEvery);
            boost::system::error_code ec;
            co_await w->sweeper.async_wait(net::redirect_error(net::use_awaitable, ec));
            const auto now = Clock::now();
            const bool force = stopping_ && now - stop_started_.load() >= cfg_.shutdown_grace;
            for (Connection* c : w->connections) {
                boost::system::error_code ignored;
                if (force || (c->timed_out && now >= c->deadline)) {
                    c->socket.close(ignored);
                } else if (now >= c->deadline && c->phase != Phase::kHandling) {
                    c->timed_out = true;
                    c->deadline = now + kErrorWriteTimeout;
                    c->socket.cancel(ignored);
                } else if (stopping_ && (c->phase == Phase::kIdle || c->phase == Phase::kStreaming)) {
                    c->socket.cancel(ignored);
                }
            }
            if (stopping_ && w->connections.empty()) {
                co_return;
            }
        }
    }

    std::string_view Date(Worker* w) {
        const std::time_t now = std::time(nullptr);
        if (now != w->date_second) {
            std::tm tm{};
            gmtime_r(&now, &tm);
            char buf[64];
            const std::size_t n = std::strftime(buf, sizeof(buf), "%a, %d %b %Y %H:%M:%S GMT", &tm);
            w->date.assign(buf, n);
            w->date_second = now;
        }
        return w->date;
    }

    // Puts a connection on its worker's list (for the sweeper and shutdown), and takes it off and out
    // of the open count when its coroutine ends.
    struct Registration {
        Impl* impl;
        Worker* w;
        Connection* c;
        Registration(Impl* i, Worker* wk, Connection* conn) : impl(i), w(wk), c(conn) {
            w->connections.push_front(c);
            c->self = w->connections.begin();
        }
        Registration(const Registration&) = delete;
        Registration& operator=(const Registration&) = delete;
        ~Registration() {
            w->connections.erase(c->self);
            impl->open_.fetch_sub(1, std::memory_order_relaxed);
        }
    };

    static std::string RemoteIp(tcp::socket& socket) {
        boost::system::error_code ec;
        auto ep = socket.remote_endpoint(ec);
        return ec ? std::string() : ep.address().to_string();
    }

    // A request from its parsed head and body; false when the target is not in origin form.
    static bool PrepareRequest(
        const bhttp::request_header<>& head,
        const std::string& remote_ip,
        std::string body,
        std::shared_ptr<SpoolFile> spooled,
        Request& req
    ) {
        req.started = Clock::now();
        req.remote_ip = remote_ip;
        req.peer_ip = remote_ip;
        if (!BuildRequest(head, req)) {
            return false;
        }
        if (spooled) {
            req.body_file = std::move(spooled);
        } else {
            req.body = std::move(body);
        }
        return true;
    }

    // What a failed read of a request answers: 408 for a timeout, the parse error's status for a
    // malformed or over-limit request (lingering after a 413), nothing when the peer just left.
    net::awaitable<void> AnswerReadError(
        Worker* w, Connection& conn, const boost::system::error_code& ec, const std::string& remote_ip
    ) {
        if (conn.timed_out) {
            co_await WriteError(w, conn, ProtocolError(408, "Request timeout."), remote_ip);
            co_return;
        }
        if (ec == bhttp::error::end_of_stream || ec == net::error::eof || ec == net::error::connection_reset ||
            ec == net::error::operation_aborted || ec == net::error::bad_descriptor) {
            co_return;
        }
        co_await WriteError(w, conn, ResponseForParseError(ec), remote_ip);
        if (ec == bhttp::error::body_limit) {
            co_await Linger(conn);
        }
    }

    net::awaitable<void> Serve(Worker* w, tcp::socket socket) {
        Connection conn{std::move(socket), Clock::now() + cfg_.idle_timeout, Phase::kIdle, false, {}};
        const Registration registration{this, w, &conn};

        boost::system::error_code ec;
        conn.socket.set_option(tcp::no_delay(true), ec);
        const std::string remote_ip = RemoteIp(conn.socket);

        beast::flat_buffer buffer;
        for (;;) {
            // Idle: wait for the first byte of the next request under the idle timeout.
            if (buffer.size() == 0) {
                if (stopping_) {
                    break;
                }
                conn.Enter(Phase::kIdle, Clock::now() + cfg_.idle_timeout);
                const std::size_t n = co_await conn.socket.async_read_some(
                    buffer.prepare(4096), net::redirect_error(net::use_awaitable, ec)
                );
                if (ec) {
                    break;  // closed by the peer, idle timeout, or shutdown
                }
                buffer.commit(n);
            }

            // Reading: the whole header must arrive within header_timeout, however it trickles in.
            conn.Enter(Phase::kReading, Clock::now() + cfg_.header_timeout);
            conn.timed_out = false;
            Parser parser;
            ApplyLimits(parser, cfg_);
            co_await bhttp::async_read_header(conn.socket, buffer, parser, net::redirect_error(net::use_awaitable, ec));
            if (!ec && !FramingIsSound(parser.get())) {
                // The body's length is ambiguous (RFC 9112 6.3): reading it one way while a proxy
                // in front read it another is request smuggling. Refuse, close, read nothing more.
                co_await WriteError(w, conn, ProtocolError(400, "Malformed HTTP request."), remote_ip);
                break;
            }
            std::optional<SpoolParser> spool;
            std::shared_ptr<SpoolFile> spooled;
            if (!ec && !parser.is_done()) {
                spooled = co_await ReadBody(conn, buffer, parser, spool, ec);
            }
            if (ec) {
                co_await AnswerReadError(w, conn, ec, remote_ip);
                break;
            }

            // Handling.
            conn.phase = Phase::kHandling;
            const bhttp::request_header<>& head = spool ? spool->get().base() : parser.get().base();
            const unsigned version = head.version();
            const bool client_keep_alive = spool ? spool->get().keep_alive() : parser.get().keep_alive();
            Request req;
            Response res;
            InFlight in_flight(in_flight_);
            std::string body = spooled ? std::string() : std::move(parser.get().body());
            if (!PrepareRequest(head, remote_ip, std::move(body), std::move(spooled), req)) {
                res = ProtocolError(400, "Malformed HTTP request.");
            } else if (auto sync = router_->TryDispatchSync(req)) {
                res = std::move(*sync);
            } else {
                res = co_await router_->Dispatch(req);
            }

            if (res.stream && req.method != Method::kHead) {
                co_await StreamToEnd(w, conn, buffer, req, in_flight, res, version);
                break;
            }

            // Writing.
            const bool keep_alive = client_keep_alive && !res.close && !stopping_;
            co_await WriteResponse(w, conn, res, version, req.method == Method::kHead, keep_alive, ec);
            if (ec || !keep_alive) {
                break;
            }
        }
        Close(conn.socket);
    }

    // A streaming answer: the request's memory goes, it counts as a stream instead of a request in
    // flight, and the stream runs until it ends.
    net::awaitable<void> StreamToEnd(
        Worker* w,
        Connection& conn,
        beast::flat_buffer& buffer,
        Request& req,
        InFlight& in_flight,
        Response& res,
        unsigned version
    ) {
        buffer.clear();
        buffer.shrink_to_fit();  // a long-lived stream reads nothing more: keep no read buffer
        req = Request();
        in_flight.Release();
        const InFlight streaming(streams_);
        co_await Stream(w, conn, res, version);
    }

    static void Close(tcp::socket& socket) {
        boost::system::error_code ignored;
        socket.shutdown(tcp::socket::shutdown_send, ignored);
        socket.close(ignored);
    }

    // Writes `res` whole, or its head and then its body_reader's bytes a piece at a time.
    net::awaitable<void> WriteResponse(
        Worker* w,
        Connection& conn,
        Response& res,
        unsigned version,
        bool head,
        bool keep_alive,
        boost::system::error_code& ec
    ) {
        const std::shared_ptr<BodyReader> reader = std::move(res.body_reader);
        const Framing framing = FramingOf(res, reader ? reader->Size() : res.body.size(), keep_alive);
        const std::string head_bytes = SerializeHead(res, version, Date(w), framing);
        // HEAD and the statuses without a body (1xx, 204, 304) send the head alone, whatever the
        // handler left in the body.
        const bool no_body = head || !framing.content_length;
        conn.phase = Phase::kWriting;
        conn.deadline = Clock::now() + cfg_.write_timeout;
        std::optional<std::string> whole;
        if (reader && !no_body) {
            whole = ReadWholeIfReady(*reader, kOneWriteBody);
        }
        if (!reader || no_body || whole) {
            // Head and body in one write (one send for most responses).
            const std::string_view body = no_body ? std::string_view() : whole ? std::string_view(*whole) : res.body;
            const std::array<net::const_buffer, 2> both{net::buffer(head_bytes), net::buffer(body.data(), body.size())};
            co_await net::async_write(conn.socket, both, net::redirect_error(net::use_awaitable, ec));
            co_return;
        }
        co_await net::async_write(conn.socket, net::buffer(head_bytes), net::redirect_error(net::use_awaitable, ec));
        if (!ec) {
            co_await WriteBodyFromReader(conn.socket, *reader, disk_, cfg_.write_timeout, conn.deadline, ec);
        }
    }

    // Reads the body whose head `parser` holds: a large upload into a spool file (returned; `spool`
    // then holds the message), anything else into memory under max_body_bytes. `ec` on failure.
    net::awaitable<std::shared_ptr<SpoolFile>> ReadBody(
        Connection& conn,
        beast::flat_buffer& buffer,
        Parser& parser,
        std::optional<SpoolParser>& spool,
        boost::system::error_code& ec
    ) {
        const bool chunked = parser.chunked();
        const std::uint64_t length = parser.content_length().value_or(0);
        if (ShouldSpool(parser.get().base(), chunked, length, cfg_)) {
            spool.emplace(std::move(parser));
            co_return co_await ReadBodyToSpool(conn.socket, buffer, *spool, cfg_, disk_, conn.deadline, ec);
        }
        if (!chunked && length > cfg_.max_body_bytes) {
            ec = bhttp::error::body_limit;
            co_return nullptr;
        }
        parser.body_limit(cfg_.max_body_bytes);
        conn.deadline = Clock::now() + cfg_.body_timeout;
        co_await bhttp::async_read(conn.socket, buffer, parser, net::redirect_error(net::use_awaitable, ec));
        co_return nullptr;
    }

    // What a streaming connection waits on: the producer's wake-up (a posted timer cancel) and the
    // peer going away (a pending read completes). Shared with the completion handlers, which may run
    // after the coroutine is gone.
    struct StreamWait {
        explicit StreamWait(net::io_context& ioc) : timer(ioc) {}
        net::steady_timer timer;
        tcp::socket* socket = nullptr;  // while the coroutine streams: a closed stream aborts its write
        bool peer_gone = false;
        std::array<char, 256> scratch{};
    };

    // The producer's wake-up for a streaming connection: posted to the connection's thread, it ends
    // the wait; a stream closed by its producer (a full queue) also cancels a write stuck on a peer
    // that stopped reading.
    static void SetStreamWaker(
        net::io_context& ioc, const std::shared_ptr<StreamWait>& state, const std::shared_ptr<EventStream>& stream
    ) {
        stream->SetWaker(
            [weak = std::weak_ptr<StreamWait>(state), weak_stream = std::weak_ptr<EventStream>(stream), ioc = &ioc] {
                net::post(*ioc, [weak, weak_stream] {
                    auto s = weak.lock();
                    if (!s) {
                        return;
                    }
                    s->timer.cancel();
                    auto st = weak_stream.lock();
                    if (s->socket != nullptr && (!st || st->Closed())) {
                        boost::system::error_code ignored;
                        s->socket->cancel(ignored);  // dropped (a full queue): do not wait for a stuck write
                    }
                });
            }
        );
    }

    // A read that completes only when the peer closes (or sends, which a stream never reads).
    static void WatchPeer(tcp::socket& socket, const std::shared_ptr<StreamWait>& state) {
        socket.async_read_some(net::buffer(state->scratch), [state](const boost::system::error_code&, std::size_t) {
            state->peer_gone = true;
            state->timer.cancel();
        });
    }

    // One write's buffers for the queued segments: flattened into `flat` (many small iovecs cost
    // more than one copy), framed as one chunk when `chunked` (its size line in `size`).
    static void GatherChunk(
        const std::vector<EventStream::Segment>& out,
        bool chunked,
        std::string& flat,
        std::array<char, 20>& size,
        std::vector<net::const_buffer>& buffers
    ) {
        flat.clear();
        for (const auto& seg : out) {
            flat += *seg;
        }
        buffers.clear();
        if (chunked) {
            const int n = std::snprintf(size.data(), size.size(), "%zx\r\n", flat.size());
            buffers.emplace_back(size.data(), static_cast<std::size_t>(n));
        }
        buffers.emplace_back(flat.data(), flat.size());
        if (chunked) {
            buffers.emplace_back("\r\n", 2);
        }
    }

    // Writes a streamed response: the headers (chunked for HTTP/1.1, close-delimited for 1.0), then
    // whatever the stream produces, a heartbeat comment when quiet, until the stream closes, the peer
    // leaves, a limit ends it or the server stops. Every write runs under write_timeout, so a
    // subscriber that stops reading is cut off by the sweeper.
    net::awaitable<void> Stream(Worker* w, Connection& conn, Response& res, unsigned version) {
        const std::shared_ptr<EventStream> stream = res.stream;
        const EventStream::Limits limits = stream->GetLimits();
        auto state = std::make_shared<StreamWait>(w->ioc);
        state->socket = &conn.socket;
        SetStreamWaker(w->ioc, state, stream);
        const bool chunked = version >= 11;
        Framing framing;
        framing.chunked = chunked;
        framing.keep_alive = chunked;  // close-delimited for HTTP/1.0
        const std::string head = SerializeHead(res, 11, Date(w), framing);

        boost::system::error_code ec;
        conn.socket.set_option(net::socket_base::send_buffer_size(kStreamSendBuffer), ec);
        conn.phase = Phase::kWriting;
        conn.deadline = Clock::now() + cfg_.write_timeout;
        co_await net::async_write(conn.socket, net::buffer(head), net::redirect_error(net::use_awaitable, ec));
        if (!ec) {
            WatchPeer(conn.socket, state);
        }
        const auto started = Clock::now();
        auto last_message = started;
        auto last_write = started;
        static const EventStream::Segment kHeartbeat = std::make_shared<const std::string>(":\n\n");  // an SSE comment
        std::vector<EventStream::Segment> out;
        std::vector<net::const_buffer> buffers;
        std::string flat;
        bool finished = false;  // ended by a limit: close the body properly
        while (!ec) {
            out.clear();
            if (!stream->Take(out) || state->peer_gone || stopping_) {
                break;
            }
            const auto now = Clock::now();
            if (!out.empty()) {
                last_message = now;
            } else if (now - last_message >= limits.idle || now - started >= limits.max_duration) {
                finished = true;
                break;
            } else if (now - last_write >= limits.heartbeat) {
                out.push_back(kHeartbeat);  // keeps proxies and dead-peer detection going
            }
            if (!out.empty()) {
                // One chunk of every queued segment, flattened here (on this I/O thread, not the
                // producer's): many small iovecs cost more than one copy.
                std::array<char, 20> size{};
                GatherChunk(out, chunked, flat, size, buffers);
                conn.phase = Phase::kWriting;
                conn.deadline = now + cfg_.write_timeout;
                co_await net::async_write(conn.socket, buffers, net::redirect_error(net::use_awaitable, ec));
                if (flat.capacity() > kStreamSendBuffer) {
                    std::string().swap(flat);  // an idle subscriber keeps no burst-sized buffer
                }
                last_write = Clock::now();
                continue;
            }
            conn.phase = Phase::kStreaming;
            conn.deadline = Clock::time_point::max();
            state->timer.expires_at(
                std::min({last_write + limits.heartbeat, last_message + limits.idle, started + limits.max_duration})
            );
            boost::system::error_code wait_ec;
            co_await state->timer.async_wait(net::redirect_error(net::use_awaitable, wait_ec));
        }
        state->socket = nullptr;
        stream->SetWaker(nullptr);
        stream->Close();
        if (finished && chunked) {
            conn.phase = Phase::kWriting;
            conn.deadline = Clock::now() + kErrorWriteTimeout;
            co_await net::async_write(
                conn.socket, net::buffer("0\r\n\r\n", 5), net::redirect_error(net::use_awaitable, ec)
            );
        }
    }

    // After answering a request whose body it will not read (413), the connection must not close at
    // once: a close with unread bytes makes the kernel send a reset, and a client still sending its
    // body then sees a broken pipe instead of the answer. So, as nginx's lingering close and Go's
    // server do, half-close, then read and discard what the client still sends, bounded in bytes
    // and time (kLingerBytes, kLingerTime; each read under kErrorWriteTimeout), then close.
    net::awaitable<void> Linger(Connection& conn) {
        boost::system::error_code ec;
        conn.socket.shutdown(tcp::socket::shutdown_send, ec);
        if (ec) {
            co_return;
        }
        conn.phase = Phase::kWriting;
        const auto until = Clock::now() + kLingerTime;
        std::array<char, 16384> sink{};
        std::size_t discarded = 0;
        while (discarded < kLingerBytes && Clock::now() < until && !stopping_) {
            conn.timed_out = false;
            conn.deadline = std::min(until, Clock::now() + kErrorWriteTimeout);
            const std::size_t n =
                co_await conn.socket.async_read_some(net::buffer(sink), net::redirect_error(net::use_awaitable, ec));
            if (ec) {
                break;  // the client closed (done), the deadline passed, or a reset
            }
            discarded += n;
        }
    }

    net::awaitable<void> WriteError(Worker* w, Connection& conn, Response res, const std::string& remote_ip) {
        obs::Info("request rejected", {{"status", res.status}, {"remote_ip", remote_ip}});
        conn.phase = Phase::kWriting;
        if (!conn.timed_out) {
            conn.deadline = Clock::now() + kErrorWriteTimeout;
        }
        res.headers.emplace_back("X-Content-Type-Options", "nosniff");
        const std::string head = SerializeHead(res, 11, Date(w), FramingOf(res, res.body.size(), false));
        const std::array<net::const_buffer, 2> both{net::buffer(head), net::buffer(res.body)};
        boost::system::error_code ec;
        co_await net::async_write(conn.socket, both, net::redirect_error(net::use_awaitable, ec));
    }

    config::HttpConfig cfg_;
    std::shared_ptr<const Router> router_;
    std::vector<std::unique_ptr<Worker>> workers_;
    std::optional<net::signal_set> signals_;
    std::atomic<std::size_t> open_{0};
    std::atomic<std::size_t> in_flight_{0};
    std::atomic<std::size_t> streams_{0};
    obs::Counter accepted_;
    obs::Counter refused_;
    std::atomic<bool> stopping_{false};
    std::atomic<Clock::time_point> stop_started_{};
    std::uint16_t port_ = 0;
    net::thread_pool disk_{2};  // spooled upload bodies and uncached file downloads, off the I/O threads
};

Server::Server(const config::HttpConfig& config, std::shared_ptr<const Router> router)
    : impl_(std::make_unique<Impl>(config, std::move(router))) {}
Server::~Server() = default;
Result<void> Server::Listen() {
    return impl_->Listen();
}
std::uint16_t Server::Port() const {
    return impl_->Port();
}
void Server::Run() {
    impl_->Run();
}
void Server::Stop() {
    impl_->Stop();
}
void Server::StopOnSignals() {
    impl_->StopOnSignals();
}
void Server::CollectMetrics(obs::Exposition& out) const {
    impl_->CollectMetrics(out);
}

}  // namespace basalt::http
