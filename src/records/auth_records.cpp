// SPDX-License-Identifier: MIT
#include "records/service.hpp"
#include "records/service_internal.hpp"

namespace basalt::records {

namespace json = boost::json;
using schema::FieldType;

PreparedWrite RecordService::PrepareSystemUpdate(
    const schema::Collection& c, const std::string& id, const std::vector<std::pair<std::string, db::Value>>& sets
) const {
    const std::string now = FormatDateTime(clock_.Now());
    std::string sql = "UPDATE " + query::QuoteIdent(c.name) + " SET ";
    std::vector<db::Value> params;
    AuthChange change = AuthChange::kUpdated;
    bool password = false;
    for (const auto& [col, value] : sets) {
        sql += (params.empty() ? "" : ", ") + query::QuoteIdent(col) + " = ?";
        params.push_back(value);
        if (col == "password" || col == "tokenKey" || col == "email") {
            change = AuthChange::kCredentialsChanged;
        }
        password = password || col == "password";
    }
    if (const auto* f = c.FindField("updated"); f != nullptr && f->type == FieldType::kAutodate) {
        sql += ", \"updated\" = ?";
        params.emplace_back(now);
    }
    sql += " WHERE \"id\" = ?";
    params.emplace_back(id);
    PreparedWrite w;
    w.record = std::make_shared<json::object>();
    w.fn = [c, id, sql = std::move(sql), params = std::move(params), password, change, now, hooks = auth_hooks_](
               db::Executor& ex
           ) -> Result<void> {
        BASALT_ASSIGN_OR_RETURN(auto n, ex.Exec(sql, params));
        if (n == 0) {
            return NotFound();
        }
        if (password) {
            if (auto e = AppendPasswordChangeEvent(ex, c, id, now); !e) {
                return e;
            }
        }
        if (auto r = AppendRecordEvent(ex, c, id, "update", now); !r) {
            return r;
        }
        return hooks != nullptr ? hooks->OnChange(ex, c, id, change, now) : Ok();
    };
    AddDataVersionBump(w);
    return w;
}

Result<bool> RecordService::Satisfies(
    const schema::Collection& c, std::string_view id, std::string_view rule, const Access& access
) const {
    if (rule.empty()) {
        return true;
    }
    const auto snapshot = collections_.Current();
    const schema::Collection* current = snapshot->Find(c.id);
    if (current == nullptr) {
        return false;
    }
    bool ok = false;
    auto r = db_.ReadTx([&](db::Executor& ex) -> Result<void> {
        BASALT_ASSIGN_OR_RETURN(
            auto m, RuleMatches(ex, *current, *snapshot, std::string(rule), access, clock_, std::string(id))
        );
        ok = m;
        return Ok();
    });
    if (!r) {
        return r.error();
    }
    return ok;
}

Result<bool> RecordService::CanManage(const schema::Collection& c, std::string_view id, const Access& access) const {
    if (access.superuser) {
        return true;
    }
    const auto& rule = c.Options().manage_rule;
    if (!rule) {
        return false;
    }
    return Satisfies(c, id, *rule, access);
}

Result<json::object> RecordService::ReadWithoutRules(
    const schema::Collection& c, std::string_view id, bool include_hidden, std::string_view self_id
) const {
    BASALT_ASSIGN_OR_RETURN(
        auto rs, db_.Read("SELECT * FROM " + query::QuoteIdent(c.name) + " WHERE \"id\" = ? LIMIT 1", {std::string(id)})
    );
    if (rs.rows.empty()) {
        return NotFound();
    }
    return RecordJson(c, rs, 0, include_hidden, self_id);
}

// A manager (manageRule) sees the email of the auth records it manages, public or not.
json::object RecordService::WithManagedEmail(
    const schema::Collection& c, json::object record, const db::ResultSet& rs, const Access& access
) const {
    const auto& rule = c.Options().manage_rule;
    if (c.type != schema::CollectionType::kAuth || access.superuser || record.contains("email") || !rule ||
        !access.request.auth) {
        return record;
    }
    const auto* id = record.if_contains("id");
    const int email = rs.ColumnIndex("email");
    if (id == nullptr || !id->is_string() || email < 0) {
        return record;
    }
    if (auto ok = Satisfies(c, id->as_string(), *rule, access); ok && *ok) {
        record["email"] = db::AsString(rs.rows[0][static_cast<std::size_t>(email)]);
    }
    return record;
}

}  // namespace basalt::records
