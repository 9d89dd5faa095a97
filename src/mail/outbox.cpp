// SPDX-License-Identifier: MIT
#include "mail/outbox.hpp"

#include "obs/log.hpp"

namespace basalt::mail {

Outbox::Outbox(std::size_t max_queued, SendFn send)
    : max_queued_(max_queued),
      send_(std::move(send)),
      thread_([this] { Run(); }) {}

Outbox::~Outbox() {
    Stop();
}

bool Outbox::Enqueue(SmtpConfig config, Message message) {
    {
        std::lock_guard lock(mu_);
        if (stopping_ || queue_.size() >= max_queued_) {
            obs::Warn("mail dropped: the outbox is full", {{"to", message.to}});
            return false;
        }
        queue_.emplace_back(std::move(config), std::move(message));
    }
    cv_.notify_one();
    return true;
}

void Outbox::Stop() {
    {
        std::lock_guard lock(mu_);
        if (stopping_) {
            return;
        }
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) {
        thread_.join();
    }
}

void Outbox::Run() {
    for (;;) {
        std::pair<SmtpConfig, Message> next;
        {
            std::unique_lock lock(mu_);
            cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
            if (queue_.empty()) {
                return;
            }
            next = std::move(queue_.front());
            queue_.pop_front();
        }
        if (auto r = send_(next.first, next.second); !r) {
            obs::Warn("mail not sent", {{"to", next.second.to}, {"error", r.error().message}});
        } else {
            obs::Info("mail sent", {{"to", next.second.to}, {"subject", next.second.subject}});
        }
    }
}

}  // namespace basalt::mail
