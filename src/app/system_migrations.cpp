// SPDX-License-Identifier: MIT
#include "app/system_migrations.hpp"

#include <chrono>

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "auth/principal.hpp"
#include "collections/store.hpp"
#include "core/clock.hpp"
#include "core/ids.hpp"
#include "core/random.hpp"

namespace basalt::app {

namespace {

namespace json = boost::json;

json::object Field(std::string_view type, std::string_view name, const json::object& extra) {
    json::object f{
        {"id", FieldIdFor(type, name)},
        {"name", name},
        {"type", type},
        {"system", true},
        {"hidden", false},
        {"presentable", false},
    };
    for (auto& [k, v] : extra) {
        f[k] = v;
    }
    return f;
}

// The `_superusers` auth collection as PocketBase defines it (fields, indexes, options).
json::object SuperusersCollection(const std::string& now) {
    json::array fields{
        Field(
            "text",
            "id",
            {{"primaryKey", true},
             {"required", true},
             {"min", 15},
             {"max", 15},
             {"pattern", "^[a-z0-9]+$"},
             {"autogeneratePattern", "[a-z0-9]{15}"}}
        ),
        Field("password", "password", {{"hidden", true}, {"required", true}, {"min", 8}, {"max", 0}, {"cost", 0}}),
        Field(
            "text",
            "tokenKey",
            {{"hidden", true}, {"required", true}, {"min", 30}, {"max", 60}, {"autogeneratePattern", "[a-zA-Z0-9]{50}"}}
        ),
        Field("email", "email", {{"required", true}, {"exceptDomains", nullptr}, {"onlyDomains", nullptr}}),
        Field("bool", "emailVisibility", {}),
        Field("bool", "verified", {}),
        Field("autodate", "created", {{"onCreate", true}, {"onUpdate", false}}),
        Field("autodate", "updated", {{"onCreate", true}, {"onUpdate", true}}),
    };
    json::object options{
        {"authToken", {{"duration", 86400}, {"secret", SecureRandomString(50, kAlphanumeric)}}},
        {"fileToken", {{"duration", 180}, {"secret", SecureRandomString(50, kAlphanumeric)}}},
        {"passwordAuth", {{"enabled", true}, {"identityFields", json::array{"email"}}}},
        {"oauth2", {{"enabled", false}}},
        {"mfa", {{"enabled", false}, {"duration", 1800}, {"rule", ""}}},
        {"otp", {{"enabled", false}, {"duration", 180}, {"length", 8}}},
        {"authRule", ""},
        {"manageRule", nullptr},
    };
    return {{"fields", std::move(fields)}, {"options", std::move(options)}, {"created", now}};
}

Result<void> Exec(db::Executor& ex, std::string_view sql, std::initializer_list<db::Value> params = {}) {
    BASALT_TRY(ex.Exec(sql, params));
    return Ok();
}

Result<void> InitCollectionsAndSuperusers(db::Executor& ex) {
    const std::string now = FormatDateTime(std::chrono::system_clock::now());
    const auto su = SuperusersCollection(now);
    const std::string superusers_id(auth::kSuperusersId);
    const char* steps[] = {
        ("CREATE TABLE _collections ("
         "id TEXT PRIMARY KEY NOT NULL, system INTEGER NOT NULL DEFAULT 0, type TEXT NOT NULL DEFAULT 'base', "
         "name TEXT NOT NULL, fields TEXT NOT NULL DEFAULT '[]', indexes TEXT NOT NULL DEFAULT '[]', "
         "listRule TEXT DEFAULT NULL, viewRule TEXT DEFAULT NULL, createRule TEXT DEFAULT NULL, "
         "updateRule TEXT DEFAULT NULL, deleteRule TEXT DEFAULT NULL, options TEXT NOT NULL DEFAULT '{}', "
         "created TEXT NOT NULL DEFAULT '', updated TEXT NOT NULL DEFAULT '')"),
        "CREATE UNIQUE INDEX idx__collections_name ON _collections (name COLLATE NOCASE)",
        ("CREATE TABLE _superusers ("
         "id TEXT PRIMARY KEY NOT NULL, email TEXT NOT NULL DEFAULT '', emailVisibility INTEGER NOT NULL DEFAULT 0, "
         "verified INTEGER NOT NULL DEFAULT 0, password TEXT NOT NULL DEFAULT '', tokenKey TEXT NOT NULL DEFAULT '', "
         "created TEXT NOT NULL DEFAULT '', updated TEXT NOT NULL DEFAULT '')"),
        "CREATE UNIQUE INDEX idx_email_pbc_3142635823 ON _superusers (email COLLATE NOCASE) WHERE email != ''",
        "CREATE UNIQUE INDEX idx_tokenKey_pbc_3142635823 ON _superusers (tokenKey)",
    };
    for (const char* sql : steps) {
        if (auto r = Exec(ex, sql); !r) {
            return r;
        }
    }
    const json::array indexes{
        "CREATE UNIQUE INDEX `idx_email_pbc_3142635823` ON `_superusers` (`email` COLLATE NOCASE) WHERE `email` != ''",
        "CREATE UNIQUE INDEX `idx_tokenKey_pbc_3142635823` ON `_superusers` (`tokenKey`)",
    };
    return Exec(
        ex,
        "INSERT INTO _collections (id, system, type, name, fields, indexes, options, created, updated) "
        "VALUES (?, 1, 'auth', ?, ?, ?, ?, ?, ?)",
        {superusers_id,
         std::string(auth::kSuperusersName),
         json::serialize(su.at("fields")),
         json::serialize(indexes),
         json::serialize(su.at("options")),
         now,
         now}
    );
}

Result<void> InitSchemaHistory(db::Executor& ex) {
    return Exec(
        ex,
        "CREATE TABLE _schema_history (id INTEGER PRIMARY KEY AUTOINCREMENT, created TEXT NOT NULL, "
        "action TEXT NOT NULL, collection_id TEXT NOT NULL, collection_name TEXT NOT NULL, "
        "definition TEXT NOT NULL)"
    );
}

Result<void> InitParams(db::Executor& ex) {
    return Exec(ex, "CREATE TABLE _params (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL)");
}

// Server-side sessions: every auth token belongs to one (basalt's; PocketBase has none).
Result<void> InitSessions(db::Executor& ex) {
    const char* steps[] = {
        ("CREATE TABLE _sessions (id TEXT PRIMARY KEY NOT NULL, collectionId TEXT NOT NULL, recordId TEXT NOT NULL, "
         "created TEXT NOT NULL, lastSeen TEXT NOT NULL, ip TEXT NOT NULL DEFAULT '', userAgent TEXT NOT NULL DEFAULT "
         "'', method TEXT NOT NULL DEFAULT '', revoked TEXT NOT NULL DEFAULT '')"),
        "CREATE INDEX idx__sessions_record ON _sessions (collectionId, recordId)",
    };
    for (const char* sql : steps) {
        if (auto r = Exec(ex, sql); !r) {
            return r;
        }
    }
    return Ok();
}

// PocketBase's default `users` auth collection: name and avatar (one image) besides the auth fields.
// An existing collection of that id or name is left alone.
Result<void> InitUsers(db::Executor& ex) {
    BASALT_ASSIGN_OR_RETURN(
        auto existing,
        ex.Query("SELECT 1 FROM _collections WHERE id = '_pb_users_auth_' OR name = 'users' COLLATE NOCASE LIMIT 1")
    );
    if (!existing.rows.empty()) {
        return Ok();
    }
    const std::string owner = "id = @request.auth.id";
    const json::object body{
        {"id", "_pb_users_auth_"},
        {"name", "users"},
        {"type", "auth"},
        {"listRule", owner},
        {"viewRule", owner},
        {"createRule", ""},
        {"updateRule", owner},
        {"deleteRule", owner},
        {"fields",
         json::array{
             json::object{{"name", "name"}, {"type", "text"}, {"max", 255}},
             json::object{
                 {"name", "avatar"},
                 {"type", "file"},
                 {"maxSelect", 1},
                 {"mimeTypes", json::array{"image/jpeg", "image/png", "image/svg+xml", "image/gif", "image/webp"}}},
             json::object{{"name", "created"}, {"type", "autodate"}, {"onCreate", true}, {"onUpdate", false}},
             json::object{{"name", "updated"}, {"type", "autodate"}, {"onCreate", true}, {"onUpdate", true}},
         }},
        {"authToken", json::object{{"duration", 604800}}},
    };
    collections::ChangeResult out;
    return collections::CreateCollectionIn(ex, body, FormatDateTime(std::chrono::system_clock::now()), out);
}

// One-time passwords sent by email (auth-with-otp): the code is kept as a SHA-256 digest.
Result<void> InitOtps(db::Executor& ex) {
    const char* steps[] = {
        ("CREATE TABLE _otps (id TEXT PRIMARY KEY NOT NULL, collectionId TEXT NOT NULL, recordId TEXT NOT NULL, "
         "password TEXT NOT NULL, sentTo TEXT NOT NULL DEFAULT '', attempts INTEGER NOT NULL DEFAULT 0, "
         "created TEXT NOT NULL)"),
        "CREATE INDEX idx__otps_record ON _otps (collectionId, recordId)",
    };
    for (const char* sql : steps) {
        if (auto r = Exec(ex, sql); !r) {
            return r;
        }
    }
    return Ok();
}

// Multi-factor sign-in: the first method passed (`_mfas`), and TOTP enrolments with their recovery
// codes (SHA-256 digests) and the last time step used (no replay).
Result<void> InitMfa(db::Executor& ex) {
    const char* steps[] = {
        ("CREATE TABLE _mfas (id TEXT PRIMARY KEY NOT NULL, collectionId TEXT NOT NULL, recordId TEXT NOT NULL, "
         "method TEXT NOT NULL, created TEXT NOT NULL)"),
        ("CREATE TABLE _totps (collectionId TEXT NOT NULL, recordId TEXT NOT NULL, secret TEXT NOT NULL, enabled "
         "INTEGER NOT NULL DEFAULT 0, recoveryCodes TEXT NOT NULL DEFAULT '[]', lastStep INTEGER NOT NULL DEFAULT 0, "
         "created TEXT NOT NULL, PRIMARY KEY (collectionId, recordId))"),
    };
    for (const char* sql : steps) {
        if (auto r = Exec(ex, sql); !r) {
            return r;
        }
    }
    return Ok();
}

// API keys (basalt): a SHA-256 of the secret part, never the key itself.
Result<void> InitApiKeys(db::Executor& ex) {
    return Exec(
        ex,
        "CREATE TABLE _apiKeys (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL DEFAULT '', collectionId TEXT NOT "
        "NULL, recordId TEXT NOT NULL, prefix TEXT NOT NULL, hash TEXT NOT NULL, scopes TEXT NOT NULL DEFAULT '[]', "
        "expires TEXT NOT NULL DEFAULT '', created TEXT NOT NULL, lastUsed TEXT NOT NULL DEFAULT '')"
    );
}

// Links between auth records and OAuth2 provider accounts (PocketBase's _externalAuths).
Result<void> InitExternalAuths(db::Executor& ex) {
    const char* steps[] = {
        ("CREATE TABLE _externalAuths (id TEXT PRIMARY KEY NOT NULL, collectionRef TEXT NOT NULL, recordRef TEXT NOT "
         "NULL, provider TEXT NOT NULL, providerId TEXT NOT NULL, created TEXT NOT NULL, updated TEXT NOT NULL)"),
        "CREATE UNIQUE INDEX idx__externalAuths_provider ON _externalAuths (collectionRef, provider, providerId)",
        "CREATE INDEX idx__externalAuths_record ON _externalAuths (collectionRef, recordRef)",
    };
    for (const char* sql : steps) {
        if (auto r = Exec(ex, sql); !r) {
            return r;
        }
    }
    return Ok();
}

// The transactional outbox: one row per record change, written in the change's own transaction, so a
// committed change always has its event and a rolled-back one never does. Ids follow commit order.
Result<void> InitEvents(db::Executor& ex) {
    return Exec(
        ex,
        "CREATE TABLE _events (id INTEGER PRIMARY KEY, created TEXT NOT NULL, collectionId TEXT NOT "
        "NULL, collectionName TEXT NOT NULL, recordId TEXT NOT NULL, action TEXT NOT NULL, record TEXT NOT NULL)"
    );
}

// The durable job queue. runAt and leaseUntil are Unix milliseconds (compared on every claim).
Result<void> InitJobs(db::Executor& ex) {
    const char* steps[] = {
        ("CREATE TABLE _jobs (id TEXT PRIMARY KEY NOT NULL, kind TEXT NOT NULL, payload TEXT NOT NULL, "
         "idempotencyKey TEXT, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, maxAttempts INTEGER NOT "
         "NULL, runAt INTEGER NOT NULL, leaseUntil INTEGER NOT NULL DEFAULT 0, worker TEXT NOT NULL DEFAULT '', "
         "lastError TEXT NOT NULL DEFAULT '', created TEXT NOT NULL, updated TEXT NOT NULL)"),
        "CREATE UNIQUE INDEX idx__jobs_idempotency ON _jobs (kind, idempotencyKey) WHERE idempotencyKey IS NOT NULL",
        "CREATE INDEX idx__jobs_due ON _jobs (status, runAt)",
        "CREATE INDEX idx__jobs_lease ON _jobs (status, leaseUntil)",
        "CREATE INDEX idx__jobs_created ON _jobs (created)",
    };
    for (const char* sql : steps) {
        if (auto r = Exec(ex, sql); !r) {
            return r;
        }
    }
    return Ok();
}

// Webhooks, their deliveries (one per webhook and event), and the relay's position in the outbox;
// the scheduler's last runs.
Result<void> InitWebhooks(db::Executor& ex) {
    const char* steps[] = {
        ("CREATE TABLE _webhooks (id TEXT PRIMARY KEY NOT NULL, name TEXT NOT NULL DEFAULT '', url TEXT NOT NULL, "
         "collections TEXT NOT NULL DEFAULT '[]', actions TEXT NOT NULL DEFAULT '[]', secret TEXT NOT NULL, enabled "
         "INTEGER NOT NULL DEFAULT 1, startEvent INTEGER NOT NULL DEFAULT 0, created TEXT NOT NULL, updated TEXT NOT "
         "NULL)"),
        ("CREATE TABLE _webhookDeliveries (id TEXT PRIMARY KEY NOT NULL, webhook TEXT NOT NULL REFERENCES _webhooks "
         "(id) ON DELETE CASCADE, eventId INTEGER NOT NULL, action TEXT NOT NULL, collectionName TEXT NOT NULL, "
         "recordId TEXT NOT NULL, status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, responseStatus INTEGER "
         "NOT NULL DEFAULT 0, error TEXT NOT NULL DEFAULT '', durationMs INTEGER NOT NULL DEFAULT 0, created TEXT NOT "
         "NULL, updated TEXT NOT NULL)"),
        "CREATE UNIQUE INDEX idx__webhookDeliveries_event ON _webhookDeliveries (webhook, eventId)",
        "CREATE INDEX idx__webhookDeliveries_created ON _webhookDeliveries (webhook, created)",
        "CREATE TABLE _crons (id TEXT PRIMARY KEY NOT NULL, lastRun INTEGER NOT NULL DEFAULT 0)",
    };
    for (const char* sql : steps) {
        if (auto r = Exec(ex, sql); !r) {
            return r;
        }
    }
    return Ok();
}

// A system text field as PocketBase defines one (no length limits, no pattern).
json::object TextField(std::string_view name, bool required, bool hidden = false) {
    return Field(
        "text",
        name,
        {{"hidden", hidden},
         {"required", required},
         {"min", 0},
         {"max", 0},
         {"pattern", ""},
         {"autogeneratePattern", ""},
         {"primaryKey", false}}
    );
}

// One of PocketBase's auth data collections: owners list and view their rows; writes are the
// superusers' (deletes also the owners', where PocketBase allows them).
json::object AuthDataCollection(std::string_view name, json::array fields, json::array indexes, bool owner_may_delete) {
    const std::string owner =
        "@request.auth.id != '' && recordRef = @request.auth.id && collectionRef = @request.auth.collectionId";
    json::array all{TextField("collectionRef", true), TextField("recordRef", true)};
    for (auto& f : fields) {
        all.push_back(std::move(f));
    }
    all.push_back(Field("autodate", "created", {{"onCreate", true}, {"onUpdate", false}}));
    all.push_back(Field("autodate", "updated", {{"onCreate", true}, {"onUpdate", true}}));
    return {
        {"id", CollectionIdFor("base", name)},
        {"name", name},
        {"type", "base"},
        {"system", true},
        {"listRule", owner},
        {"viewRule", owner},
        {"createRule", nullptr},
        {"updateRule", nullptr},
        {"deleteRule", owner_may_delete ? json::value(owner) : json::value(nullptr)},
        {"fields", std::move(all)},
        {"indexes", std::move(indexes)},
    };
}

// PocketBase's system collections of auth data (its migrations/1640988000_init.go): `_mfas`,
// `_otps`, `_authOrigins` and `_externalAuths` as base collections with PocketBase's ids, fields,
// rules and indexes, so the records API (superusers; owners through the rules) and the dashboard see
// them. The tables basalt made for `_otps`, `_mfas` and `_externalAuths` (migrations 6, 7, 9) are rebuilt in
// that shape with their rows: collectionId/recordId become collectionRef/recordRef and `updated` is
// added; `_otps` keeps basalt's `attempts` counter as a column outside the definition.
// `_authOrigins` starts empty (basalt's new-origin alert reads `_sessions`).
Result<void> InitAuthDataCollections(db::Executor& ex) {
    const std::string now = FormatDateTime(std::chrono::system_clock::now());
    const char* aside[] = {
        "CREATE TEMP TABLE _basalt_old_mfas AS SELECT rowid AS r, * FROM _mfas",
        "DROP TABLE _mfas",
        "CREATE TEMP TABLE _basalt_old_otps AS SELECT rowid AS r, * FROM _otps",
        "DROP TABLE _otps",
        "CREATE TEMP TABLE _basalt_old_external AS SELECT rowid AS r, * FROM _externalAuths",
        "DROP TABLE _externalAuths",
    };
    for (const char* sql : aside) {
        if (auto r = Exec(ex, sql); !r) {
            return r;
        }
    }
    const json::object collections[] = {
        AuthDataCollection(
            "_mfas",
            {TextField("method", true)},
            {"CREATE INDEX `idx_mfas_collectionRef_recordRef` ON `_mfas` (collectionRef,recordRef)"},
            false
        ),
        AuthDataCollection(
            "_otps",
            {Field(
                 "password",
                 "password",
                 {{"hidden", true}, {"required", true}, {"cost", 8}, {"min", 0}, {"max", 0}, {"pattern", ""}}
             ),
             TextField("sentTo", false, true)},
            {"CREATE INDEX `idx_otps_collectionRef_recordRef` ON `_otps` (collectionRef, recordRef)"},
            false
        ),
        AuthDataCollection(
            "_authOrigins",
            {TextField("fingerprint", true)},
            {"CREATE UNIQUE INDEX `idx_authOrigins_unique_pairs` ON `_authOrigins` (collectionRef, recordRef, "
             "fingerprint)"},
            true
        ),
        AuthDataCollection(
            "_externalAuths",
            {TextField("provider", true), TextField("providerId", true)},
            {"CREATE UNIQUE INDEX `idx_externalAuths_record_provider` ON `_externalAuths` (collectionRef, recordRef, "
             "provider)",
             "CREATE UNIQUE INDEX `idx_externalAuths_collection_provider` ON `_externalAuths` (collectionRef, "
             "provider, providerId)"},
            true
        ),
    };
    for (const auto& body : collections) {
        collections::ChangeResult out;
        if (auto r = collections::CreateCollectionIn(ex, body, now, out); !r) {
            return r;
        }
    }
    const char* back[] = {
        // One-time passwords count wrong guesses (basalt's; outside the definition).
        "ALTER TABLE _otps ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0",
        ("INSERT INTO _mfas (id, collectionRef, recordRef, method, created, updated) "
         "SELECT id, collectionId, recordId, method, created, created FROM temp._basalt_old_mfas ORDER BY r"),
        ("INSERT INTO _otps (id, collectionRef, recordRef, password, sentTo, created, updated, attempts) "
         "SELECT id, collectionId, recordId, password, sentTo, created, created, attempts FROM temp._basalt_old_otps "
         "ORDER BY r"),
        // One link per record and provider now (PocketBase's index): the latest is kept.
        ("INSERT OR IGNORE INTO _externalAuths (id, collectionRef, recordRef, provider, providerId, created, "
         "updated) SELECT id, collectionRef, recordRef, provider, providerId, created, updated FROM "
         "temp._basalt_old_external ORDER BY r DESC"),
        "DROP TABLE temp._basalt_old_mfas",
        "DROP TABLE temp._basalt_old_otps",
        "DROP TABLE temp._basalt_old_external",
    };
    for (const char* sql : back) {
        if (auto r = Exec(ex, sql); !r) {
            return r;
        }
    }
    return Ok();
}

// Superusers get file tokens (protected files): data directories made before files gain the
// fileToken option PocketBase's _superusers has, with a secret of their own.
Result<void> AddSuperuserFileToken(db::Executor& ex) {
    const db::Value id{std::string(auth::kSuperusersId)};
    BASALT_ASSIGN_OR_RETURN(auto rows, ex.Query("SELECT options FROM _collections WHERE id = ?", std::span(&id, 1)));
    if (rows.rows.empty()) {
        return Ok();
    }
    boost::system::error_code ec;
    json::value options = json::parse(db::AsString(rows.rows[0][0], "{}"), ec);
    if (ec || !options.is_object() || options.as_object().contains("fileToken")) {
        return Ok();
    }
    options.as_object()["fileToken"] =
        json::object{{"duration", 180}, {"secret", SecureRandomString(50, kAlphanumeric)}};
    return Exec(ex, "UPDATE _collections SET options = ? WHERE id = ?", {json::serialize(options), id});
}

// W3C Trace Context: a change's outbox event and the jobs it causes keep the span that made them
// (traceparent, tracestate), so a webhook delivery or a job run continues the request's trace.
Result<void> AddTraceContext(db::Executor& ex) {
    const char* steps[] = {
        "ALTER TABLE _events ADD COLUMN traceparent TEXT",
        "ALTER TABLE _events ADD COLUMN tracestate TEXT",
        "ALTER TABLE _jobs ADD COLUMN traceparent TEXT",
        "ALTER TABLE _jobs ADD COLUMN tracestate TEXT",
        "ALTER TABLE _webhookDeliveries ADD COLUMN traceparent TEXT",
    };
    for (const char* sql : steps) {
        if (auto r = Exec(ex, sql); !r) {
            return r;
        }
    }
    return Ok();
}

// The migration files applied to this database (basalt migrate, automigrate): PocketBase keeps them
// in `_migrations`, which basalt's own versioned migrations use.
Result<void> InitMigrationFiles(db::Executor& ex) {
    return Exec(ex, "CREATE TABLE _migrationFiles (file TEXT PRIMARY KEY NOT NULL, applied TEXT NOT NULL)");
}

}  // namespace

const std::vector<db::Migration>& SystemMigrations() {
    static const std::vector<db::Migration> migrations{
        {1, "init_collections_and_superusers", InitCollectionsAndSuperusers},
        {2, "schema_history", InitSchemaHistory},
        {3, "params", InitParams},
        {4, "sessions", InitSessions},
        {5, "users_collection", InitUsers},
        {6, "otps", InitOtps},
        {7, "mfa_totp", InitMfa},
        {8, "api_keys", InitApiKeys},
        {9, "external_auths", InitExternalAuths},
        {10, "events_outbox", InitEvents},
        {11, "jobs", InitJobs},
        {12, "webhooks_and_crons", InitWebhooks},
        {13, "auth_data_collections", InitAuthDataCollections},
        {14, "superuser_file_token", AddSuperuserFileToken},
        {15, "trace_context", AddTraceContext},
        {16, "migration_files", InitMigrationFiles},
    };
    return migrations;
}

}  // namespace basalt::app
