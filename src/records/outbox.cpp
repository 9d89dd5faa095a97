// SPDX-License-Identifier: MIT
#include <boost/json/serialize.hpp>

#include "events/events.hpp"
#include "records/codec.hpp"
#include "records/service.hpp"
#include "records/service_internal.hpp"

namespace basalt::records {

namespace json = boost::json;
using schema::FieldType;

namespace {

// The record as stored (inside the write), as `access` may see it.
Result<json::object> ReadBack(
    db::Executor& ex, const schema::Collection& c, const std::string& id, const Access& access
) {
    BASALT_ASSIGN_OR_RETURN(
        auto rs, ex.Query(SelectList(c, false) + " FROM " + query::QuoteIdent(c.name) + " WHERE \"id\" = ?", {id})
    );
    if (rs.rows.empty()) {
        return NotFound();
    }
    return RecordJson(c, rs, 0, SeesHidden(access), SelfId(c, access));
}

}  // namespace

// The outbox row of a change, written by SQLite from the stored row (INSERT ... SELECT json_object(...)):
// the record's JSON is built in C inside the writer, no DOM, no second read. Every field but password
// and tokenKey; consumers apply their own visibility. Collections too wide for one json_object call
// (SQLite allows 127 arguments) take the DOM path.
Result<void> AppendRecordEvent(
    db::Executor& ex,
    const schema::Collection& c,
    const std::string& id,
    std::string_view action,
    const std::string& now
) {
    std::vector<const schema::Field*> fields;
    for (const auto& f : c.fields) {
        if (f.type != FieldType::kPassword && !(c.type == schema::CollectionType::kAuth && f.name == "tokenKey")) {
            fields.push_back(&f);
        }
    }
    auto [traceparent, tracestate] = events::TraceColumns();  // the span of the write (the request's)
    std::vector<db::Value> params{
        now, c.id, c.name, id, std::string(action), std::move(traceparent), std::move(tracestate)};
    std::string sql;
    if (fields.size() <= 60) {
        sql =
            "INSERT INTO _events (created, collectionId, collectionName, recordId, action, traceparent, tracestate, "
            "record) SELECT ?, ?, ?, ?, ?, ?, ?, json_object('collectionId', ?, 'collectionName', ?";
        params.emplace_back(c.id);
        params.emplace_back(c.name);
        for (const schema::Field* f : fields) {
            const std::string col = query::QuoteIdent(f->name);
            const std::string expr = OutboxJsonExpr(*f, col);
            sql += ", ?, " + expr;
            params.emplace_back(f->name);
        }
        sql += ") FROM " + query::QuoteIdent(c.name) + " WHERE \"id\" = ?";
        params.emplace_back(id);
    } else {
        BASALT_ASSIGN_OR_RETURN(auto rec, ReadCurrent(ex, c, id));
        sql =
            "INSERT INTO _events (created, collectionId, collectionName, recordId, action, traceparent, tracestate, "
            "record) VALUES (?, ?, ?, ?, ?, ?, ?, ?)";
        params.emplace_back(json::serialize(rec));
    }
    BASALT_ASSIGN_OR_RETURN(auto n, ex.Exec(sql, params));
    if (n != 1) {
        return NotFound();
    }
    return Ok();
}

// Every field of the stored record (modifiers start from these).
Result<json::object> ReadCurrent(db::Executor& ex, const schema::Collection& c, const std::string& id) {
    Access all;
    all.superuser = true;
    return ReadBack(ex, c, id, all);
}

Result<void> AppendPasswordChangeEvent(
    db::Executor& ex, const schema::Collection& c, const std::string& id, const std::string& now
) {
    const std::string payload = json::serialize(json::object{{"collectionId", c.id}, {"recordId", id}});
    return events::Append(ex, now, c.id, c.name, id, "auth.passwordChange", payload);
}

}  // namespace basalt::records
