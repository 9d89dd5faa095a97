// SPDX-License-Identifier: MIT
#include "identity/auth_records.hpp"

#include "query/compiler.hpp"
#include "records/service.hpp"

namespace basalt::identity {

Result<std::optional<auth::AuthRecord>> AuthRecords::FindOne(
    const schema::Collection& c, std::string_view where, std::optional<std::string> value
) const {
    std::string sql = "SELECT * FROM " + query::QuoteIdent(c.name);
    sql += where;
    sql += " LIMIT 1";
    std::vector<db::Value> params;
    if (value) {
        params.emplace_back(std::move(*value));
    }
    BASALT_ASSIGN_OR_RETURN(auto rs, db_.Read(sql, params));
    if (rs.rows.empty()) {
        return std::optional<auth::AuthRecord>();
    }
    const auto& row = rs.rows[0];
    auto col = [&](std::string_view name) -> const db::Value& {
        static const db::Value kNull = nullptr;
        const int i = rs.ColumnIndex(name);
        return i >= 0 ? row[static_cast<std::size_t>(i)] : kNull;
    };
    auth::AuthRecord r;
    r.id = db::AsString(col("id"));
    r.collection_id = c.id;
    r.collection_name = c.name;
    r.email = db::AsString(col("email"));
    r.email_visibility = db::AsInt(col("emailVisibility")) != 0;
    r.verified = db::AsInt(col("verified")) != 0;
    r.password_hash = db::AsString(col("password"));
    r.token_key = db::AsString(col("tokenKey"));
    r.created = db::AsString(col("created"));
    r.updated = db::AsString(col("updated"));
    r.data = records::RecordJson(c, rs, 0, /*include_hidden=*/true);
    r.data["email"] = r.email;  // @request.auth.email always works
    return std::optional<auth::AuthRecord>(std::move(r));
}

Result<std::optional<auth::AuthRecord>> AuthRecords::FindById(const schema::Collection& c, std::string_view id) const {
    return FindOne(c, " WHERE \"id\" = ?", std::string(id));
}

Result<std::optional<auth::AuthRecord>> AuthRecords::FindByIdentity(
    const schema::Collection& c, std::string_view field, std::string_view value
) const {
    if (c.FindField(field) == nullptr) {
        return std::optional<auth::AuthRecord>();
    }
    const std::string collate = field == "email" ? " COLLATE NOCASE" : "";
    return FindOne(c, " WHERE " + query::QuoteIdent(field) + " = ?" + collate, std::string(value));
}

Result<std::optional<auth::AuthRecord>> AuthRecords::FindAny(const schema::Collection& c) const {
    return FindOne(c, "", std::nullopt);
}

}  // namespace basalt::identity
