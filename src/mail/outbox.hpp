// SPDX-License-Identifier: MIT
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

#include "mail/mail.hpp"

namespace basalt::mail {

/// Sends mail on its own thread, so that a request never waits for (or reveals, by its timing) a
/// delivery. Bounded: beyond `max_queued` messages a new one is dropped and logged. Until the
/// durable job queue exists, a message queued when the process dies is lost. Thread-safe.
class Outbox {
public:
    using SendFn = std::function<Result<void>(const SmtpConfig&, const Message&)>;

    explicit Outbox(std::size_t max_queued = 1000, SendFn send = Send);
    ~Outbox();
    Outbox(const Outbox&) = delete;
    Outbox& operator=(const Outbox&) = delete;

    /// Queues `message` for `config`; false when the queue is full.
    bool Enqueue(SmtpConfig config, Message message);

    /// Finishes what is queued and stops the thread. Idempotent.
    void Stop();

private:
    void Run();

    std::size_t max_queued_;
    SendFn send_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<std::pair<SmtpConfig, Message>> queue_;
    bool stopping_ = false;
    std::thread thread_;
};

}  // namespace basalt::mail
