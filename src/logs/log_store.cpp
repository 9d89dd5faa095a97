// SPDX-License-Identifier: MIT
#include "logs/log_store.hpp"

#include <atomic>
#include <mutex>
#include <utility>

#include "core/background_loop.hpp"
#include "core/ids.hpp"
#include "db/sqlite/sqlite_database.hpp"
#include "obs/log.hpp"
#include "query/table_list.hpp"

namespace basalt::logs {

namespace {

using schema::FieldType;

// PocketBase's `_logs` (its aux_init migration). Its three indexes (level, message, the hour of
// `created` as an expression) are not created here: each costs every insert a b-tree descent, the
// expression one a strftime too, and at thousands of requests a second they were most of the log
// writer's work. One plain index on `created` serves the dashboard's time filters, the stats (read
// in order from it) and the retention delete. A PocketBase data directory keeps the indexes it has.
constexpr std::string_view kSchema[] = {
    R"(CREATE TABLE IF NOT EXISTS _logs (
    id      TEXT PRIMARY KEY DEFAULT ('r'||lower(hex(randomblob(7)))) NOT NULL,
    level   INTEGER DEFAULT 0 NOT NULL,
    message TEXT DEFAULT '' NOT NULL,
    data    JSON DEFAULT '{}' NOT NULL,
    created TEXT DEFAULT (strftime('%Y-%m-%d %H:%M:%fZ')) NOT NULL
))",
    "CREATE INDEX IF NOT EXISTS idx_logs_created ON _logs (created)",
};

constexpr std::string_view kColumns =
    R"("_logs"."id", "_logs"."created", "_logs"."level", "_logs"."message", "_logs"."data")";

// Entries inserted per statement by the writer.
constexpr std::size_t kInsertRows = 64;

// Deleted per statement by DeleteExpired, so the log writer's batches are never held for long.
constexpr std::int64_t kDeleteBatch = 10'000;

// The logs API's filter and sort see the columns PocketBase's logs API resolves; `data` is JSON,
// so `data.status > 200` reads inside it.
const schema::Collection& LogsTable() {
    static const schema::Collection table = query::TableOf(
        "_logs",
        {{FieldType::kText, "id"},
         {FieldType::kDate, "created"},
         {FieldType::kNumber, "level"},
         {FieldType::kText, "message"},
         {FieldType::kJson, "data"}}
    );
    return table;
}

LogEntry EntryOf(const std::vector<db::Value>& row) {
    return LogEntry{
        db::AsString(row[0]),
        db::AsString(row[1]),
        db::AsInt(row[2]),
        db::AsString(row[3]),
        db::AsString(row[4], "{}")};
}

Result<void> CreateTable(db::Executor& ex) {
    for (const std::string_view statement : kSchema) {
        BASALT_TRY(ex.Exec(statement));
    }
    return Ok();
}

struct Pending {
    SystemTime created;
    std::int64_t level = 0;
    std::string message;
    std::string data;
};

// One INSERT of `rows` entries: "INSERT INTO _logs (...) VALUES (?, ?, ?, ?, ?), (...)…".
std::string InsertSql(std::size_t rows) {
    std::string sql = "INSERT INTO _logs (id, level, message, data, created) VALUES ";
    for (std::size_t i = 0; i < rows; ++i) {
        sql += i == 0 ? "(?, ?, ?, ?, ?)" : ", (?, ?, ?, ?, ?)";
    }
    return sql;
}

// Inserts `batch` (taking its text), kInsertRows entries per statement (a statement and its bindings cost about as
// much as the b-tree inserts of one row: at thousands of requests a second, that was the log
// writer's main cost), the rest one by one.
Result<void> InsertAll(db::Executor& ex, std::vector<Pending>& batch) {
    // Built per batch (a few microseconds a second): statics would be destroyed at exit under a
    // writer thread of a store that is never closed.
    const std::string many = InsertSql(kInsertRows);
    const std::string one = InsertSql(1);
    std::vector<db::Value> params;
    params.reserve(kInsertRows * 5);
    std::size_t i = 0;
    while (i < batch.size()) {
        const std::size_t rows = batch.size() - i >= kInsertRows ? kInsertRows : 1;
        params.clear();
        for (std::size_t k = i; k < i + rows; ++k) {
            Pending& p = batch[k];  // written once: its text moves into the statement
            params.emplace_back(NewFastId(p.created));
            params.emplace_back(p.level);
            params.emplace_back(std::move(p.message));
            params.emplace_back(std::move(p.data));
            params.emplace_back(FormatDateTime(p.created));
        }
        BASALT_TRY(ex.Exec(rows == 1 ? one : many, params));
        i += rows;
    }
    return Ok();
}

}  // namespace

struct LogStore::Impl {
    std::unique_ptr<db::Database> db;
    const Clock& clock;
    LogStoreOptions options;

    // settings.logs, read on every request: each member on its own (no lock; a request that sees
    // half of a change logs as either side would).
    std::atomic<std::int64_t> max_days{0};
    std::atomic<std::int64_t> min_level{0};
    std::atomic<bool> log_ip{true};
    std::atomic<bool> log_auth_id{false};

    std::mutex pending_mu;
    std::vector<Pending> pending;
    std::atomic<std::uint64_t> dropped{0};

    std::mutex write_mu;  // one batch written at a time, so Flush() sees every earlier one committed
    BackgroundLoop loop;  // last: stops before the members it uses go

    Impl(std::unique_ptr<db::Database> database, const Clock& c, LogStoreOptions o)
        : db(std::move(database)),
          clock(c),
          options(o) {}

    // Takes what is queued and writes it in one transaction. A failed write loses that batch (and
    // says so on stdout): logs are not worth holding requests or memory for.
    void WriteOut() {
        std::lock_guard write_lock(write_mu);
        std::vector<Pending> batch;
        {
            std::lock_guard lock(pending_mu);
            batch.swap(pending);
        }
        if (batch.empty()) {
            return;
        }
        auto r = db->Write([&batch](db::Executor& ex) { return InsertAll(ex, batch); });
        if (!r) {
            obs::Log(
                obs::Level::kDebug,
                "logs: a batch could not be written",
                {{"entries", static_cast<std::uint64_t>(batch.size())}, {"error", r.error().message}}
            );
        }
    }

    void Run(const std::stop_token& stop) {
        std::uint64_t seen = loop.Wakeups();
        while (loop.WaitForWake(stop, seen, options.interval)) {
            WriteOut();
        }
        WriteOut();
    }
};

LogStore::LogStore(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

LogStore::~LogStore() {
    impl_->loop.Stop();
    impl_->db->Close();
}

Result<std::unique_ptr<LogStore>> LogStore::Open(
    const std::filesystem::path& path, const Clock& clock, LogStoreOptions options
) {
    db::SqliteOptions opts;
    opts.path = path.string();
    opts.max_readers = 4;
    BASALT_ASSIGN_OR_RETURN(auto db, db::OpenSqlite(opts));
    BASALT_TRY(db->WriteSchema(CreateTable));
    auto impl = std::make_unique<Impl>(std::move(db), clock, options);
    Impl* raw = impl.get();
    std::unique_ptr<LogStore> store(new LogStore(std::move(impl)));
    store->Apply(LogSettings{});
    raw->loop.Start([raw](const std::stop_token& stop) { raw->Run(stop); });
    return store;
}

void LogStore::Apply(const LogSettings& settings) {
    impl_->max_days.store(settings.max_days, std::memory_order_relaxed);
    impl_->min_level.store(settings.min_level, std::memory_order_relaxed);
    impl_->log_ip.store(settings.log_ip, std::memory_order_relaxed);
    impl_->log_auth_id.store(settings.log_auth_id, std::memory_order_relaxed);
}

LogSettings LogStore::Settings() const {
    LogSettings s;
    s.max_days = impl_->max_days.load(std::memory_order_relaxed);
    s.min_level = impl_->min_level.load(std::memory_order_relaxed);
    s.log_ip = impl_->log_ip.load(std::memory_order_relaxed);
    s.log_auth_id = impl_->log_auth_id.load(std::memory_order_relaxed);
    return s;
}

bool LogStore::Accepts(std::int64_t level) const {
    return impl_->max_days.load(std::memory_order_relaxed) > 0 &&
           level >= impl_->min_level.load(std::memory_order_relaxed);
}

void LogStore::Add(std::int64_t level, std::string message, std::string data_json) {
    if (!Accepts(level)) {
        return;
    }
    Pending p{impl_->clock.Now(), level, std::move(message), std::move(data_json)};
    std::size_t queued = 0;
    {
        std::lock_guard lock(impl_->pending_mu);
        if (impl_->pending.size() >= impl_->options.max_pending) {
            impl_->dropped.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        impl_->pending.push_back(std::move(p));
        queued = impl_->pending.size();
    }
    if (queued == impl_->options.batch) {
        impl_->loop.Notify();
    }
}

void LogStore::Flush() {
    impl_->WriteOut();
}

std::uint64_t LogStore::Dropped() const {
    return impl_->dropped.load(std::memory_order_relaxed);
}

Result<LogPage> LogStore::List(const LogQuery& q) const {
    query::TableQuery tq;
    tq.filter = q.filter;
    tq.sort = q.sort;
    tq.page = q.page;
    tq.per_page = q.per_page;
    tq.now = impl_->clock.Now();
    BASALT_ASSIGN_OR_RETURN(const query::TableListSql sql, query::CompileTableList(LogsTable(), kColumns, tq));
    LogPage out;
    BASALT_TRY(impl_->db->ReadTx([&](db::Executor& ex) -> Result<void> {
        BASALT_ASSIGN_OR_RETURN(const db::ResultSet rows, ex.Query(sql.page, sql.page_params));
        for (const auto& row : rows.rows) {
            out.items.push_back(EntryOf(row));
        }
        if (!q.skip_total) {
            BASALT_ASSIGN_OR_RETURN(const db::ResultSet count, ex.Query(sql.count, sql.count_params));
            out.total_items = db::AsInt(count.rows.at(0).at(0));
        }
        return Ok();
    }));
    return out;
}

Result<std::optional<LogEntry>> LogStore::Find(std::string_view id) const {
    const std::string sql = "SELECT " + std::string(kColumns) + " FROM \"_logs\" WHERE \"_logs\".\"id\" = ? LIMIT 1";
    BASALT_ASSIGN_OR_RETURN(const db::ResultSet rows, impl_->db->Read(sql, {std::string(id)}));
    if (rows.rows.empty()) {
        return std::optional<LogEntry>();
    }
    return std::optional<LogEntry>(EntryOf(rows.rows.front()));
}

Result<std::vector<StatsItem>> LogStore::Stats(std::string_view filter) const {
    query::TableQuery tq;
    tq.filter = filter;
    tq.now = impl_->clock.Now();
    BASALT_ASSIGN_OR_RETURN(const query::TableWhere where, query::CompileTableWhere(LogsTable(), tq));
    const std::string sql =
        "SELECT strftime('%Y-%m-%d %H:00:00', \"_logs\".\"created\") AS date, COUNT(*) AS total "
        "FROM \"_logs\"" +
        where.sql + " GROUP BY date ORDER BY date";
    BASALT_ASSIGN_OR_RETURN(const db::ResultSet rows, impl_->db->Read(sql, where.params));
    std::vector<StatsItem> out;
    out.reserve(rows.rows.size());
    for (const auto& row : rows.rows) {
        out.push_back(StatsItem{db::AsString(row[0]) + ".000Z", db::AsInt(row[1])});
    }
    return out;
}

Result<std::int64_t> LogStore::DeleteExpired(bool below_min_level) {
    const LogSettings s = Settings();
    std::string where;
    std::vector<db::Value> params;
    if (s.max_days > 0) {
        where = "created <= ?";
        params.emplace_back(FormatDateTime(impl_->clock.Now() - std::chrono::hours(24) * s.max_days));
        if (below_min_level) {
            where += " OR level < ?";
            params.emplace_back(s.min_level);
        }
    } else {
        where = "1";
    }
    params.emplace_back(kDeleteBatch);
    const std::string sql =
        "DELETE FROM _logs WHERE rowid IN (SELECT rowid FROM _logs WHERE " + where + " ORDER BY rowid LIMIT ?)";
    std::int64_t total = 0;
    for (;;) {
        BASALT_ASSIGN_OR_RETURN(const std::int64_t n, impl_->db->WriteOne(sql, params));
        total += n;
        if (n < kDeleteBatch) {
            return total;
        }
    }
}

}  // namespace basalt::logs
