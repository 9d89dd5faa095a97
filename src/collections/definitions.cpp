// SPDX-License-Identifier: MIT
#include "collections/definitions.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace basalt::collections {

namespace {

namespace json = boost::json;

std::string IndexesJson(const std::vector<std::string>& indexes) {
    json::array a;
    for (const auto& i : indexes) {
        a.emplace_back(i);
    }
    return json::serialize(a);
}

db::Value RuleValue(const std::optional<std::string>& r) {
    return r ? db::Value(*r) : db::Value(nullptr);
}

// One `_collections` row as PocketBase's collection JSON; false when a JSON column is corrupt.
bool RowToJson(const std::vector<db::Value>& row, json::object& o) {
    o["id"] = db::AsString(row[0]);
    o["system"] = db::AsInt(row[1]) != 0;
    o["type"] = db::AsString(row[2]);
    o["name"] = db::AsString(row[3]);
    boost::system::error_code ec;
    o["fields"] = json::parse(db::AsString(row[4], "[]"), ec);
    o["indexes"] = ec ? json::value(json::array{}) : json::parse(db::AsString(row[5], "[]"), ec);
    const char* rules[] = {"listRule", "viewRule", "createRule", "updateRule", "deleteRule"};
    for (std::size_t i = 0; i < 5; ++i) {
        const auto& v = row[6 + i];
        o[rules[i]] = db::IsNull(v) ? json::value(nullptr) : json::value(db::AsString(v));
    }
    o["options"] = ec ? json::value(json::object{}) : json::parse(db::AsString(row[11], "{}"), ec);
    o["created"] = db::AsString(row[12]);
    o["updated"] = db::AsString(row[13]);
    return !ec;
}

}  // namespace

std::string FieldsJson(const std::vector<schema::Field>& fields) {
    json::array a;
    for (const auto& f : fields) {
        a.emplace_back(schema::FieldToJson(f));
    }
    return json::serialize(a);
}

Result<std::vector<schema::Collection>> ReadDefinitions(
    const std::function<Result<db::ResultSet>(std::string_view)>& read
) {
    BASALT_ASSIGN_OR_RETURN(
        auto rs,
        read("SELECT id, system, type, name, fields, indexes, listRule, viewRule, createRule, updateRule, deleteRule, "
             "options, created, updated FROM _collections ORDER BY rowid")
    );
    std::vector<schema::Collection> out;
    for (const auto& row : rs.rows) {
        json::object o;
        if (!RowToJson(row, o)) {
            return MakeError(ErrorCode::kInternal, "collection " + db::AsString(row[3]) + " has a corrupt definition");
        }
        auto c = schema::CollectionFromJson(o);
        if (!c) {
            return MakeError(ErrorCode::kInternal, "collection " + db::AsString(row[3]) + ": " + c.error().message);
        }
        out.push_back(std::move(*c));
    }
    return out;
}

Result<void> SaveDefinition(db::Executor& ex, const schema::Collection& c) {
    BASALT_TRY(ex.Exec(
        "INSERT INTO _collections (id, system, type, name, fields, indexes, listRule, viewRule, createRule, "
        "updateRule, deleteRule, options, created, updated) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET name = excluded.name, fields = excluded.fields, indexes = excluded.indexes, "
        "listRule = excluded.listRule, viewRule = excluded.viewRule, createRule = excluded.createRule, "
        "updateRule = excluded.updateRule, deleteRule = excluded.deleteRule, options = excluded.options, "
        "updated = excluded.updated",
        {c.id,
         static_cast<std::int64_t>(c.system ? 1 : 0),
         std::string(schema::CollectionTypeName(c.type)),
         c.name,
         FieldsJson(c.fields),
         IndexesJson(c.indexes),
         RuleValue(c.list_rule),
         RuleValue(c.view_rule),
         RuleValue(c.create_rule),
         RuleValue(c.update_rule),
         RuleValue(c.delete_rule),
         json::serialize(c.options),
         c.created,
         c.updated}
    ));
    return Ok();
}

Result<void> RecordHistory(
    db::Executor& ex, std::string_view action, const schema::Collection& c, const std::string& now
) {
    BASALT_TRY(ex.Exec(
        "INSERT INTO _schema_history (created, action, collection_id, collection_name, definition) VALUES (?, ?, ?, ?, "
        "?)",
        {now, std::string(action), c.id, c.name, json::serialize(schema::CollectionToJson(c))}
    ));
    return Ok();
}

}  // namespace basalt::collections
