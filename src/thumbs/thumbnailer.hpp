// SPDX-License-Identifier: MIT
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>

#include "core/result.hpp"
#include "storage/storage.hpp"
#include "thumbs/thumb_spec.hpp"
#include "thumbs/thumbnail.hpp"

namespace basalt::thumbs {

namespace net = boost::asio;

/// How many thumbs are made at once and what each may cost.
struct ThumbnailerOptions {
    unsigned threads = 2;         // generations at once, each on its own thread (never an I/O thread)
    std::size_t max_queued = 64;  // thumbs waiting for a thread; beyond that Ensure fails at once
    Limits limits;
};

/// Makes thumbs into storage, once each: concurrent Ensure calls for the same thumb key wait for
/// one generation (single-flight), and at most `threads` generations run at a time on the
/// thumbnailer's own threads. Thread-safe.
class Thumbnailer {
public:
    Thumbnailer(storage::Storage& store, ThumbnailerOptions options);
    ~Thumbnailer();
    Thumbnailer(const Thumbnailer&) = delete;
    Thumbnailer& operator=(const Thumbnailer&) = delete;

    /// Makes `thumb_key` from `original_key` (see MakeThumb) unless it is already stored, and
    /// resumes the caller on its own executor when it is. kInvalidArgument when the original cannot
    /// be made a thumb of, kNotFound without the original, kUnavailable when too many are queued
    /// or the thumbnailer has stopped, kInternal when storage fails.
    net::awaitable<Result<void>> Ensure(std::string original_key, std::string thumb_key, ThumbSpec spec);

    /// The same, blocking the calling thread, without the single-flight: what one generation does.
    Result<void> Generate(const std::string& original_key, const std::string& thumb_key, const ThumbSpec& spec);

    /// Finishes the generations under way and refuses new ones.
    void Stop();

    /// How many thumbs this thumbnailer has written.
    std::uint64_t MadeForTest() const { return made_; }

private:
    struct Flight;
    void Start(const std::string& original_key, const std::string& thumb_key, const ThumbSpec& spec);
    void Finish(const std::string& thumb_key, const Result<void>& outcome);

    storage::Storage& store_;
    ThumbnailerOptions options_;
    net::thread_pool pool_;
    std::mutex mu_;
    std::unordered_map<std::string, std::shared_ptr<Flight>> flights_;
    std::atomic<std::size_t> queued_{0};
    std::atomic<bool> stopped_{false};
    std::atomic<std::uint64_t> made_{0};
};

}  // namespace basalt::thumbs
