// SPDX-License-Identifier: MIT
// The pre-0.23 → 0.23 conversion follows what PocketBase's own migration
// (migrations/1717233556_v0.23_migrate.go) does to a database it upgrades; the code is basalt's.
#include "importer/convert.hpp"

#include <charconv>
#include <cmath>
#include <string_view>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "core/ids.hpp"
#include "schema/field_kind.hpp"

namespace basalt::importer {

namespace {

namespace json = boost::json;

// The value at `keys` inside nested objects, or nullptr.
const json::value* At(const json::object& o, std::initializer_list<std::string_view> keys) {
    const json::object* cur = &o;
    const json::value* v = nullptr;
    for (auto k : keys) {
        if (cur == nullptr) {
            return nullptr;
        }
        v = cur->if_contains(k);
        if (v == nullptr) {
            return nullptr;
        }
        cur = v->is_object() ? &v->as_object() : nullptr;
    }
    return v;
}

// Go's cast.ToString / ToBool / ToInt64 / ToStringSlice over JSON, as far as settings and options use them.
std::string Str(const json::value* v) {
    if (v == nullptr) {
        return {};
    }
    if (v->is_string()) {
        return std::string(v->as_string());
    }
    if (v->is_int64() || v->is_uint64() || v->is_double() || v->is_bool()) {
        return json::serialize(*v);
    }
    return {};
}
bool Bool(const json::value* v) {
    if (v == nullptr) {
        return false;
    }
    if (v->is_bool()) {
        return v->as_bool();
    }
    if (v->is_string()) {
        return v->as_string() == "true" || v->as_string() == "1";
    }
    if (v->is_int64()) {
        return v->as_int64() != 0;
    }
    if (v->is_double()) {
        return v->as_double() != 0;
    }
    return false;
}
std::int64_t Int(const json::value* v) {
    if (v == nullptr) {
        return 0;
    }
    if (v->is_int64()) {
        return v->as_int64();
    }
    if (v->is_uint64()) {
        return static_cast<std::int64_t>(v->as_uint64());
    }
    if (v->is_double()) {
        return static_cast<std::int64_t>(v->as_double());
    }
    if (v->is_bool()) {
        return v->as_bool() ? 1 : 0;
    }
    if (v->is_string()) {
        std::int64_t out = 0;
        const auto& s = v->as_string();
        (void)std::from_chars(s.data(), s.data() + s.size(), out);
        return out;
    }
    return 0;
}
json::array Strings(const json::value* v) {
    json::array out;
    if (v != nullptr && v->is_array()) {
        for (const auto& e : v->as_array()) {
            if (e.is_string()) {
                out.push_back(e);
            }
        }
    }
    return out;
}
// A number option that may be null (min/max of number fields).
json::value NumberOrNull(const json::value* v) {
    if (v == nullptr || !(v->is_number())) {
        return nullptr;
    }
    return *v;
}

json::value Rule(const std::optional<std::string>& rule) {
    if (!rule) {
        return nullptr;
    }
    std::string out = *rule;
    const std::string from = "@request.data";
    for (std::size_t pos = out.find(from); pos != std::string::npos; pos = out.find(from, pos)) {
        out.replace(pos, from.size(), "@request.body");
        pos += 13;
    }
    return json::value(out);
}

json::object Base(const json::object& f, std::string_view type) {
    return {
        {"type", type},
        {"id", Str(f.if_contains("id"))},
        {"name", Str(f.if_contains("name"))},
        {"system", Bool(f.if_contains("system"))},
        {"required", Bool(f.if_contains("required"))},
        {"presentable", Bool(f.if_contains("presentable"))},
        {"hidden", false},
    };
}

// One legacy field in 0.23's shape; nullopt for a type basalt does not know.
std::optional<json::object> ConvertLegacyField(const json::object& f) {
    const std::string type = Str(f.if_contains("type"));
    const json::object empty;
    const json::object& o = f.contains("options") && f.at("options").is_object() ? f.at("options").as_object() : empty;
    auto opt = [&](std::string_view k) {
        return o.if_contains(k);
    };
    json::object out;
    if (type == "bool") {
        out = Base(f, type);
    } else if (type == "number") {
        out = Base(f, type);
        out["onlyInt"] = Bool(opt("noDecimal"));
        out["min"] = NumberOrNull(opt("min"));
        out["max"] = NumberOrNull(opt("max"));
    } else if (type == "text") {
        out = Base(f, type);
        out["primaryKey"] = Bool(f.if_contains("primaryKey"));
        out["hidden"] = Bool(f.if_contains("hidden"));
        out["min"] = Int(opt("min"));
        out["max"] = Int(opt("max"));
        out["pattern"] = Str(opt("pattern"));
        out["autogeneratePattern"] = Str(opt("autogeneratePattern"));
    } else if (type == "email" || type == "url") {
        out = Base(f, type);
        out["exceptDomains"] = Strings(opt("exceptDomains"));
        out["onlyDomains"] = Strings(opt("onlyDomains"));
    } else if (type == "editor") {
        out = Base(f, type);
        out["convertURLs"] = Bool(opt("convertUrls"));
    } else if (type == "date") {
        out = Base(f, type);
        out["min"] = Str(opt("min"));
        out["max"] = Str(opt("max"));
    } else if (type == "json") {
        out = Base(f, type);
        out["maxSize"] = Int(opt("maxSize"));
    } else if (type == "select") {
        out = Base(f, type);
        out["values"] = Strings(opt("values"));
        out["maxSelect"] = Int(opt("maxSelect"));
    } else if (type == "relation") {
        out = Base(f, type);
        std::int64_t max_select = Int(opt("maxSelect"));
        if (max_select <= 0) {
            max_select = 2147483647;  // null meant "no limit"
        }
        out["collectionId"] = Str(opt("collectionId"));
        out["cascadeDelete"] = Bool(opt("cascadeDelete"));
        out["minSelect"] = Int(opt("minSelect"));
        out["maxSelect"] = max_select;
    } else if (type == "file") {
        out = Base(f, type);
        out["maxSelect"] = Int(opt("maxSelect"));
        out["maxSize"] = Int(opt("maxSize"));
        out["thumbs"] = Strings(opt("thumbs"));
        out["mimeTypes"] = Strings(opt("mimeTypes"));
        out["protected"] = Bool(opt("protected"));
    } else {
        return std::nullopt;
    }
    return out;
}

json::object SystemField(std::string_view type, std::string_view name, bool system, bool hidden, bool required) {
    return {
        {"id", FieldIdFor(type, name)},
        {"type", type},
        {"name", name},
        {"system", system},
        {"hidden", hidden},
        {"required", required},
        {"presentable", false},
    };
}

json::object TokenOption(const json::object& settings, std::string_view key) {
    json::object o;
    const std::string secret = Str(At(settings, {key, "secret"}));
    const std::int64_t duration = Int(At(settings, {key, "duration"}));
    if (!secret.empty()) {
        o["secret"] = secret;
    }
    if (duration > 0) {
        o["duration"] = duration;
    }
    return o;
}

// Every field whose type basalt knows, the others noted.
json::array KnownFields(const json::array& in, const std::string& collection, Notes& notes) {
    json::array out;
    for (const auto& v : in) {
        if (!v.is_object()) {
            continue;
        }
        const std::string type = Str(v.as_object().if_contains("type"));
        if (!schema::ParseFieldType(type)) {
            notes.push_back(
                collection + "." + Str(v.as_object().if_contains("name")) + ": field type \"" + type +
                "\" is unknown to basalt; the field and its values were left out"
            );
            continue;
        }
        out.push_back(v);
    }
    return out;
}

std::string QuoteName(std::string_view name) {
    return "`" + std::string(name) + "`";
}

}  // namespace

const char* EraName(Era era) {
    return era == Era::kLegacy ? "pre-0.23" : "0.23+";
}

namespace {

// The system fields, indexes and options of a pre-0.23 auth collection, in 0.23's shape.
void AddLegacyAuthParts(
    const SourceCollection& c,
    const json::object& old_settings,
    json::object& body,
    json::array& fields,
    json::array& indexes
) {
    const auto& o = c.options;
    json::object password = SystemField("password", "password", true, true, true);
    password["min"] = Int(o.if_contains("minPasswordLength"));
    password["pattern"] = "";
    fields.push_back(password);
    json::object token_key = SystemField("text", "tokenKey", true, true, true);
    token_key["min"] = 30;
    token_key["max"] = 60;
    token_key["pattern"] = "";
    token_key["autogeneratePattern"] = "[a-zA-Z0-9_]{50}";
    token_key["primaryKey"] = false;
    fields.push_back(token_key);
    json::object email = SystemField("email", "email", true, false, Bool(o.if_contains("requireEmail")));
    email["exceptDomains"] = Strings(o.if_contains("exceptEmailDomains"));
    email["onlyDomains"] = Strings(o.if_contains("onlyEmailDomains"));
    fields.push_back(email);
    fields.push_back(SystemField("bool", "emailVisibility", true, false, false));
    fields.push_back(SystemField("bool", "verified", true, false, false));
    json::object username = SystemField("text", "username", false, false, true);
    username["min"] = 3;
    username["max"] = 150;
    username["pattern"] = R"(^[\w][\w\.\-]*$)";
    username["autogeneratePattern"] = "users[0-9]{6}";
    username["primaryKey"] = false;
    fields.push_back(username);
    // basalt adds the email and tokenKey indexes of every auth collection itself.
    indexes.emplace_back(
        "CREATE UNIQUE INDEX " + QuoteName("_" + c.id + "_username_idx") + " ON " + QuoteName(c.name) +
        " (username COLLATE NOCASE)"
    );
    body["authRule"] = Bool(o.if_contains("onlyVerified")) ? "verified=true" : "";
    const std::string manage = Str(o.if_contains("manageRule"));
    body["manageRule"] = manage.empty() ? json::value(nullptr) : Rule(manage);
    json::array identity;
    if (Bool(o.if_contains("allowEmailAuth"))) {
        identity.emplace_back("email");
    }
    if (Bool(o.if_contains("allowUsernameAuth"))) {
        identity.emplace_back("username");
    }
    body["passwordAuth"] = json::object{{"enabled", !identity.empty()}, {"identityFields", identity}};
    for (auto [option, setting] : std::initializer_list<std::pair<std::string_view, std::string_view>>{
             {"authToken", "recordAuthToken"},
             {"passwordResetToken", "recordPasswordResetToken"},
             {"emailChangeToken", "recordEmailChangeToken"},
             {"verificationToken", "recordVerificationToken"},
             {"fileToken", "recordFileToken"}}) {
        if (auto t = TokenOption(old_settings, setting); !t.empty()) {
            body[option] = std::move(t);
        }
    }
}

// The collection's own fields converted (unknown types left out and noted; `unique` → an index).
void AddLegacyFields(const SourceCollection& c, json::array& fields, json::array& indexes, Notes& notes) {
    for (const auto& v : c.fields) {
        if (!v.is_object()) {
            continue;
        }
        const auto& f = v.as_object();
        auto converted = ConvertLegacyField(f);
        if (!converted) {
            notes.push_back(
                c.name + "." + Str(f.if_contains("name")) + ": field type \"" + Str(f.if_contains("type")) +
                "\" is unknown to basalt; the field and its values were left out"
            );
            continue;
        }
        if (Bool(f.if_contains("unique"))) {
            const std::string fname = Str(f.if_contains("name"));
            indexes.emplace_back(
                "CREATE UNIQUE INDEX " + QuoteName("idx_unique_" + Str(f.if_contains("id"))) + " ON " +
                QuoteName(c.name) + " (" + QuoteName(fname) + ")"
            );
        }
        fields.push_back(std::move(*converted));
    }
}

// The created/updated autodate fields 0.23 gives every base and auth collection.
void AddAutodateFields(json::array& fields) {
    json::object created = SystemField("autodate", "created", false, false, false);
    created["onCreate"] = true;
    created["onUpdate"] = false;
    json::object updated = SystemField("autodate", "updated", false, false, false);
    updated["onCreate"] = true;
    updated["onUpdate"] = true;
    fields.push_back(created);
    fields.push_back(updated);
}

}  // namespace

json::object ConvertLegacyCollection(const SourceCollection& c, const json::object& old_settings, Notes& notes) {
    json::object body{
        {"id", c.id},
        {"name", c.name},
        {"type", c.type},
        {"system", c.system},
        {"listRule", Rule(c.list_rule)},
        {"viewRule", Rule(c.view_rule)},
        {"createRule", Rule(c.create_rule)},
        {"updateRule", Rule(c.update_rule)},
        {"deleteRule", Rule(c.delete_rule)},
    };
    json::array indexes;
    json::array fields;
    json::object id_field{
        {"id", FieldIdFor("text", "id")},
        {"type", "text"},
        {"name", "id"},
        {"system", true},
        {"required", true},
        {"presentable", false},
        {"hidden", false},
        {"primaryKey", true},
        {"min", 15},
        {"max", 15},
        {"pattern", "^[a-z0-9]+$"},
        {"autogeneratePattern", "[a-z0-9]{15}"}};
    fields.push_back(id_field);
    const auto& o = c.options;
    if (c.type == "auth") {
        AddLegacyAuthParts(c, old_settings, body, fields, indexes);
    } else if (c.type == "view") {
        body["viewQuery"] = Str(o.if_contains("query"));
    }
    AddLegacyFields(c, fields, indexes, notes);
    if (c.type != "view") {
        AddAutodateFields(fields);
    }
    for (const auto& i : c.indexes) {
        indexes.push_back(i);
    }
    body["fields"] = std::move(fields);
    body["indexes"] = std::move(indexes);
    return body;
}

json::object ConvertModernCollection(const SourceCollection& c, Notes& notes) {
    json::object body = c.options;  // flattened as the API shows them
    body["id"] = c.id;
    body["name"] = c.name;
    body["type"] = c.type;
    body["system"] = c.system;
    body["listRule"] = Rule(c.list_rule);
    body["viewRule"] = Rule(c.view_rule);
    body["createRule"] = Rule(c.create_rule);
    body["updateRule"] = Rule(c.update_rule);
    body["deleteRule"] = Rule(c.delete_rule);
    body["fields"] = KnownFields(c.fields, c.name, notes);
    body["indexes"] = c.indexes;
    return body;
}

namespace {

// settings of 0.23+: the sections basalt has are taken as they are.
json::object ConvertModernSettings(const json::object& s, Notes& notes) {
    json::object patch;
    for (std::string_view key : {"meta", "logs", "smtp", "s3", "backups", "batch", "rateLimits", "trustedProxy"}) {
        if (const auto* v = s.if_contains(key); v != nullptr && v->is_object()) {
            patch[key] = *v;
        }
    }
    for (const auto& [key, v] : s) {
        if (!patch.contains(key)) {
            notes.push_back("settings." + std::string(key) + ": no basalt setting of that name; not carried over");
        }
    }
    return patch;
}

// An S3 section of the pre-0.23 settings (`at` is its path).
json::object LegacyS3(const json::object& s, std::initializer_list<std::string_view> at) {
    auto key = [&](std::string_view k) {
        std::vector<std::string_view> path(at);
        path.push_back(k);
        const json::value* v = nullptr;
        const json::object* cur = &s;
        for (auto p : path) {
            v = cur != nullptr ? cur->if_contains(p) : nullptr;
            if (v == nullptr) {
                return v;
            }
            cur = v->is_object() ? &v->as_object() : nullptr;
        }
        return v;
    };
    return json::object{
        {"enabled", Bool(key("enabled"))},
        {"bucket", Str(key("bucket"))},
        {"region", Str(key("region"))},
        {"endpoint", Str(key("endpoint"))},
        {"accessKey", Str(key("accessKey"))},
        {"secret", Str(key("secret"))},
        {"forcePathStyle", Bool(key("forcePathStyle"))},
    };
}

// What of the pre-0.23 settings has no place in basalt's, noted.
void NoteLegacySettingsLeftOut(const json::object& s, Notes& notes) {
    // The templates and the token options went into the auth collections; OAuth2 providers are noted
    // there; nothing else of the old document has a place.
    for (const auto& [key, v] : s) {
        const std::string_view k = key;
        if (k == "meta" || k == "logs" || k == "smtp" || k == "s3" || k == "backups" || k.starts_with("record") ||
            k.starts_with("admin")) {
            continue;
        }
        if (k.ends_with("Auth")) {
            if (Bool(At(s, {k, "enabled"}))) {
                notes.push_back(
                    "settings." + std::string(k) + ": OAuth2 provider not carried over (configure it again)"
                );
            }
            continue;
        }
        notes.push_back("settings." + std::string(k) + ": no basalt setting of that name; not carried over");
    }
}

}  // namespace

json::object ConvertSettings(const json::object& s, Era era, Notes& notes) {
    json::object patch;
    if (era == Era::kModern) {
        return ConvertModernSettings(s, notes);
    }
    std::string app_url = Str(At(s, {"meta", "appUrl"}));
    while (!app_url.empty() && app_url.back() == '/') {
        app_url.pop_back();
    }
    patch["meta"] = json::object{
        {"appName", Str(At(s, {"meta", "appName"}))},
        {"appURL", app_url},
        {"hideControls", Bool(At(s, {"meta", "hideControls"}))},
        {"senderName", Str(At(s, {"meta", "senderName"}))},
        {"senderAddress", Str(At(s, {"meta", "senderAddress"}))},
    };
    if (const auto* logs = s.if_contains("logs"); logs != nullptr && logs->is_object()) {
        patch["logs"] = json::object{
            {"maxDays", Int(At(s, {"logs", "maxDays"}))},
            {"minLevel", Int(At(s, {"logs", "minLevel"}))},
            {"logIP", Bool(At(s, {"logs", "logIp"}))},
        };
    }
    if (const auto* smtp = s.if_contains("smtp"); smtp != nullptr && smtp->is_object()) {
        json::object m{
            {"enabled", Bool(At(s, {"smtp", "enabled"}))},
            {"port", Int(At(s, {"smtp", "port"}))},
            {"host", Str(At(s, {"smtp", "host"}))},
            {"username", Str(At(s, {"smtp", "username"}))},
            {"password", Str(At(s, {"smtp", "password"}))},
            {"authMethod", Str(At(s, {"smtp", "authMethod"}))},
            {"tls", Bool(At(s, {"smtp", "tls"}))},
            {"localName", Str(At(s, {"smtp", "localName"}))},
        };
        patch["smtp"] = std::move(m);
    }
    if (s.contains("s3")) {
        patch["s3"] = LegacyS3(s, {"s3"});
    }
    if (const auto* b = s.if_contains("backups"); b != nullptr && b->is_object()) {
        patch["backups"] = json::object{
            {"cron", Str(At(s, {"backups", "cron"}))},
            {"cronMaxKeep", Int(At(s, {"backups", "cronMaxKeep"}))},
            {"s3", LegacyS3(s, {"backups", "s3"})},
        };
    }
    NoteLegacySettingsLeftOut(s, notes);
    return patch;
}

namespace {

// A stored value as text (numbers written as JSON would write them; NULL: "").
std::string ValueText(const db::Value& v) {
    if (const auto* text = std::get_if<std::string>(&v)) {
        return *text;
    }
    if (const auto* i = std::get_if<std::int64_t>(&v)) {
        return std::to_string(*i);
    }
    if (const auto* d = std::get_if<double>(&v)) {
        return json::serialize(json::value(*d));
    }
    return {};
}

db::Value NumberValue(const db::Value& v) {
    if (const auto* text = std::get_if<std::string>(&v)) {
        double d = 0;
        const auto [p, ec] = std::from_chars(text->data(), text->data() + text->size(), d);
        if (ec != std::errc() || p != text->data() + text->size() || !std::isfinite(d)) {
            return std::int64_t{0};
        }
        return d;
    }
    return std::holds_alternative<std::nullptr_t>(v) ? db::Value(std::int64_t{0}) : v;
}

db::Value BoolValue(const db::Value& v) {
    if (const auto* i = std::get_if<std::int64_t>(&v)) {
        return std::int64_t{*i != 0 ? 1 : 0};
    }
    if (const auto* d = std::get_if<double>(&v)) {
        return std::int64_t{*d != 0 ? 1 : 0};
    }
    const auto* text = std::get_if<std::string>(&v);
    return std::int64_t{text != nullptr && (*text == "true" || *text == "1") ? 1 : 0};
}

db::Value RelationValue(const db::Value& v) {
    std::string s = ValueText(v);
    if (!s.empty() && s.front() == '[') {
        // a list kept in a column that became single: its last value, as PocketBase
        boost::system::error_code ec;
        auto parsed = json::parse(s, ec);
        s.clear();
        if (!ec && parsed.is_array() && !parsed.as_array().empty() && parsed.as_array().back().is_string()) {
            s = std::string(parsed.as_array().back().as_string());
        }
    }
    if (s.empty()) {
        return nullptr;
    }
    return s;
}

db::Value ListValue(const db::Value& v) {
    const std::string s = ValueText(v);
    if (s.empty()) {
        return std::string("[]");
    }
    if (s.front() == '[') {
        boost::system::error_code ec;
        auto parsed = json::parse(s, ec);
        if (!ec && parsed.is_array()) {
            return s;
        }
    }
    return json::serialize(json::array{json::value(s)});
}

}  // namespace

db::Value ConvertValue(const schema::Field& f, const db::Value& v) {
    const auto* text = std::get_if<std::string>(&v);
    const bool empty = std::holds_alternative<std::nullptr_t>(v) || (text != nullptr && text->empty());
    switch (f.Shape()) {
        case schema::ValueShape::kText:
            return ValueText(v);
        case schema::ValueShape::kNumber:
            return NumberValue(v);
        case schema::ValueShape::kBool:
            return BoolValue(v);
        case schema::ValueShape::kJson:
            return empty ? db::Value(nullptr) : db::Value(ValueText(v));
        case schema::ValueShape::kGeoPoint:
            return empty ? db::Value(std::string(R"({"lon":0,"lat":0})")) : db::Value(ValueText(v));
        case schema::ValueShape::kRelation:
            return RelationValue(v);
        case schema::ValueShape::kList:
            return ListValue(v);
    }
    return v;
}

}  // namespace basalt::importer
