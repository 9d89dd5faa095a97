// SPDX-License-Identifier: MIT
#include "api/blocking.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/bind_executor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "core/api_error.hpp"
#include "obs/trace.hpp"

namespace basalt::api {

namespace {

// Takes the calling thread's span (clearing it) while a coroutine waits, and gives it back when
// destroyed, on the thread the coroutine resumed on.
class SpanHandOff {
public:
    SpanHandOff() {
        if (const obs::TraceContext* current = obs::CurrentSpan()) {
            span_ = *current;
            obs::SetCurrentSpan(nullptr);
        }
    }
    ~SpanHandOff() {
        if (span_.Valid()) {
            obs::SetCurrentSpan(&span_);
        }
    }
    SpanHandOff(const SpanHandOff&) = delete;
    SpanHandOff& operator=(const SpanHandOff&) = delete;
    /// The span taken (not Valid() when there was none).
    const obs::TraceContext& Span() const { return span_; }

private:
    obs::TraceContext span_;
};

}  // namespace

struct BlockingPool::Impl {
    Impl(unsigned threads, std::size_t max) : pool(threads), max_queued(max) {}
    net::thread_pool pool;
    std::size_t max_queued;
    std::atomic<std::size_t> queued{0};
    std::atomic<std::uint64_t> rejected{0};
};

BlockingPool::BlockingPool(unsigned threads, std::size_t max_queued)
    : impl_(std::make_unique<Impl>(threads, max_queued)) {}

BlockingPool::~BlockingPool() {
    Stop();
}

void BlockingPool::Stop() {
    impl_->pool.join();
}

std::size_t BlockingPool::Queued() const {
    return impl_->queued.load(std::memory_order_relaxed);
}

std::uint64_t BlockingPool::Rejected() const {
    return impl_->rejected.load(std::memory_order_relaxed);
}

net::awaitable<void> BlockingPool::Run(std::function<void()> fn) {
    Impl* impl = impl_.get();
    if (impl->queued.fetch_add(1) >= impl->max_queued) {
        impl->queued.fetch_sub(1);
        impl->rejected.fetch_add(1, std::memory_order_relaxed);
        throw ApiError(503, "The server is busy. Please try again.");
    }
    auto executor = co_await net::this_coro::executor;
    std::exception_ptr failure;
    // The caller's span goes with the work (its log lines, the jobs it enqueues) and is not left on
    // the I/O thread, which serves other requests while this one waits.
    const SpanHandOff span;
    co_await net::async_initiate<decltype(net::use_awaitable), void()>(
        [impl, executor, &fn, &failure, &span](auto handler) {
            auto shared = std::make_shared<decltype(handler)>(std::move(handler));
            net::post(impl->pool, [impl, executor, &fn, &failure, &span, shared] {
                try {
                    const obs::ScopedSpan scope(span.Span());
                    fn();
                } catch (...) {
                    failure = std::current_exception();  // rethrown on the I/O thread, into the router
                }
                impl->queued.fetch_sub(1);
                net::post(executor, [shared] { (*shared)(); });
            });
        },
        net::use_awaitable
    );
    if (failure) {
        std::rethrow_exception(failure);
    }
}

net::awaitable<Result<void>> AwaitWrite(db::Database& db, db::WriteFn fn) {
    auto executor = co_await net::this_coro::executor;
    Result<void> outcome;
    const SpanHandOff span;  // off the I/O thread while the write waits
    co_await net::async_initiate<decltype(net::use_awaitable), void()>(
        [&db, &fn, &outcome, &span, executor](auto handler) {
            auto shared = std::make_shared<decltype(handler)>(std::move(handler));
            const obs::ScopedSpan scope(span.Span());  // the write runs under the submitter's span
            db.SubmitWrite(std::move(fn), [&outcome, executor, shared](Result<void> r) {
                outcome = std::move(r);
                net::post(executor, [shared] { (*shared)(); });
            });
        },
        net::use_awaitable
    );
    co_return outcome;
}

}  // namespace basalt::api
