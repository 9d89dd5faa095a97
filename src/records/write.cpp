// SPDX-License-Identifier: MIT
#include <boost/json/serialize.hpp>

#include "auth/password.hpp"
#include "core/ids.hpp"
#include "core/random.hpp"
#include "core/text.hpp"
#include "events/events.hpp"
#include "records/codec.hpp"
#include "records/files.hpp"
#include "records/service.hpp"
#include "records/service_internal.hpp"

namespace basalt::records {

namespace json = boost::json;
using schema::FieldType;

namespace {

// A validated value for `f`; a password field outside an auth collection (`_otps.password`) is
// stored as the SHA-256 digest basalt's one-time-password check compares, never as text.
db::Value ColumnValue(const schema::Field& f, const json::value* in, std::vector<FieldError>& errors) {
    db::Value v = NormalizeValue(f, in, errors);
    if (f.type == FieldType::kPassword) {
        if (const auto* text = std::get_if<std::string>(&v); text != nullptr && !text->empty()) {
            return auth::Sha256Hex(*text);
        }
    }
    return v;
}

// The field a unique-constraint message names ("UNIQUE constraint failed: posts.slug").
std::string UniqueField(const std::string& message, const schema::Collection& c) {
    const auto pos = message.find("constraint failed: ");
    if (pos == std::string::npos) {
        return "id";
    }
    std::string rest = message.substr(pos + 19);
    const auto comma = rest.find(',');
    rest = rest.substr(0, comma);
    const auto dot = rest.find('.');
    std::string field = dot == std::string::npos ? rest : rest.substr(dot + 1);
    return c.FindField(field) != nullptr ? field : "id";
}

// Checks that every referenced id of the relation fields exists (inside the write).
Result<void> CheckRelations(
    db::Executor& ex,
    const schema::Collection& c,
    const collections::Snapshot& snap,
    const std::vector<std::pair<const schema::Field*, db::Value>>& values
) {
    std::vector<FieldError> errors;
    for (const auto& [f, v] : values) {
        if (f->type != FieldType::kRelation) {
            continue;
        }
        const auto ids = RelationIds(*f, v);
        if (ids.empty()) {
            continue;
        }
        const schema::Collection* target = snap.Find(f->CollectionId());
        if (target == nullptr) {
            errors.push_back({f->name, "validation_missing_rel_records", "The related collection is missing."});
            continue;
        }
        std::string sql = "SELECT COUNT(*) FROM " + query::QuoteIdent(target->name) + " WHERE \"id\" IN (";
        std::vector<db::Value> params;
        for (std::size_t i = 0; i < ids.size(); ++i) {
            sql += i > 0 ? ", ?" : "?";
            params.emplace_back(ids[i]);
        }
        sql += ")";
        auto rs = ex.Query(sql, params);
        if (!rs) {
            return rs.error();
        }
        if (db::AsInt(rs->rows[0][0]) != static_cast<std::int64_t>(ids.size())) {
            errors.push_back(
                {f->name,
                 "validation_missing_rel_records",
                 "Failed to find all relation records with the provided ids."}
            );
        }
    }
    (void)c;
    if (!errors.empty()) {
        return ValidationError("Failed to save record.", std::move(errors));
    }
    return Ok();
}

// The end of a create or update inside its transaction: one read of the stored row gives both the
// answer (as `access` may see it) and the outbox event (every field).
Result<void> AppendEventAndReadBack(
    db::Executor& ex,
    const schema::Collection& c,
    const std::string& id,
    const Access& access,
    std::string_view action,
    const std::string& now,
    json::object& out
) {
    auto rs = ex.Query(SelectList(c, false) + " FROM " + query::QuoteIdent(c.name) + " WHERE \"id\" = ?", {id});
    if (!rs) {
        return rs.error();
    }
    if (rs->rows.empty()) {
        return NotFound();
    }
    if (auto e = AppendRecordEvent(ex, c, id, action, now); !e) {
        return e;
    }
    out = RecordJson(c, *rs, 0, SeesHidden(access), SelfId(c, access));
    return Ok();
}

// The UPDATE for the submitted (modifier-free) body: the fields it names, autodates with onUpdate.
struct UpdatePlan {
    std::vector<std::pair<const schema::Field*, db::Value>> values;
    std::string sql;
    std::vector<db::Value> params;
};

UpdatePlan PlanUpdate(
    const schema::Collection& c,
    const json::object& body,
    bool superuser,
    const AuthInput& auth,
    const std::string& now,
    const std::string& id,
    std::vector<FieldError>& errors
) {
    UpdatePlan plan;
    const bool is_auth = c.type == schema::CollectionType::kAuth;
    for (const auto& f : c.fields) {
        if (f.name == "id") {
            continue;
        }
        if (is_auth && (f.type == FieldType::kPassword || f.name == "tokenKey")) {
            // A new password comes with a new tokenKey: every earlier token of the record dies.
            if (auth.password_hash) {
                plan.values.emplace_back(
                    &f, f.type == FieldType::kPassword ? *auth.password_hash : SecureRandomString(50, kAlphanumeric)
                );
            }
            continue;
        }
        if (f.type == FieldType::kAutodate) {
            if (f.Options().on_update) {
                plan.values.emplace_back(&f, now);
            }
            continue;
        }
        const json::value* in = body.if_contains(f.name);
        if (in == nullptr || (f.hidden && !superuser)) {
            continue;  // not submitted: keeps its stored value
        }
        plan.values.emplace_back(&f, ColumnValue(f, in, errors));
    }
    plan.sql = "UPDATE " + query::QuoteIdent(c.name) + " SET ";
    for (std::size_t i = 0; i < plan.values.size(); ++i) {
        plan.sql += (i > 0 ? ", " : "") + query::QuoteIdent(plan.values[i].first->name) + " = ?";
        plan.params.push_back(plan.values[i].second);
    }
    plan.sql += " WHERE \"id\" = ?";
    plan.params.emplace_back(id);
    return plan;
}

}  // namespace

Error WriteFailure(const Error& e, const schema::Collection& c, std::string_view failed_message) {
    if (e.code == ErrorCode::kConflict) {
        if (e.message.find("FOREIGN KEY") != std::string::npos) {
            return MakeError(ErrorCode::kInvalidArgument, std::string(failed_message), "");
        }
        return ValidationError(
            std::string(failed_message), {{UniqueField(e.message, c), "validation_not_unique", "Value must be unique."}}
        );
    }
    return e;
}

void RecordService::AddDataVersionBump(PreparedWrite& w) const {
    collections::CollectionStore* store = &collections_;
    w.fn = [inner = std::move(w.fn), store](db::Executor& ex) -> Result<void> {
        store->BumpDataVersion();  // before the commit: a count read now must not outlive it
        return inner(ex);
    };
}

Result<PreparedWrite> RecordService::PrepareCreate(
    std::string_view collection,
    const json::object& body,
    const Access& access,
    const AuthInput& auth,
    const std::vector<std::string>& uploaded
) const {
    auto l = LoadForWrite(collections_, collection, access, &schema::Collection::create_rule);
    if (!l) {
        return l.error();
    }
    const schema::Collection& c = *l->collection;
    std::vector<FieldError> errors;
    std::vector<std::pair<const schema::Field*, db::Value>> values;
    const std::string now = FormatDateTime(clock_.Now());
    std::string id;
    const json::object effective = HasModifiers(c, body) ? ApplyModifiers(c, body, nullptr, errors) : json::object();
    const json::object& input = HasModifiers(c, body) ? effective : body;
    const bool is_auth = c.type == schema::CollectionType::kAuth;
    for (const auto& f : c.fields) {
        const json::value* in = input.if_contains(f.name);
        if (is_auth && f.type == FieldType::kPassword) {
            if (!auth.password_hash) {
                errors.push_back({f.name, "validation_required", "Cannot be blank."});
            }
            values.emplace_back(&f, auth.password_hash.value_or(""));
            continue;
        }
        if (is_auth && f.name == "tokenKey") {
            values.emplace_back(&f, SecureRandomString(50, kAlphanumeric));
            continue;
        }
        if (is_auth && f.name == "verified" && !auth.manage && in != nullptr && !(in->is_bool() && !in->as_bool()) &&
            !in->is_null()) {
            errors.push_back({"verified", "validation_values_mismatch", "Values don't match."});
            continue;
        }
        if (f.hidden && !SeesHidden(access)) {
            in = nullptr;  // clients cannot set hidden fields
        }
        if (f.name == "id") {
            if (in != nullptr && in->is_string() && !in->as_string().empty()) {
                id = std::string(in->as_string());
                if (!IsValidRecordId(id)) {
                    errors.push_back({"id", "validation_invalid_format", "Must be 15 characters of a-z and 0-9."});
                }
            } else if (in != nullptr && !in->is_null() && !(in->is_string() && in->as_string().empty())) {
                errors.push_back({"id", "validation_invalid_value", "Must be a string."});
            } else {
                id = NewRecordId();
            }
            values.emplace_back(&f, id);
            continue;
        }
        if (f.type == FieldType::kAutodate) {
            values.emplace_back(&f, f.Options().on_create ? now : std::string());
            continue;
        }
        values.emplace_back(&f, ColumnValue(f, in, errors));
    }
    std::vector<std::string> dropped;  // none: a new record held nothing
    CheckFileNames(values, nullptr, uploaded, errors, dropped);
    if (!errors.empty()) {
        return ValidationError("Failed to create record.", std::move(errors));
    }
    std::string sql = "INSERT INTO " + query::QuoteIdent(c.name) + " (";
    std::string marks;
    std::vector<db::Value> params;
    for (std::size_t i = 0; i < values.size(); ++i) {
        sql += (i > 0 ? ", " : "") + query::QuoteIdent(values[i].first->name);
        marks += i > 0 ? ", ?" : "?";
        params.push_back(values[i].second);
    }
    sql += ") VALUES (" + marks + ")";

    // The INSERT names every column, so the stored row is exactly `values`: the answer and the
    // outbox payload are built here, on the caller's thread, instead of reading the row back on the
    // writer thread (which serialises every write; this halved what a create costs it).
    db::ResultSet stored;
    stored.rows.emplace_back();
    for (const auto& [f, v] : values) {
        stored.columns.push_back(f->name);
        stored.rows[0].push_back(v);
    }
    std::string payload = json::serialize(RecordJson(c, stored, 0, /*include_hidden=*/true));

    PreparedWrite w;
    w.record = std::make_shared<json::object>(RecordJson(c, stored, 0, SeesHidden(access), SelfId(c, access)));
    auto snapshot = l->snapshot;
    const schema::Collection* cp = l->collection;
    const std::optional<std::string> rule = access.superuser ? std::nullopt : c.create_rule;
    w.fn = [snapshot,
            cp,
            values = std::move(values),
            sql = std::move(sql),
            params = std::move(params),
            payload = std::move(payload),
            id,
            rule,
            access,
            now,
            &clock = clock_](db::Executor& ex) -> Result<void> {
        if (auto r = CheckRelations(ex, *cp, *snapshot, values); !r) {
            Error e = r.error();
            e.message = "Failed to create record.";
            return e;
        }
        if (auto r = ex.Exec(sql, params); !r) {
            return WriteFailure(r.error(), *cp, "Failed to create record.");
        }
        if (rule && !rule->empty()) {
            // The rule sees the new record as stored; failing it undoes the insert (our savepoint).
            auto ok = RuleMatches(ex, *cp, *snapshot, *rule, access, clock, id);
            if (!ok) {
                return ok.error();
            }
            if (!*ok) {
                return MakeError(ErrorCode::kInvalidArgument, "Failed to create record.");
            }
        }
        return events::Append(ex, now, cp->id, cp->name, id, "create", payload);
    };
    AddDataVersionBump(w);
    return w;
}

Result<PreparedWrite> RecordService::PrepareUpdate(
    std::string_view collection,
    std::string_view id,
    const json::object& body,
    const Access& access,
    const AuthInput& auth,
    const std::vector<std::string>& uploaded
) const {
    auto l = LoadForWrite(collections_, collection, access, &schema::Collection::update_rule);
    if (!l) {
        return l.error();
    }
    const schema::Collection& c = *l->collection;
    const std::string now = FormatDateTime(clock_.Now());
    const bool modifiers = HasModifiers(c, body);
    // Without modifiers the body is validated here; with them it needs the stored values, which
    // are read inside the write (the writer serialises, so `views+` never loses an increment).
    std::optional<UpdatePlan> ready;
    if (!modifiers) {
        std::vector<FieldError> errors;
        ready = PlanUpdate(c, body, SeesHidden(access), auth, now, std::string(id), errors);
        if (!errors.empty()) {
            return ValidationError("Failed to update record.", std::move(errors));
        }
    }

    PreparedWrite w;
    w.record = std::make_shared<json::object>();
    auto snapshot = l->snapshot;
    const schema::Collection* cp = l->collection;
    const std::optional<std::string> rule = access.superuser ? std::nullopt : c.update_rule;
    w.fn = [snapshot,
            cp,
            ready = std::move(ready),
            body,
            now,
            id = std::string(id),
            rule,
            access,
            auth,
            out = w.record,
            hooks = auth_hooks_,
            uploaded,
            files = storage_,
            &clock = clock_](db::Executor& ex) -> Result<void> {
        // The rule is checked against the record as it is now (with @request.body the submitted data).
        BASALT_TRY(RequireRuleMatch(ex, *cp, *snapshot, rule, access, clock, id));
        auto current = ReadCurrent(ex, *cp, id);
        if (!current) {
            return current.error();
        }
        UpdatePlan plan;
        if (ready) {
            plan = *ready;
        } else {
            std::vector<FieldError> errors;
            const json::object effective = ApplyModifiers(*cp, body, &*current, errors);
            plan = PlanUpdate(*cp, effective, SeesHidden(access), auth, now, id, errors);
            if (!errors.empty()) {
                return ValidationError("Failed to update record.", std::move(errors));
            }
        }
        std::vector<FieldError> file_errors;
        std::vector<std::string> dropped;
        CheckFileNames(plan.values, &*current, uploaded, file_errors, dropped);
        if (!file_errors.empty()) {
            return ValidationError("Failed to update record.", std::move(file_errors));
        }
        if (auto r = CheckRelations(ex, *cp, *snapshot, plan.values); !r) {
            Error e = r.error();
            e.message = "Failed to update record.";
            return e;
        }
        if (files != nullptr && !dropped.empty()) {
            ex.AfterCommit([files, prefix = cp->id + "/" + id + "/", dropped = std::move(dropped)] {
                for (const auto& name : dropped) {
                    (void)files->Delete(prefix + name);
                    (void)files->DeletePrefix(prefix + "thumbs_" + name);  // its thumbs go with it
                }
            });
        }
        if (!plan.values.empty()) {
            if (auto r = ex.Exec(plan.sql, plan.params); !r) {
                return WriteFailure(r.error(), *cp, "Failed to update record.");
            }
        }
        if (auth.password_hash) {
            // A password change is an auth event of its own, next to the record's update.
            if (auto e = AppendPasswordChangeEvent(ex, *cp, id, now); !e) {
                return e;
            }
        }
        // The record's event first, then what follows from it (session revocations).
        if (auto r = AppendEventAndReadBack(ex, *cp, id, access, "update", now, *out); !r) {
            return r;
        }
        if (hooks != nullptr && cp->type == schema::CollectionType::kAuth) {
            // A new password (with a new tokenKey) or email ends every token and session of the
            // record, in this transaction; any other change refreshes cached principals.
            bool credentials = auth.password_hash.has_value();
            if (const auto* email = body.if_contains("email"); email != nullptr && email->is_string()) {
                const auto* was = current->if_contains("email");
                credentials = credentials || was == nullptr || !was->is_string() ||
                              !EqualsIgnoreCase(was->as_string(), email->as_string());
            }
            const AuthChange change = credentials ? AuthChange::kCredentialsChanged : AuthChange::kUpdated;
            if (auto r = hooks->OnChange(ex, *cp, id, change, now); !r) {
                return r;
            }
        }
        return Ok();
    };
    AddDataVersionBump(w);
    return w;
}

}  // namespace basalt::records
