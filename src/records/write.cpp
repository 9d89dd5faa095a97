// SPDX-License-Identifier: MIT
#include <chrono>
#include <mutex>
#include <unordered_map>

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
        BASALT_ASSIGN_OR_RETURN(auto rs, ex.Query(sql, params));
        if (db::AsInt(rs.rows[0][0]) != static_cast<std::int64_t>(ids.size())) {
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
    BASALT_ASSIGN_OR_RETURN(
        auto rs, ex.Query(SelectList(c, false) + " FROM " + query::QuoteIdent(c.name) + " WHERE \"id\" = ?", {id})
    );
    if (rs.rows.empty()) {
        return NotFound();
    }
    if (auto e = AppendRecordEvent(ex, c, id, action, now); !e) {
        return e;
    }
    out = RecordJson(c, rs, 0, SeesHidden(access), SelfId(c, access));
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

// The id of a new record: the submitted one (checked) or a new one.
std::string NewRecordIdValue(const json::value* in, std::vector<FieldError>& errors) {
    if (in != nullptr && in->is_string() && !in->as_string().empty()) {
        std::string id(in->as_string());
        if (!IsValidRecordId(id)) {
            errors.push_back({"id", "validation_invalid_format", "Must be 15 characters of a-z and 0-9."});
        }
        return id;
    }
    if (in != nullptr && !in->is_null() && !(in->is_string() && in->as_string().empty())) {
        errors.push_back({"id", "validation_invalid_value", "Must be a string."});
        return {};
    }
    return NewRecordId();
}

// Every column of a new record from the (modifier-applied) body: the id, a password and tokenKey
// for auth records, autodates with onCreate, and each other field validated.
std::vector<std::pair<const schema::Field*, db::Value>> CreateValues(
    const schema::Collection& c,
    const json::object& input,
    const Access& access,
    const AuthInput& auth,
    const std::string& now,
    std::string& id,
    std::vector<FieldError>& errors
) {
    std::vector<std::pair<const schema::Field*, db::Value>> values;
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
            id = NewRecordIdValue(in, errors);
            values.emplace_back(&f, id);
            continue;
        }
        if (f.type == FieldType::kAutodate) {
            values.emplace_back(&f, f.Options().on_create ? now : std::string());
            continue;
        }
        values.emplace_back(&f, ColumnValue(f, in, errors));
    }
    return values;
}

// "INSERT INTO <table> (<every column>) VALUES (?, ...)" and its parameters.
Sql InsertSql(const schema::Collection& c, const std::vector<std::pair<const schema::Field*, db::Value>>& values) {
    Sql insert{"INSERT INTO " + query::QuoteIdent(c.name) + " (", {}};
    std::string marks;
    for (std::size_t i = 0; i < values.size(); ++i) {
        insert.text += (i > 0 ? ", " : "") + query::QuoteIdent(values[i].first->name);
        marks += i > 0 ? ", ?" : "?";
        insert.params.push_back(values[i].second);
    }
    insert.text += ") VALUES (" + marks + ")";
    return insert;
}

}  // namespace

// The newest `created` stamp (autodates set on create) given to each collection's new records. A
// create stamped on its request's thread may reach the writer after one stamped a moment later: it
// then takes that later stamp, so that `created` follows the table's rowid order and a list sorted by
// it reads the table in order (Database::RowOrderToken) instead of an index plus a lookup per row.
// Stamps a second or more apart are left as they are (a clock set back): that order is then broken.
class CreatedStamps {
public:
    // The stamp to store for a create of collection `collection_id` stamped `now` (`text`).
    std::string Next(const std::string& collection_id, SystemTime now, const std::string& text) {
        std::lock_guard lock(mu_);
        Stamp& last = last_[collection_id];
        if (last.time > now && last.time - now < std::chrono::seconds(1)) {
            return last.text;
        }
        last = {now, text};
        return text;
    }

private:
    struct Stamp {
        SystemTime time{};
        std::string text;
    };
    std::mutex mu_;
    std::unordered_map<std::string, Stamp> last_;
};

std::shared_ptr<CreatedStamps> MakeCreatedStamps() {
    return std::make_shared<CreatedStamps>();
}

namespace {

// A stored row as a result set of one row, for RecordJson.
db::ResultSet StoredRow(const std::vector<std::pair<const schema::Field*, db::Value>>& values) {
    db::ResultSet stored;
    stored.rows.emplace_back();
    for (const auto& [f, v] : values) {
        stored.columns.push_back(f->name);
        stored.rows[0].push_back(v);
    }
    return stored;
}

// The writer-thread part of a create: the relations exist, the INSERT, the create rule on the
// record as stored (failing it undoes the insert: our savepoint), the outbox event.
struct InsertRecord {
    std::shared_ptr<const collections::Snapshot> snapshot;
    const schema::Collection* collection = nullptr;
    std::vector<std::pair<const schema::Field*, db::Value>> values;
    Sql insert;
    std::string payload;
    std::string id;
    std::optional<std::string> rule;
    Access access;
    std::string now;
    SystemTime now_time;
    const Clock* clock = nullptr;
    CreatedStamps* stamps = nullptr;
    std::shared_ptr<json::object> record;  // the answer: restamped with the row

    Result<void> operator()(db::Executor& ex) const {
        const schema::Collection& c = *collection;
        if (auto r = CheckRelations(ex, c, *snapshot, values); !r) {
            Error e = r.error();
            e.message = "Failed to create record.";
            return e;
        }
        if (stamps != nullptr) {
            if (std::string stamp = stamps->Next(c.id, now_time, now); stamp != now) {
                return Restamped(stamp)(ex);
            }
        }
        if (auto r = ex.Exec(insert.text, insert.params); !r) {
            return WriteFailure(r.error(), c, "Failed to create record.");
        }
        if (rule && !rule->empty()) {
            BASALT_ASSIGN_OR_RETURN(auto ok, RuleMatches(ex, c, *snapshot, *rule, access, *clock, id));
            if (!ok) {
                return MakeError(ErrorCode::kInvalidArgument, "Failed to create record.");
            }
        }
        return events::Append(ex, now, c.id, c.name, id, "create", payload);
    }

    // This create with `stamp` for `now` in its autodates (row, outbox payload and answer), as
    // CreatedStamps asks.
    InsertRecord Restamped(const std::string& stamp) const {
        InsertRecord w = *this;
        w.stamps = nullptr;
        w.now = stamp;
        for (auto& [f, v] : w.values) {
            if (f->type == FieldType::kAutodate && f->Options().on_create) {
                v = stamp;
                if (record && record->contains(f->name)) {
                    (*record)[f->name] = stamp;
                }
            }
        }
        w.insert = InsertSql(*collection, w.values);
        w.payload = json::serialize(RecordJson(*collection, StoredRow(w.values), 0, /*include_hidden=*/true));
        return w;
    }
};

// The writer-thread part of an update: the update rule against the record as it is now (with
// @request.body the submitted data), the UPDATE (with modifiers applied to the stored values), file
// and relation checks, the outbox events and the auth hooks.
struct UpdateRecord {
    std::shared_ptr<const collections::Snapshot> snapshot;
    const schema::Collection* collection = nullptr;
    std::optional<UpdatePlan> ready;  // the plan of a modifier-free body, made on the caller's thread
    json::object body;
    std::string now;
    std::string id;
    std::optional<std::string> rule;
    Access access;
    AuthInput auth;
    std::shared_ptr<json::object> out;
    const AuthRecordHooks* hooks = nullptr;
    std::vector<std::string> uploaded;
    storage::Storage* files = nullptr;
    const Clock* clock = nullptr;

    Result<void> operator()(db::Executor& ex) const {
        const schema::Collection& c = *collection;
        BASALT_TRY(RequireRuleMatch(ex, c, *snapshot, rule, access, *clock, id));
        BASALT_ASSIGN_OR_RETURN(auto current, ReadCurrent(ex, c, id));
        BASALT_ASSIGN_OR_RETURN(auto plan, Plan(current));
        std::vector<FieldError> file_errors;
        std::vector<std::string> dropped;
        CheckFileNames(plan.values, &current, uploaded, file_errors, dropped);
        if (!file_errors.empty()) {
            return ValidationError("Failed to update record.", std::move(file_errors));
        }
        if (auto r = CheckRelations(ex, c, *snapshot, plan.values); !r) {
            Error e = r.error();
            e.message = "Failed to update record.";
            return e;
        }
        DeleteAfterCommit(ex, std::move(dropped));
        if (!plan.values.empty()) {
            if (auto r = ex.Exec(plan.sql, plan.params); !r) {
                return WriteFailure(r.error(), c, "Failed to update record.");
            }
        }
        if (auth.password_hash) {
            // A password change is an auth event of its own, next to the record's update.
            if (auto e = AppendPasswordChangeEvent(ex, c, id, now); !e) {
                return e;
            }
        }
        // The record's event first, then what follows from it (session revocations).
        if (auto r = AppendEventAndReadBack(ex, c, id, access, "update", now, *out); !r) {
            return r;
        }
        return NotifyAuthHooks(ex, current);
    }

private:
    // The ready plan, or with modifiers the plan of the body applied to the stored values.
    Result<UpdatePlan> Plan(const json::object& current) const {
        if (ready) {
            return *ready;
        }
        std::vector<FieldError> errors;
        const json::object effective = ApplyModifiers(*collection, body, &current, errors);
        UpdatePlan plan = PlanUpdate(*collection, effective, SeesHidden(access), auth, now, id, errors);
        if (!errors.empty()) {
            return ValidationError("Failed to update record.", std::move(errors));
        }
        return plan;
    }

    // The files the update drops are deleted once it has committed.
    void DeleteAfterCommit(db::Executor& ex, std::vector<std::string> dropped) const {
        if (files != nullptr && !dropped.empty()) {
            ex.AfterCommit([files = files, prefix = collection->id + "/" + id + "/", dropped = std::move(dropped)] {
                for (const auto& name : dropped) {
                    (void)files->Delete(prefix + name);
                    (void)files->DeletePrefix(prefix + "thumbs_" + name);  // its thumbs go with it
                }
            });
        }
    }

    // A new password (with a new tokenKey) or email ends every token and session of an auth record,
    // in this transaction; any other change refreshes cached principals.
    Result<void> NotifyAuthHooks(db::Executor& ex, const json::object& current) const {
        if (hooks == nullptr || collection->type != schema::CollectionType::kAuth) {
            return Ok();
        }
        bool credentials = auth.password_hash.has_value();
        if (const auto* email = body.if_contains("email"); email != nullptr && email->is_string()) {
            const auto* was = current.if_contains("email");
            credentials = credentials || was == nullptr || !was->is_string() ||
                          !EqualsIgnoreCase(was->as_string(), email->as_string());
        }
        const AuthChange change = credentials ? AuthChange::kCredentialsChanged : AuthChange::kUpdated;
        return hooks->OnChange(ex, *collection, id, change, now);
    }
};

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
    BASALT_ASSIGN_OR_RETURN(auto l, LoadForWrite(collections_, collection, access, &schema::Collection::create_rule));
    const schema::Collection& c = *l.collection;
    std::vector<FieldError> errors;
    const SystemTime now_time = clock_.Now();
    const std::string now = FormatDateTime(now_time);
    std::string id;
    const json::object effective = HasModifiers(c, body) ? ApplyModifiers(c, body, nullptr, errors) : json::object();
    const json::object& input = HasModifiers(c, body) ? effective : body;
    auto values = CreateValues(c, input, access, auth, now, id, errors);
    std::vector<std::string> dropped;  // none: a new record held nothing
    CheckFileNames(values, nullptr, uploaded, errors, dropped);
    if (!errors.empty()) {
        return ValidationError("Failed to create record.", std::move(errors));
    }
    Sql insert = InsertSql(c, values);

    // The INSERT names every column, so the stored row is exactly `values`: the answer and the
    // outbox payload are built here, on the caller's thread, instead of reading the row back on the
    // writer thread (which serialises every write; this halved what a create costs it).
    const db::ResultSet stored = StoredRow(values);
    std::string payload = json::serialize(RecordJson(c, stored, 0, /*include_hidden=*/true));

    PreparedWrite w;
    w.record = std::make_shared<json::object>(RecordJson(c, stored, 0, SeesHidden(access), SelfId(c, access)));
    w.fn = InsertRecord{
        .snapshot = l.snapshot,
        .collection = l.collection,
        .values = std::move(values),
        .insert = std::move(insert),
        .payload = std::move(payload),
        .id = id,
        .rule = access.superuser ? std::nullopt : c.create_rule,
        .access = access,
        .now = now,
        .now_time = now_time,
        .clock = &clock_,
        .stamps = stamps_.get(),
        .record = w.record,
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
    BASALT_ASSIGN_OR_RETURN(auto l, LoadForWrite(collections_, collection, access, &schema::Collection::update_rule));
    const schema::Collection& c = *l.collection;
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
    w.fn = UpdateRecord{
        .snapshot = l.snapshot,
        .collection = l.collection,
        .ready = std::move(ready),
        .body = body,
        .now = now,
        .id = std::string(id),
        .rule = access.superuser ? std::nullopt : c.update_rule,
        .access = access,
        .auth = auth,
        .out = w.record,
        .hooks = auth_hooks_,
        .uploaded = uploaded,
        .files = storage_,
        .clock = &clock_,
    };
    AddDataVersionBump(w);
    return w;
}

}  // namespace basalt::records
