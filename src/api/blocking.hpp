// SPDX-License-Identifier: MIT
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>

#include <boost/asio/awaitable.hpp>

#include "core/result.hpp"
#include "db/database.hpp"

namespace basalt::api {

namespace net = boost::asio;

/// A fixed set of threads for work that must not run on an I/O thread (password hashing, blocking
/// writes). Bounded: at most `max_queued` tasks wait; beyond that Run answers 503 at once.
class BlockingPool {
public:
    BlockingPool(unsigned threads, std::size_t max_queued);
    ~BlockingPool();
    BlockingPool(const BlockingPool&) = delete;
    BlockingPool& operator=(const BlockingPool&) = delete;

    /// Runs `fn` on the pool and resumes the calling coroutine on its own executor afterwards.
    /// The calling thread's span (obs::CurrentSpan) is `fn`'s while it runs, and is off the calling
    /// thread while it waits (that thread serves other requests meanwhile).
    /// Throws ApiError 503 when the queue is full.
    net::awaitable<void> Run(std::function<void()> fn);

    /// Runs `fn` on the pool and answers what it returned (usually a Result), so a caller needs no
    /// placeholder to assign into: `auto r = co_await pool.Call([&] { return store.List(q); });`.
    template <typename F>
    net::awaitable<std::invoke_result_t<F&>> Call(F fn) {
        std::optional<std::invoke_result_t<F&>> out;
        co_await Run([&] { out.emplace(fn()); });
        co_return std::move(*out);
    }

    void Stop();

    /// Tasks queued or running now.
    std::size_t Queued() const;
    /// Tasks refused with 503 because the queue was full (since start).
    std::uint64_t Rejected() const;

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Submits `fn` to the database writer and resumes the calling coroutine (on its executor) when the
/// write is durable or failed. Never blocks the I/O thread. Like BlockingPool::Run, takes the
/// calling thread's span off it while waiting.
net::awaitable<Result<void>> AwaitWrite(db::Database& db, db::WriteFn fn);

}  // namespace basalt::api
