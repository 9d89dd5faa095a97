// SPDX-License-Identifier: MIT
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <boost/json/object.hpp>

#include "auth/principal.hpp"
#include "collections/store.hpp"
#include "core/background_loop.hpp"
#include "core/result.hpp"
#include "events/events.hpp"
#include "http/event_stream.hpp"
#include "obs/metrics.hpp"
#include "records/service.hpp"

namespace basalt::realtime {

inline constexpr std::size_t kMaxSubscriptions = 1000;
inline constexpr std::size_t kMaxTopicLength = 2500;

/// One topic of a client, parsed: `<collection>/*`, `<collection>/<id>`, `<collection>`, `@oauth2`,
/// each optionally with `?options=<urlencoded {"query":{...},"headers":{...}}>`.
struct Subscription {
    std::string topic;       // as the client sent it: the SSE event name
    std::string collection;  // id or name; empty for @oauth2
    std::string record_id;   // empty: every record (list rule); otherwise that record (view rule)
    boost::json::object query;
    boost::json::object headers;
    std::string expand;
    std::string fields;
};

/// Parses a topic. kInvalidArgument for one that is malformed (bad options JSON, control characters).
Result<Subscription> ParseTopic(std::string_view topic);

/// Who a client is: set by its latest POST /api/realtime. `reauth` checks the credentials again
/// (after its auth record changed); it returns null when they no longer hold.
struct ClientAuth {
    std::shared_ptr<const auth::Principal> principal;
    std::function<std::shared_ptr<const auth::Principal>()> reauth;
};

/// The realtime hub: SSE clients, their subscriptions, and the fan-out of committed events (from the
/// outbox, in commit order) to them, checking each client's access per message with
/// @request.context = "realtime" and exporting records with REST's visibility. Fan-out runs on the
/// hub's own threads, `Limits::fanout_threads` of them: each client belongs to one (its shard), and
/// that thread renders and pushes every event for it, so a client gets its events in commit order
/// while the shards work side by side. Pushing to a client never blocks (a client whose queue is full
/// is dropped and reconnects). Thread-safe.
class Hub {
public:
    struct Limits {
        http::EventStream::Limits stream;
        std::size_t max_pending_events = 100000;  // beyond it the hub is behind: every client is reset
        /// After a fan-out that reached many clients, events are gathered this long before the next.
        std::chrono::milliseconds coalesce{20};
        /// Fan-out threads (shards of the clients); at least one.
        unsigned fanout_threads = 1;
    };

    Hub(collections::CollectionStore& collections, records::RecordService& records, Limits limits);
    ~Hub();
    Hub(const Hub&) = delete;
    Hub& operator=(const Hub&) = delete;

    /// A new client from `remote_ip`: its stream with PB_CONNECT queued. The client is forgotten when
    /// the stream ends.
    std::shared_ptr<http::EventStream> Connect(const std::string& remote_ip, std::string* client_id);

    /// Replaces the client's subscriptions (POST /api/realtime). Errors: kNotFound (unknown client),
    /// kInvalidArgument with field errors (too many or malformed topics), kForbidden (an auth that
    /// differs from the client's earlier one), kConflict (a request from another IP than the stream's).
    Result<void> SetSubscriptions(
        std::string_view client_id, std::string_view remote_ip, const std::vector<std::string>& topics, ClientAuth auth
    );

    /// Sends `data` as event `topic` to the client when it is subscribed to it (@oauth2 redirects).
    /// False when there is no such client or subscription.
    bool SendTo(std::string_view client_id, std::string_view topic, std::string_view data);

    /// The outbox consumer: queues the event for fan-out (never blocks on clients).
    void Publish(const events::Event& event);

    std::size_t ClientCount() const;
    /// basalt_realtime_{clients, subscriptions, queued_bytes, pending_events, events_total,
    /// dropped_clients_total, resets_total}. Thread-safe.
    void CollectMetrics(obs::Exposition& out) const;
    /// Whether some client is subscribed to a collection (only then do events need their records).
    bool HasSubscriptions() const;
    /// Ends every stream and the fan-out thread.
    void Stop();

private:
    struct Client;
    struct State;
    struct Entry {
        std::shared_ptr<Client> client;
        std::shared_ptr<const State> state;
    };
    // The subscribers of one collection key; `snapshots` (one per shard, null when stale, rebuilt on
    // use) are what fan-out reads without holding the lock per client.
    struct Index {
        std::unordered_map<std::string, Entry> members;
        std::vector<std::shared_ptr<const std::vector<Entry>>> snapshots;
    };
    using EventPtr = std::shared_ptr<const events::Event>;

    /// The body of one fan-out thread: claims a shard and serves its clients until stopped.
    void Run(const std::stop_token& stop);
    /// Sends a batch to the clients of `shard`; returns how many it wrote to.
    std::size_t FanOut(const std::vector<EventPtr>& batch, unsigned shard);
    /// Everything one batch sends each client, pushed at once: one wake-up and one write per client.
    using Outgoing =
        std::unordered_map<Client*, std::pair<std::shared_ptr<Client>, std::vector<http::EventStream::Segment>>>;
    /// Adds to `out` the frames of one event of `c` for the subscribers of `shard` that may see it.
    void FanOutEvent(
        const schema::Collection& c,
        const collections::Snapshot& snapshot,
        const events::Event& event,
        unsigned shard,
        Outgoing& out
    );
    /// Checks again the credentials of the shard's clients signed in as the event's record (a change
    /// to it, a revocation of its sessions or keys).
    void ReauthOwners(const schema::Collection& c, const events::Event& event, unsigned shard);
    std::optional<std::string> Render(
        const schema::Collection& c,
        const collections::Snapshot& snapshot,
        const events::Event& event,
        const boost::json::object& record,
        const Subscription& sub,
        const auth::Principal* principal
    ) const;
    void Forget(const std::string& client_id);
    /// Moves `client` from `previous` subscriptions to `next` (null: none) in the index. Under mu_.
    void Reindex(
        const std::shared_ptr<Client>& client, const State& previous, const std::shared_ptr<const State>& next
    );
    /// The subscribers under `key` in `shard`; null when there are none. Under mu_.
    std::shared_ptr<const std::vector<Entry>> Subscribers(const std::string& key, unsigned shard);

    collections::CollectionStore& collections_;
    records::RecordService& records_;
    Limits limits_;

    mutable std::mutex mu_;
    std::unordered_map<std::string, std::shared_ptr<Client>> clients_;
    // Clients with at least one subscription naming the collection (by the id or name they used).
    std::unordered_map<std::string, Index> by_collection_;
    // Signed-in clients by "<collectionId>/<recordId>" of their auth record: a change to that record
    // re-checks their credentials without scanning every client.
    std::unordered_map<std::string, std::unordered_map<std::string, std::shared_ptr<Client>>> by_auth_;

    mutable std::mutex queue_mu_;
    std::vector<std::deque<EventPtr>> queues_;  // one per shard, all fed by Publish
    std::atomic<bool> stopping_{false};
    obs::Counter events_;                         // events queued for fan-out
    obs::Counter drops_;                          // clients whose queue overflowed
    obs::Counter resets_;                         // every client reset: the fan-out fell behind
    std::atomic<unsigned> next_thread_shard_{0};  // Run claims shards in order
    std::atomic<unsigned> next_client_shard_{0};  // Connect deals clients round-robin
    BackgroundLoop loop_;                         // the fan-out; last: stopped before the members its thread uses go
};

}  // namespace basalt::realtime
