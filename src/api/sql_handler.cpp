// SPDX-License-Identifier: MIT
#include "api/sql_handler.hpp"

#include <chrono>
#include <memory>
#include <optional>

#include <boost/json/serialize.hpp>

#include "api/data_handlers.hpp"
#include "api/json_body.hpp"
#include "core/text.hpp"
#include "obs/log.hpp"
#include "query/statement_kind.hpp"

namespace basalt::api {

namespace {

namespace json = boost::json;
using http::Request;
using http::Response;

constexpr std::size_t kMaxRows = 1000;         // PocketBase's runSQLMaxRows
constexpr std::chrono::minutes kTimeLimit{3};  // PocketBase's runSQLMaxTimeout

class SqlConsole {
public:
    explicit SqlConsole(const Deps& deps) : d_(deps) {}

    net::awaitable<Response> Run(Request& req) const {
        RequireSuperuser(req);
        const std::string query(TrimSpace(ConsoleQuery(DecodeJsonObject(req))));
        if (query.empty()) {
            throw ApiError::BadRequest("Failed to execute query. Raw error:\nempty query.");
        }
        const bool write = query::IsWriteQuery(query);
        const auto start = std::chrono::steady_clock::now();
        db::ScriptOptions options;
        options.max_rows = kMaxRows;
        options.deadline = start + kTimeLimit;
        auto result = co_await Execute(req, query, write, options);
        if (!result) {
            const Error& e = result.error();
            if (e.code != ErrorCode::kInvalidArgument && e.code != ErrorCode::kConflict) {
                ThrowApiError(req, e);
            }
            throw ApiError::BadRequest(Sentenize("Failed to execute query. Raw error:\n" + e.message));
        }
        const auto elapsed =
            std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start).count();
        json::array columns;
        for (const auto& c : result->columns) {
            // PocketBase's driver reports every column as nullable.
            columns.push_back(json::object{{"name", c.name}, {"type", c.type}, {"nullable", true}});
        }
        json::array rows;
        for (const auto& row : result->rows) {
            json::array cells;
            for (const auto& v : row) {
                cells.push_back(ConsoleCell(v));
            }
            rows.push_back(std::move(cells));
        }
        co_return JsonResponse(json::object{
            {"execTime", static_cast<std::int64_t>(elapsed)},
            {"affectedRows", result->affected_rows},
            {"columns", std::move(columns)},
            {"rows", std::move(rows)}});
    }

private:
    // A read may scan: on a reader connection, off the I/O threads. It stops before its first
    // statement that would write (a reader cannot), and then runs again as a write.
    net::awaitable<Result<db::ScriptResult>> Execute(
        const Request& req, const std::string& query, bool write, db::ScriptOptions options
    ) const {
        if (!write) {
            options.read_only = true;
            auto read = co_await d_.queries.Call([&] { return ReadScript(query, options); });
            if (!read || !read->needs_writer) {
                co_return read;
            }
        }
        options.read_only = false;
        options.keep_rows = !write;
        // One write of the writer: its savepoint undoes every statement of a failing script.
        auto outcome = std::make_shared<std::optional<Result<db::ScriptResult>>>();
        // A named function, not a temporary inside co_await: GCC 12 destroys such temporaries
        // twice when they own something.
        db::WriteFn fn = [outcome, query, options](db::Executor& ex) -> Result<void> {
            outcome->emplace(ex.RunScript(query, options));
            if (!**outcome) {
                return (*outcome)->error();
            }
            return Ok();
        };
        auto w = co_await AwaitWrite(d_.db, std::move(fn));
        if (outcome->has_value() && !**outcome) {
            co_return std::move(**outcome);  // the script failed: its own error
        }
        if (!w) {
            co_return w.error();  // the commit failed (or the writer was gone)
        }
        if ((**outcome)->schema_changed) {
            // The console may have created, altered or dropped what collections stand on, or
            // edited `_collections`: serve the definitions as they now are.
            co_await d_.blocking.Run([&] {
                if (auto loaded = d_.collections.Load(); !loaded) {
                    obs::Warn(
                        "collections not reloaded after an SQL console write",
                        {{"request_id", req.request_id}, {"error", loaded.error().message}}
                    );
                }
            });
        }
        co_return std::move(**outcome);
    }

    Result<db::ScriptResult> ReadScript(const std::string& query, const db::ScriptOptions& options) const {
        std::optional<db::ScriptResult> read;
        BASALT_TRY(d_.db.ReadTx([&](db::Executor& ex) -> Result<void> {
            BASALT_ASSIGN_OR_RETURN(read, ex.RunScript(query, options));
            return Ok();
        }));
        return std::move(*read);
    }

    Deps d_;
};

}  // namespace

json::value ConsoleCell(const db::Value& v) {
    if (std::holds_alternative<std::nullptr_t>(v)) {
        return nullptr;
    }
    if (const auto* i = std::get_if<std::int64_t>(&v)) {
        return json::value(std::to_string(*i));
    }
    if (const auto* d = std::get_if<double>(&v)) {
        return json::value(FormatGoFloat(*d));
    }
    return json::value(std::get<std::string>(v));
}

void RegisterSqlRoutes(http::Router& router, const Deps& deps) {
    auto console = std::make_shared<const SqlConsole>(deps);
    router.Add(http::Method::kPost, "/api/sql", http::AsyncHandler([console](Request& req) {
                   return console->Run(req);
               }));
}

}  // namespace basalt::api
