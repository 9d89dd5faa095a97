// SPDX-License-Identifier: MIT
#include "realtime/hub.hpp"

#include <algorithm>
#include <optional>
#include <unordered_set>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "core/json.hpp"
#include "core/random.hpp"
#include "core/text.hpp"
#include "http/request.hpp"
#include "obs/log.hpp"
#include "records/fields_picker.hpp"

namespace basalt::realtime {

namespace json = boost::json;

namespace {

constexpr std::string_view kIdAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
constexpr std::size_t kMaxBatch = 512;
constexpr std::size_t kCoalesceAbove = 64;

std::string Frame(std::string_view client_id, std::string_view event, std::string_view data) {
    std::string f;
    f.reserve(client_id.size() + event.size() + data.size() + 20);
    f.append("id:").append(client_id).append("\nevent:").append(event).append("\ndata:").append(data).append("\n\n");
    return f;
}

// Options' string maps: values must be strings (PocketBase's map[string]string); header names as
// @request.headers sees them (lower case, '-' as '_').
Result<json::object> StringMap(const json::value* v, bool header_names) {
    json::object out;
    if (v == nullptr || v->is_null()) {
        return out;
    }
    if (!v->is_object()) {
        return MakeError(ErrorCode::kInvalidArgument, "options must map names to strings");
    }
    for (const auto& [k, val] : v->as_object()) {
        if (!val.is_string()) {
            return MakeError(ErrorCode::kInvalidArgument, "options must map names to strings");
        }
        std::string name(k);
        if (header_names) {
            name = ToLower(name);
            for (char& ch : name) {
                if (ch == '-') {
                    ch = '_';
                }
            }
        }
        out[name] = val;
    }
    return out;
}

}  // namespace

Result<Subscription> ParseTopic(std::string_view topic) {
    Subscription s;
    s.topic = std::string(topic);
    if (topic.empty()) {
        return MakeError(ErrorCode::kInvalidArgument, "empty topic");
    }
    for (const char ch : topic) {
        if (static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f) {
            return MakeError(ErrorCode::kInvalidArgument, "control characters in topic");
        }
    }
    std::string_view path = topic;
    const auto q = topic.find('?');
    if (q != std::string_view::npos) {
        path = topic.substr(0, q);
        const std::string_view query = topic.substr(q + 1);
        // The options are the query's `options` parameter.
        std::optional<std::string> raw;
        std::size_t pos = 0;
        while (pos <= query.size()) {
            const auto amp = query.find('&', pos);
            const std::string_view part = query.substr(pos, amp == std::string_view::npos ? query.npos : amp - pos);
            const auto eq = part.find('=');
            if (http::PercentDecode(part.substr(0, eq), true) == "options" && eq != std::string_view::npos) {
                raw = http::PercentDecode(part.substr(eq + 1), true);
            }
            if (amp == std::string_view::npos) {
                break;
            }
            pos = amp + 1;
        }
        if (raw && !raw->empty()) {
            boost::system::error_code ec;
            json::value v = ParseJson(*raw, ec);
            if (ec || !v.is_object()) {
                return MakeError(ErrorCode::kInvalidArgument, "options must be a JSON object");
            }
            BASALT_ASSIGN_OR_RETURN(auto query_map, StringMap(v.as_object().if_contains("query"), false));
            BASALT_ASSIGN_OR_RETURN(auto header_map, StringMap(v.as_object().if_contains("headers"), true));
            s.query = std::move(query_map);
            s.headers = std::move(header_map);
            if (const auto* e = s.query.if_contains("expand")) {
                s.expand = std::string(e->as_string());
            }
            if (const auto* f = s.query.if_contains("fields")) {
                s.fields = std::string(f->as_string());
            }
        }
    }
    if (path == "@oauth2") {
        return s;
    }
    const auto slash = path.find('/');
    s.collection = std::string(path.substr(0, slash));
    if (slash != std::string_view::npos) {
        const std::string_view id = path.substr(slash + 1);
        if (id != "*") {
            s.record_id = std::string(id);
        }
    }
    if (s.collection.empty() || (slash != std::string_view::npos && path.substr(slash + 1).empty())) {
        return MakeError(ErrorCode::kInvalidArgument, "a topic is <collection>/* or <collection>/<recordId>");
    }
    return s;
}

struct Hub::State {
    std::vector<Subscription> subs;
    ClientAuth auth;
};

struct Hub::Client {
    std::string id;
    std::string ip;
    std::shared_ptr<http::EventStream> stream;
    http::EventStream::Segment prefix;  // "id:<id>": every frame starts with it
    unsigned shard = 0;                 // the fan-out thread that serves it
    std::mutex mu;
    std::shared_ptr<const State> state = std::make_shared<State>();

    std::shared_ptr<const State> Current() {
        std::lock_guard lock(mu);
        return state;
    }
};

Hub::Hub(collections::CollectionStore& collections, records::RecordService& records, Limits limits)
    : collections_(collections),
      records_(records),
      limits_(limits) {
    limits_.fanout_threads = std::max(1U, limits_.fanout_threads);
    limits_.stream.overflows = &drops_;
    queues_.resize(limits_.fanout_threads);
    loop_.Start([this](const std::stop_token& stop) { Run(stop); }, limits_.fanout_threads);
}

Hub::~Hub() {
    Stop();
}

std::shared_ptr<http::EventStream> Hub::Connect(const std::string& remote_ip, std::string* client_id) {
    auto client = std::make_shared<Client>();
    client->id = SecureRandomString(40, kIdAlphabet);
    client->ip = remote_ip;
    client->stream = std::make_shared<http::EventStream>(limits_.stream);
    client->prefix = std::make_shared<const std::string>("id:" + client->id);
    client->shard = next_client_shard_.fetch_add(1, std::memory_order_relaxed) % limits_.fanout_threads;
    client->stream->Push(Frame(client->id, "PB_CONNECT", "{\"clientId\":\"" + client->id + "\"}"));
    client->stream->OnClose([this, id = client->id] { Forget(id); });
    bool refused = false;
    {
        std::lock_guard lock(mu_);
        refused = stopping_;
        if (!refused) {
            clients_.emplace(client->id, client);
        }
    }
    if (refused) {
        client->stream->Close();  // outside mu_: closing runs Forget, which takes it
    }
    *client_id = client->id;
    return client->stream;
}

void Hub::Forget(const std::string& client_id) {
    std::lock_guard lock(mu_);
    auto it = clients_.find(client_id);
    if (it == clients_.end()) {
        return;
    }
    const std::shared_ptr<Client> gone = it->second;
    clients_.erase(it);
    Reindex(gone, *gone->Current(), nullptr);
}

namespace {

// The by_auth_ key of a state's principal; empty for guests and superusers.
std::string AuthKeyOf(const std::shared_ptr<const auth::Principal>& p) {
    return p && !p->superuser ? p->record.collection_id + "/" + p->record.id : std::string();
}

}  // namespace

void Hub::Reindex(
    const std::shared_ptr<Client>& client, const State& previous, const std::shared_ptr<const State>& next
) {
    if (const std::string key = AuthKeyOf(previous.auth.principal); !key.empty()) {
        auto it = by_auth_.find(key);
        if (it != by_auth_.end()) {
            it->second.erase(client->id);
            if (it->second.empty()) {
                by_auth_.erase(it);
            }
        }
    }
    if (const std::string key = next ? AuthKeyOf(next->auth.principal) : std::string(); !key.empty()) {
        by_auth_[key][client->id] = client;
    }
    for (const auto& s : previous.subs) {
        auto idx = by_collection_.find(s.collection);
        if (idx != by_collection_.end()) {
            idx->second.members.erase(client->id);
            idx->second.snapshots[client->shard].reset();
            if (idx->second.members.empty()) {
                by_collection_.erase(idx);
            }
        }
    }
    if (next) {
        for (const auto& s : next->subs) {
            if (!s.collection.empty()) {
                Index& idx = by_collection_[s.collection];
                idx.snapshots.resize(limits_.fanout_threads);
                idx.members[client->id] = Entry{client, next};
                idx.snapshots[client->shard].reset();
            }
        }
    }
    std::lock_guard client_lock(client->mu);
    client->state = next ? next : std::make_shared<const State>();
}

std::shared_ptr<const std::vector<Hub::Entry>> Hub::Subscribers(const std::string& key, unsigned shard) {
    auto idx = by_collection_.find(key);
    if (idx == by_collection_.end()) {
        return nullptr;
    }
    auto& snapshot = idx->second.snapshots[shard];
    if (!snapshot) {
        auto v = std::make_shared<std::vector<Entry>>();
        for (const auto& [id, e] : idx->second.members) {
            if (e.client->shard == shard) {
                v->push_back(e);
            }
        }
        snapshot = std::move(v);
    }
    return snapshot->empty() ? nullptr : snapshot;
}

Result<void> Hub::SetSubscriptions(
    std::string_view client_id, std::string_view remote_ip, const std::vector<std::string>& topics, ClientAuth auth
) {
    std::vector<FieldError> errors;
    if (topics.size() > kMaxSubscriptions) {
        errors.push_back(
            {"subscriptions",
             "validation_length_too_long",
             "Must have at most " + std::to_string(kMaxSubscriptions) + " items."}
        );
    }
    auto next = std::make_shared<State>();
    for (std::size_t i = 0; i < topics.size() && errors.empty(); ++i) {
        const std::string field = "subscriptions." + std::to_string(i);
        if (topics[i].size() > kMaxTopicLength) {
            errors.push_back(
                {field,
                 "validation_length_too_long",
                 "Must be no more than " + std::to_string(kMaxTopicLength) + " characters."}
            );
            continue;
        }
        auto s = ParseTopic(topics[i]);
        if (!s) {
            errors.push_back({field, "validation_invalid_topic", Sentenize(s.error().message)});
            continue;
        }
        next->subs.push_back(std::move(*s));
    }
    if (!errors.empty()) {
        return ValidationError("Failed to load the submitted data due to invalid formatting.", std::move(errors));
    }
    next->auth = std::move(auth);

    std::lock_guard lock(mu_);
    auto it = clients_.find(std::string(client_id));
    if (it == clients_.end()) {
        return MakeError(ErrorCode::kNotFound, "Missing or invalid client id.");
    }
    Client& client = *it->second;
    if (client.ip != remote_ip) {
        return MakeError(ErrorCode::kConflict, "The current and the previous request IP don't match.");
    }
    const auto previous = client.Current();
    // A guest may sign in; a signed-in client stays who it is.
    if (const auto& old = previous->auth.principal) {
        const auto& now = next->auth.principal;
        if (!now || now->superuser != old->superuser || now->record.id != old->record.id ||
            now->record.collection_id != old->record.collection_id) {
            return MakeError(ErrorCode::kForbidden, "The current and the previous request authorization don't match.");
        }
    }
    Reindex(it->second, *previous, next);
    return Ok();
}

bool Hub::SendTo(std::string_view client_id, std::string_view topic, std::string_view data) {
    std::shared_ptr<Client> client;
    {
        std::lock_guard lock(mu_);
        auto it = clients_.find(std::string(client_id));
        if (it == clients_.end()) {
            return false;
        }
        client = it->second;
    }
    for (const auto& s : client->Current()->subs) {
        if (s.topic == topic) {
            return client->stream->Push(Frame(client->id, s.topic, data));
        }
    }
    return false;
}

namespace {

// Events that only say an auth record's credentials may no longer hold (its sessions or keys were
// revoked): its clients are checked again, nothing is sent.
bool IsRevocation(const events::Event& e) {
    return e.action == "auth.sessionRevoke" || e.action == "auth.keyRevoke" || e.action == "auth.passwordChange";
}

}  // namespace

void Hub::Publish(const events::Event& event) {
    if (event.action != "create" && event.action != "update" && event.action != "delete" && !IsRevocation(event)) {
        return;
    }
    bool overflow = false;
    auto shared = std::make_shared<const events::Event>(event);  // one copy, read by every shard
    {
        std::lock_guard lock(queue_mu_);
        if (stopping_) {
            return;
        }
        for (const auto& q : queues_) {
            overflow = overflow || q.size() >= limits_.max_pending_events;
        }
        for (auto& q : queues_) {
            if (overflow) {
                q.clear();
            } else {
                q.push_back(shared);
            }
        }
    }
    if (!overflow) {
        events_.Add();
    }
    if (overflow) {
        // Far behind: every client would get stale news late. Reset them all (they reconnect).
        obs::Warn("realtime fan-out fell behind; resetting every client", {{"pending", limits_.max_pending_events}});
        resets_.Add();
        std::vector<std::shared_ptr<http::EventStream>> streams;
        {
            std::lock_guard lock(mu_);
            for (const auto& [id, c] : clients_) {
                streams.push_back(c->stream);
            }
        }
        for (auto& s : streams) {
            s->Close();
        }
        return;
    }
    loop_.Notify();
}

bool Hub::HasSubscriptions() const {
    std::lock_guard lock(mu_);
    return !by_collection_.empty();
}

std::size_t Hub::ClientCount() const {
    std::lock_guard lock(mu_);
    return clients_.size();
}

void Hub::CollectMetrics(obs::Exposition& out) const {
    std::size_t clients = 0;
    std::size_t subscriptions = 0;
    std::size_t queued = 0;
    {
        std::lock_guard lock(mu_);
        clients = clients_.size();
        for (const auto& [id, c] : clients_) {
            subscriptions += c->Current()->subs.size();
            queued += c->stream->QueuedBytes();
        }
    }
    std::size_t pending = 0;
    {
        std::lock_guard lock(queue_mu_);
        for (const auto& q : queues_) {
            pending = std::max(pending, q.size());
        }
    }
    out.GaugeValue("basalt_realtime_clients", "Connected realtime clients.", static_cast<double>(clients));
    out.GaugeValue(
        "basalt_realtime_subscriptions",
        "Subscriptions (topics) of the connected clients.",
        static_cast<double>(subscriptions)
    );
    out.GaugeValue(
        "basalt_realtime_queued_bytes",
        "Bytes queued for realtime clients and not yet written.",
        static_cast<double>(queued)
    );
    out.GaugeValue(
        "basalt_realtime_pending_events",
        "Events waiting for fan-out (the longest shard queue).",
        static_cast<double>(pending)
    );
    out.CounterValue(
        "basalt_realtime_events_total", "Committed changes queued for fan-out.", static_cast<double>(events_.Value())
    );
    out.CounterValue(
        "basalt_realtime_dropped_clients_total",
        "Clients disconnected because their queue was full (they reconnect).",
        static_cast<double>(drops_.Value())
    );
    out.CounterValue(
        "basalt_realtime_resets_total",
        "Times the fan-out fell behind and every client was reset.",
        static_cast<double>(resets_.Value())
    );
}

void Hub::Stop() {
    {
        std::lock_guard lock(queue_mu_);
        stopping_ = true;
    }
    loop_.Stop();
    std::vector<std::shared_ptr<http::EventStream>> streams;
    {
        std::lock_guard lock(mu_);
        for (const auto& [id, c] : clients_) {
            streams.push_back(c->stream);
        }
    }
    for (auto& s : streams) {
        s->Close();  // each close forgets its client
    }
}

void Hub::Run(const std::stop_token& stop) {
    const unsigned shard = next_thread_shard_.fetch_add(1) % limits_.fanout_threads;
    std::deque<EventPtr>& queue = queues_[shard];
    std::vector<EventPtr> batch;
    std::size_t reached = 0;  // clients the last fan-out wrote to
    auto last = std::chrono::steady_clock::now();
    std::uint64_t seen = 0;
    while (!stop.stop_requested()) {
        bool empty = false;
        {
            std::lock_guard lock(queue_mu_);
            empty = queue.empty();
        }
        // Publish queues and then notifies, and `seen` was read before the queue: no event waits
        // for a wake-up that came before this check.
        if (empty) {
            if (!loop_.WaitForWake(stop, seen)) {
                return;
            }
            continue;
        }
        // Many subscribers: gather events for a short window after the last fan-out, so each
        // client gets one write (one wake-up, one syscall) per window rather than per commit.
        if (reached >= kCoalesceAbove && limits_.coalesce.count() > 0 &&
            !loop_.SleepUntil(stop, last + limits_.coalesce)) {
            return;
        }
        {
            std::lock_guard lock(queue_mu_);
            batch.clear();
            while (!queue.empty() && batch.size() < kMaxBatch) {
                batch.push_back(std::move(queue.front()));
                queue.pop_front();
            }
        }
        last = std::chrono::steady_clock::now();
        try {
            reached = FanOut(batch, shard);
        } catch (const std::exception& e) {
            obs::Error("realtime fan-out failed", {{"error", e.what()}});
        }
    }
}

namespace {

// Who sees an event and through which topic: equal keys get the same frame tail.
struct MemoKey {
    const auth::Principal* principal;
    std::string_view topic;
    bool operator==(const MemoKey& o) const { return principal == o.principal && topic == o.topic; }
};

struct MemoKeyHash {
    std::size_t operator()(const MemoKey& k) const {
        return std::hash<std::string_view>()(k.topic) ^ (std::hash<const void*>()(k.principal) * 31);
    }
};

records::Access AccessOf(const auth::Principal* p, const Subscription& s) {
    records::Access a;
    a.superuser = p != nullptr && p->superuser;
    a.request.context = "realtime";
    a.request.method = "GET";
    a.request.query = s.query;
    a.request.headers = s.headers;
    if (p != nullptr) {
        a.request.auth = p->auth_json;
        a.scopes = p->scopes;
    }
    return a;
}

}  // namespace

void Hub::ReauthOwners(const schema::Collection& c, const events::Event& event, unsigned shard) {
    std::vector<std::shared_ptr<Client>> owners;
    {
        std::lock_guard lock(mu_);
        if (auto it = by_auth_.find(c.id + "/" + event.record_id); it != by_auth_.end()) {
            for (const auto& [id, client] : it->second) {
                if (client->shard == shard) {
                    owners.push_back(client);
                }
            }
        }
    }
    // A new password, a deleted record, a logout: the client's auth is dropped when its credentials
    // no longer hold.
    for (const auto& client : owners) {
        const auto current = client->Current();
        std::shared_ptr<const auth::Principal> fresh;
        if (event.action != "delete" && current->auth.reauth) {
            fresh = current->auth.reauth();
        }
        auto next = std::make_shared<State>(*current);
        next->auth.principal = fresh;
        if (!fresh) {
            next->auth.reauth = nullptr;
        }
        std::lock_guard lock(mu_);
        if (clients_.count(client->id) != 0) {
            Reindex(client, *current, next);
        }
    }
}

std::size_t Hub::FanOut(const std::vector<EventPtr>& batch, unsigned shard) {
    const auto snapshot = collections_.Current();
    Outgoing out;
    for (const auto& event_ptr : batch) {
        const events::Event& event = *event_ptr;
        const schema::Collection* c = snapshot->Find(event.collection_id);
        if (c == nullptr) {
            continue;
        }
        // A change to a client's own auth record, or a revocation of its sessions or keys: its
        // credentials are checked before the event's own fan-out, so nothing the client may no
        // longer see reaches it.
        if (event.action != "create") {
            ReauthOwners(*c, event, shard);
        }
        if (IsRevocation(event)) {
            continue;
        }
        FanOutEvent(*c, *snapshot, event, shard, out);
    }
    for (auto& [ptr, entry] : out) {
        entry.first->stream->Push(entry.second);  // a full queue closes the stream: the client reconnects
    }
    return out.size();
}

void Hub::FanOutEvent(
    const schema::Collection& c,
    const collections::Snapshot& snapshot,
    const events::Event& event,
    unsigned shard,
    Outgoing& out
) {
    std::shared_ptr<const std::vector<Entry>> by_id;
    std::shared_ptr<const std::vector<Entry>> by_name;
    {
        std::lock_guard lock(mu_);
        by_id = Subscribers(c.id, shard);
        by_name = Subscribers(c.name, shard);
    }
    if (!by_id && !by_name) {
        return;  // nobody listens: the record is not even parsed
    }
    boost::system::error_code ec;
    json::value parsed = ParseJson(event.record, ec);
    if (ec || !parsed.is_object()) {
        return;
    }
    const json::object& record = parsed.as_object();

    // One frame tail ("\nevent:...\ndata:...\n\n") per (who, topic) for this event; null when
    // that subscriber may not see it. Neighbours in the list usually share both: the last one
    // is checked before the map.
    std::unordered_map<MemoKey, http::EventStream::Segment, MemoKeyHash> memo;
    MemoKey last_key{nullptr, {}};
    const http::EventStream::Segment* last = nullptr;
    std::unordered_set<const Client*> seen;  // only when both lists exist
    const bool both = by_id && by_name;
    for (const auto* list : {by_id.get(), by_name.get()}) {
        if (list == nullptr) {
            continue;
        }
        for (const Entry& entry : *list) {
            Client* client = entry.client.get();
            if (both && !seen.insert(client).second) {
                continue;  // subscribed by both id and name: handled
            }
            const auth::Principal* principal = entry.state->auth.principal.get();
            for (const auto& sub : entry.state->subs) {
                if ((sub.collection != c.id && sub.collection != c.name) ||
                    (!sub.record_id.empty() && sub.record_id != event.record_id)) {
                    continue;
                }
                const MemoKey key{principal, sub.topic};
                if (last == nullptr || !(key == last_key)) {
                    auto [slot, inserted] = memo.try_emplace(key);
                    if (inserted) {
                        if (auto payload = Render(c, snapshot, event, record, sub, principal)) {
                            slot->second = std::make_shared<const std::string>(
                                "\nevent:" + sub.topic + "\ndata:" + *payload + "\n\n"
                            );
                        }
                    }
                    last_key = key;
                    last = &slot->second;
                }
                if (*last) {
                    auto& [owner, segments] = out[client];
                    if (!owner) {
                        owner = entry.client;
                    }
                    segments.push_back(client->prefix);  // shared: no bytes copied per subscriber
                    segments.push_back(*last);
                }
            }
        }
    }
}

std::optional<std::string> Hub::Render(
    const schema::Collection& c,
    const collections::Snapshot& snapshot,
    const events::Event& event,
    const json::object& record,
    const Subscription& sub,
    const auth::Principal* principal
) const {
    const records::Access access = AccessOf(principal, sub);
    const bool list = sub.record_id.empty();
    auto can = records_.CanSeeEvent(c, event.record, event.record_id, list, access);
    if (!can || !*can) {
        return std::nullopt;
    }
    json::object visible = records::RecordService::EventRecordFor(c, record, access);
    if (!sub.expand.empty()) {
        std::vector<json::object*> ptrs{&visible};
        if (!records_.Expand(c, snapshot, ptrs, sub.expand, access)) {
            return std::nullopt;
        }
    }
    json::value rec(std::move(visible));
    if (!sub.fields.empty()) {
        auto picked = records::PickFields(rec, sub.fields);
        if (!picked) {
            return std::nullopt;
        }
        rec = std::move(*picked);
    }
    json::object msg;
    msg["action"] = event.action;
    msg["record"] = std::move(rec);
    return json::serialize(msg);
}

}  // namespace basalt::realtime
