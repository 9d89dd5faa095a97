// SPDX-License-Identifier: MIT
#include "thumbs/thumbnailer.hpp"

#include <functional>
#include <vector>

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "obs/log.hpp"

namespace basalt::thumbs {

// The callers waiting for one thumb; each resumes on its own executor.
struct Thumbnailer::Flight {
    std::vector<std::function<void(const Result<void>&)>> waiters;
};

Thumbnailer::Thumbnailer(storage::Storage& store, ThumbnailerOptions options)
    : store_(store),
      options_(options),
      pool_(std::max(1U, options.threads)) {}

Thumbnailer::~Thumbnailer() {
    Stop();
}

void Thumbnailer::Stop() {
    stopped_ = true;
    pool_.join();
}

net::awaitable<Result<void>> Thumbnailer::Ensure(std::string original_key, std::string thumb_key, ThumbSpec spec) {
    auto executor = co_await net::this_coro::executor;
    Result<void> outcome = Ok();
    co_await net::async_initiate<decltype(net::use_awaitable), void()>(
        [this, executor, &outcome, &original_key, &thumb_key, &spec](auto handler) {
            auto shared = std::make_shared<decltype(handler)>(std::move(handler));
            auto resume = [executor, &outcome, shared](const Result<void>& r) {
                outcome = r;  // the coroutine is suspended until the post below runs it
                net::post(executor, [shared] { (*shared)(); });
            };
            bool first = false;
            {
                const std::lock_guard lock(mu_);
                auto& flight = flights_[thumb_key];
                if (!flight) {
                    flight = std::make_shared<Flight>();
                    first = true;
                }
                flight->waiters.emplace_back(std::move(resume));
            }
            if (first) {
                Start(original_key, thumb_key, spec);
            }
        },
        net::use_awaitable
    );
    co_return outcome;
}

void Thumbnailer::Start(const std::string& original_key, const std::string& thumb_key, const ThumbSpec& spec) {
    if (stopped_ || queued_.fetch_add(1) >= options_.max_queued) {
        queued_.fetch_sub(1);
        Finish(thumb_key, MakeError(ErrorCode::kUnavailable, "too many thumbs are being made"));
        return;
    }
    net::post(pool_, [this, original_key, thumb_key, spec] {
        queued_.fetch_sub(1);
        Finish(thumb_key, Generate(original_key, thumb_key, spec));
    });
}

void Thumbnailer::Finish(const std::string& thumb_key, const Result<void>& outcome) {
    std::shared_ptr<Flight> flight;
    {
        const std::lock_guard lock(mu_);
        auto it = flights_.find(thumb_key);
        flight = std::move(it->second);
        flights_.erase(it);
    }
    for (const auto& wake : flight->waiters) {
        wake(outcome);
    }
}

Result<void> Thumbnailer::Generate(
    const std::string& original_key, const std::string& thumb_key, const ThumbSpec& spec
) {
    if (store_.Stat(thumb_key)) {
        return Ok();  // made while this request was on its way
    }
    BASALT_ASSIGN_OR_RETURN(auto reader, store_.Open(original_key));
    const std::uint64_t size = reader->Info().size;
    if (size > options_.limits.max_source_bytes) {
        return MakeError(ErrorCode::kInvalidArgument, "the image is too large to make a thumb of");
    }
    std::string source(size, '\0');
    BASALT_ASSIGN_OR_RETURN(const std::size_t n, reader->ReadAt(0, source));
    source.resize(n);
    reader.reset();
    BASALT_ASSIGN_OR_RETURN(const Image thumb, MakeThumb(source, spec, options_.limits));
    BASALT_ASSIGN_OR_RETURN(auto upload, store_.Create(thumb_key, thumb.content_type));
    BASALT_TRY(upload->Write(thumb.bytes));
    BASALT_TRY(upload->Commit());
    ++made_;
    obs::Debug("thumb made", {{"key", thumb_key}, {"bytes", std::uint64_t(thumb.bytes.size())}});
    return Ok();
}

}  // namespace basalt::thumbs
