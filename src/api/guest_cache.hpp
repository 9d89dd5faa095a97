// SPDX-License-Identifier: MIT
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "obs/metrics.hpp"

namespace basalt::api {

/// Answers to guests' record lists and views, kept by request (method and target) and tagged with
/// the data version read before the answer's data was read (collections::CollectionStore::
/// DataVersion, which moves before and after every commit and before any write is acknowledged).
/// An entry is served only while the version is still the one it was tagged with, so no answer
/// outlives the acknowledgement of a write that could change it. Bounded in bytes (8 shards; a full
/// shard drops stale entries first, then everything). Thread-safe.
class GuestCache {
public:
    /// `max_bytes` of bodies in all; an answer over 1/64 of it (at most 256 KiB) is not kept.
    explicit GuestCache(std::size_t max_bytes);
    ~GuestCache();
    GuestCache(const GuestCache&) = delete;
    GuestCache& operator=(const GuestCache&) = delete;

    /// The body stored for `key` under `version`, or nullptr.
    std::shared_ptr<const std::string> Find(std::string_view key, std::uint64_t version) const;
    /// Keeps `body` for `key`, tagged `version` (read before the data was). `current` is the
    /// version now: an answer already stale is not kept, and entries not tagged `current` go first
    /// when the shard is full.
    void Store(std::string_view key, std::uint64_t version, std::uint64_t current, std::string body);

    /// basalt_guest_cache_* families.
    void CollectMetrics(obs::Exposition& out) const;

private:
    struct Shard;
    Shard& ShardFor(std::string_view key) const;

    std::size_t max_bytes_;
    std::size_t max_entry_;
    std::unique_ptr<Shard[]> shards_;
    mutable obs::Counter hits_;
    mutable obs::Counter misses_;
};

}  // namespace basalt::api
