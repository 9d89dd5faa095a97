// SPDX-License-Identifier: MIT
#include "http/event_stream.hpp"

#include <utility>

#include "obs/metrics.hpp"

namespace basalt::http {

bool EventStream::Push(std::string_view bytes) {
    return Push(std::vector<Segment>{std::make_shared<const std::string>(bytes)});
}

bool EventStream::Push(const std::vector<Segment>& segments) {
    std::size_t size = 0;
    for (const auto& seg : segments) {
        size += seg->size();
    }
    std::function<void()> wake;
    bool overflow = false;
    {
        std::lock_guard lock(mu_);
        if (closed_) {
            return false;
        }
        if (queued_bytes_ + size > limits_.max_queued_bytes) {
            overflow = true;
            if (limits_.overflows != nullptr) {
                limits_.overflows->Add();
            }
        } else {
            if (queue_.empty()) {
                wake = wake_;  // the connection may be waiting: tell it (once per empty-to-non-empty)
            }
            queue_.insert(queue_.end(), segments.begin(), segments.end());
            queued_bytes_ += size;
        }
    }
    if (overflow) {
        Close();
        return false;
    }
    if (wake) {
        wake();
    }
    return true;
}

std::size_t EventStream::QueuedBytes() const {
    std::lock_guard lock(mu_);
    return queued_bytes_;
}

void EventStream::Close() {
    std::function<void()> wake;
    std::function<void()> on_close;
    {
        std::lock_guard lock(mu_);
        if (closed_) {
            return;
        }
        closed_ = true;
        queue_.clear();
        queue_.shrink_to_fit();
        queued_bytes_ = 0;
        wake = std::move(wake_);
        on_close = std::move(on_close_);
    }
    if (wake) {
        wake();
    }
    if (on_close) {
        on_close();
    }
}

bool EventStream::Closed() const {
    std::lock_guard lock(mu_);
    return closed_;
}

void EventStream::OnClose(std::function<void()> callback) {
    std::lock_guard lock(mu_);
    on_close_ = std::move(callback);
}

bool EventStream::Take(std::vector<Segment>& out) {
    std::lock_guard lock(mu_);
    if (closed_) {
        return false;
    }
    if (out.empty()) {
        out.swap(queue_);
    } else {
        out.insert(out.end(), queue_.begin(), queue_.end());
        queue_.clear();
    }
    queued_bytes_ = 0;
    return true;
}

void EventStream::SetWaker(std::function<void()> wake) {
    std::lock_guard lock(mu_);
    wake_ = std::move(wake);
}

}  // namespace basalt::http
