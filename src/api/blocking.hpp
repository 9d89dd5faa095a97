// SPDX-License-Identifier: MIT
#pragma once

#include <atomic>
#include <functional>
#include <memory>

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
    /// Throws ApiError 503 when the queue is full.
    net::awaitable<void> Run(std::function<void()> fn);

    void Stop();

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

/// Submits `fn` to the database writer and resumes the calling coroutine (on its executor) when the
/// write is durable or failed. Never blocks the I/O thread.
net::awaitable<Result<void>> AwaitWrite(db::Database& db, db::WriteFn fn);

}  // namespace basalt::api
