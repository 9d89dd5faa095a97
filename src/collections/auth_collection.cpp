// SPDX-License-Identifier: MIT
#include "collections/auth_collection.hpp"

#include <set>

#include <boost/json/array.hpp>
#include <boost/json/serialize.hpp>

#include "core/ids.hpp"
#include "core/random.hpp"

namespace basalt::collections {

namespace {

namespace json = boost::json;
using schema::FieldType;

schema::Field System(FieldType type, std::string name, json::object options, bool hidden = false) {
    schema::Field f;
    f.type = type;
    f.name = std::move(name);
    f.id = FieldIdFor(schema::FieldTypeName(type), f.name);
    f.system = true;
    f.hidden = hidden;
    f.SetOptions(std::move(options));
    return f;
}

json::object Template(std::string_view subject, std::string_view body) {
    return {{"subject", subject}, {"body", body}};
}

// The defaults of a new auth collection. Durations in seconds; secrets are generated per collection.
json::object DefaultOptions() {
    auto token = [](std::int64_t seconds) {
        return json::object{{"duration", seconds}, {"secret", SecureRandomString(50, kAlphanumeric)}};
    };
    return {
        {"authRule", ""},
        {"manageRule", nullptr},
        {"passwordAuth", {{"enabled", true}, {"identityFields", json::array{"email"}}}},
        {"oauth2",
         {{"enabled", false},
          {"mappedFields", {{"id", ""}, {"name", ""}, {"username", ""}, {"avatarURL", ""}}},
          {"providers", json::array{}}}},
        {"mfa", {{"enabled", false}, {"duration", 600}, {"rule", ""}}},
        {"otp",
         {{"enabled", false},
          {"duration", 180},
          {"length", 8},
          {"emailTemplate",
           Template(
               "Your {APP_NAME} sign-in code",
               "<p>Your one-time sign-in code is <strong>{OTP}</strong>.</p><p>It expires in a few minutes. If you "
               "did not ask for it, ignore this email.</p>"
           )}}},
        {"authAlert",
         {{"enabled", true},
          {"emailTemplate",
           Template(
               "New sign-in to your {APP_NAME} account",
               "<p>Your {APP_NAME} account was just signed in to from a new location ({ALERT_INFO}).</p><p>If this "
               "was not you, change your password now: every session is ended when you do.</p>"
           )}}},
        {"authToken", token(432000)},
        {"passwordResetToken", token(1800)},
        {"emailChangeToken", token(1800)},
        {"verificationToken", token(86400)},
        {"fileToken", token(180)},
        {"verificationTemplate",
         Template(
             "Confirm your {APP_NAME} email",
             "<p>Welcome to {APP_NAME}.</p><p>Confirm your email address with this link:</p><p><a "
             "href=\"{APP_URL}/_/#/auth/confirm-verification/{TOKEN}\">Confirm my email</a></p>"
         )},
        {"resetPasswordTemplate",
         Template(
             "Reset your {APP_NAME} password",
             "<p>Someone asked to reset the password of your {APP_NAME} account.</p><p><a "
             "href=\"{APP_URL}/_/#/auth/confirm-password-reset/{TOKEN}\">Choose a new password</a></p><p>If it was "
             "not you, ignore this email: your password stays as it is.</p>"
         )},
        {"confirmEmailChangeTemplate",
         Template(
             "Confirm your new {APP_NAME} email",
             "<p>Confirm the new email address of your {APP_NAME} account:</p><p><a "
             "href=\"{APP_URL}/_/#/auth/confirm-email-change/{TOKEN}\">Confirm the new address</a></p>"
         )},
    };
}

bool IsInt(const json::value& v) {
    return v.is_int64() || v.is_uint64() ||
           (v.is_double() && v.as_double() == static_cast<double>(static_cast<std::int64_t>(v.as_double())));
}

std::int64_t AsInt(const json::value& v) {
    if (v.is_int64()) {
        return v.as_int64();
    }
    if (v.is_uint64()) {
        return static_cast<std::int64_t>(v.as_uint64());
    }
    return v.is_double() ? static_cast<std::int64_t>(v.as_double()) : 0;
}

// Overlays `in` on `current` key by key, checking each known key's type.
void Overlay(std::string_view key, const json::object& in, json::object& current, std::vector<FieldError>& errors) {
    const std::string at = std::string(key) + ".";
    for (const auto& [k, v] : in) {
        const std::string_view name = k;
        bool ok = true;
        if (name == "enabled" || name == "pkce") {
            ok = v.is_bool();
        } else if (name == "duration" || name == "length") {
            ok = IsInt(v) && AsInt(v) >= (name == "length" ? 4 : 1) &&
                 AsInt(v) <= (name == "length" ? 32 : 10LL * 365 * 24 * 3600);
        } else if (name == "secret") {
            ok = v.is_string() && v.as_string().size() >= 30 && v.as_string().size() <= 255;
        } else if (name == "identityFields") {
            ok = v.is_array();
            for (const auto& f : ok ? v.as_array() : json::array{}) {
                ok = ok && f.is_string();
            }
        } else if (name == "rule" || name == "subject" || name == "body") {
            ok = v.is_string();
        } else if (name == "emailTemplate" || name == "mappedFields") {
            ok = v.is_object();
        } else if (name == "providers") {
            ok = v.is_array();
        } else {
            continue;  // unknown keys are ignored, as PocketBase's decoder does
        }
        if (!ok) {
            errors.push_back({at + std::string(name), "validation_invalid_value", "Invalid value."});
            continue;
        }
        if (name == "emailTemplate" && current.contains("emailTemplate") && current.at("emailTemplate").is_object()) {
            json::object merged = current.at("emailTemplate").as_object();
            for (const auto& [tk, tv] : v.as_object()) {
                if (tv.is_string()) {
                    merged[tk] = tv;
                }
            }
            current["emailTemplate"] = std::move(merged);
        } else {
            current[name] = v;
        }
    }
}

}  // namespace

constexpr OAuth2Defaults kOAuth2Providers[] = {
    {"google",
     "Google",
     "https://accounts.google.com/o/oauth2/v2/auth",
     "https://oauth2.googleapis.com/token",
     "https://www.googleapis.com/oauth2/v3/userinfo",
     "openid email profile"},
    {"github",
     "GitHub",
     "https://github.com/login/oauth/authorize",
     "https://github.com/login/oauth/access_token",
     "https://api.github.com/user",
     "read:user user:email"},
    {"gitlab",
     "GitLab",
     "https://gitlab.com/oauth/authorize",
     "https://gitlab.com/oauth/token",
     "https://gitlab.com/api/v4/user",
     "read_user"},
    {"discord",
     "Discord",
     "https://discord.com/api/oauth2/authorize",
     "https://discord.com/api/oauth2/token",
     "https://discord.com/api/users/@me",
     "identify email"},
    {"microsoft",
     "Microsoft",
     "https://login.microsoftonline.com/common/oauth2/v2.0/authorize",
     "https://login.microsoftonline.com/common/oauth2/v2.0/token",
     "https://graph.microsoft.com/oidc/userinfo",
     "openid email profile"},
    {"oidc", "OpenID Connect", "", "", "", "openid email profile"},
    {"oidc2", "OpenID Connect", "", "", "", "openid email profile"},
    {"oidc3", "OpenID Connect", "", "", "", "openid email profile"},
};

const OAuth2Defaults* FindOAuth2Provider(std::string_view name) {
    for (const auto& d : kOAuth2Providers) {
        if (name == d.name) {
            return &d;
        }
    }
    return nullptr;
}

namespace {

// The auth options: the defaults, overlaid by the current ones (`existing`), overlaid by the body's
// (each known key checked for its type; authRule/manageRule strings or null).
json::object OverlaidOptions(
    const json::object& body, const schema::Collection* existing, std::vector<FieldError>& errors
) {
    json::object options = DefaultOptions();
    if (existing != nullptr) {
        for (const auto& [k, v] : existing->options) {
            options[k] = v;  // the current values (and secrets) win over the defaults
        }
    }
    for (const char* rule : {"authRule", "manageRule"}) {
        if (const auto* v = body.if_contains(rule)) {
            if (v->is_string() || v->is_null()) {
                options[rule] = *v;
            } else {
                errors.push_back({rule, "validation_invalid_rule", "Rules must be strings or null."});
            }
        }
    }
    for (auto& [key, value] : options) {
        const auto* in = body.if_contains(key);
        if (in == nullptr || !value.is_object()) {
            continue;
        }
        if (!in->is_object()) {
            errors.push_back({std::string(key), "validation_invalid_value", "Must be an object."});
            continue;
        }
        Overlay(key, in->as_object(), value.as_object(), errors);
    }
    return options;
}

// oauth2.providers: known names, a clientId; a clientSecret left out keeps the stored one.
void CheckProviders(json::object& options, const schema::Collection* existing, std::vector<FieldError>& errors) {
    if (auto* o = options.if_contains("oauth2"); o != nullptr && o->is_object()) {
        if (auto* list = o->as_object().if_contains("providers"); list != nullptr && list->is_array()) {
            const json::array* before = nullptr;
            if (existing != nullptr) {
                const auto* eo = existing->options.if_contains("oauth2");
                const auto* el = eo != nullptr && eo->is_object() ? eo->as_object().if_contains("providers") : nullptr;
                before = el != nullptr && el->is_array() ? &el->as_array() : nullptr;
            }
            std::set<std::string> names;
            for (auto& v : list->as_array()) {
                const auto* name = v.is_object() ? v.as_object().if_contains("name") : nullptr;
                const auto* id = v.is_object() ? v.as_object().if_contains("clientId") : nullptr;
                if (name == nullptr || !name->is_string() || FindOAuth2Provider(name->as_string()) == nullptr ||
                    id == nullptr || !id->is_string() || id->as_string().empty() ||
                    !names.insert(std::string(name->as_string())).second) {
                    errors.push_back(
                        {"oauth2.providers",
                         "validation_invalid_provider",
                         "Each provider needs a known, unique name and a clientId."}
                    );
                    break;
                }
                auto& p = v.as_object();
                if (!p.contains("clientSecret") && before != nullptr) {
                    for (const auto& old : *before) {
                        if (old.is_object() && old.as_object().if_contains("name") != nullptr &&
                            old.as_object().at("name") == *name && old.as_object().contains("clientSecret")) {
                            p["clientSecret"] = old.as_object().at("clientSecret");
                        }
                    }
                }
            }
        }
    }
}

// passwordAuth.identityFields: fields of this collection with a unique index.
void CheckIdentityFields(const json::object& options, const schema::Collection& c, std::vector<FieldError>& errors) {
    std::set<std::string> seen;
    for (const auto& f : schema::ParseCollectionOptions(options).identity_fields) {
        const schema::Field* field = c.FindField(f);
        bool unique = f == "email";
        for (const auto& idx : c.indexes) {
            unique = unique || (idx.rfind("CREATE UNIQUE INDEX", 0) == 0 &&
                                idx.find("(`" + f + "`") != std::string::npos && idx.find(',') == std::string::npos);
        }
        // PocketBase's errors for a missing field and a field without a unique index (with the
        // field's name as a param); basalt also wants text or email fields, each named once.
        const std::string params = R"({"fieldName":)" + json::serialize(json::value(f)) + "}";
        if (field == nullptr) {
            errors.push_back(
                {"passwordAuth.identityFields",
                 "validation_missing_field",
                 "Invalid or missing field " + f + ".",
                 {},
                 params}
            );
            break;
        }
        if (!unique) {
            errors.push_back(
                {"passwordAuth.identityFields",
                 "validation_missing_unique_constraint",
                 "The field " + f + " doesn't have a UNIQUE constraint.",
                 {},
                 params}
            );
            break;
        }
        if ((field->type != FieldType::kText && field->type != FieldType::kEmail) || !seen.insert(f).second) {
            errors.push_back(
                {"passwordAuth.identityFields",
                 "validation_invalid_identity_field",
                 "Identity fields must be text or email fields of the collection, each named once."}
            );
            break;
        }
    }
}

}  // namespace

std::vector<schema::Field> AuthSystemFields() {
    return {
        System(FieldType::kPassword, "password", {{"required", true}, {"min", 8}, {"max", 0}, {"cost", 0}}, true),
        System(
            FieldType::kText,
            "tokenKey",
            {{"required", true},
             {"min", 30},
             {"max", 60},
             {"pattern", ""},
             {"autogeneratePattern", "[a-zA-Z0-9]{50}"},
             {"primaryKey", false}},
            true
        ),
        System(FieldType::kEmail, "email", {{"required", true}, {"exceptDomains", nullptr}, {"onlyDomains", nullptr}}),
        System(FieldType::kBool, "emailVisibility", {{"required", false}}),
        System(FieldType::kBool, "verified", {{"required", false}}),
    };
}

void EnsureAuthFields(schema::Collection& c) {
    std::size_t at = c.FindField("id") != nullptr ? 1 : 0;
    for (auto& sys : AuthSystemFields()) {
        bool present = false;
        for (auto& f : c.fields) {
            if (f.name == sys.name) {
                present = true;
                f.system = true;  // the definition is basalt's, whatever was sent
                f.type = sys.type;
                f.hidden = sys.hidden;
                if (f.id.empty()) {
                    f.id = sys.id;
                }
                json::object options = f.OptionsJson();
                for (const auto& [k, v] : sys.OptionsJson()) {
                    if (!options.contains(k) || k == "required" || f.name == "tokenKey" || f.name == "password") {
                        options[k] = v;
                    }
                }
                f.SetOptions(std::move(options));
            }
        }
        if (!present) {
            c.fields.insert(c.fields.begin() + static_cast<std::ptrdiff_t>(std::min(at, c.fields.size())), sys);
        }
        ++at;
    }
}

void EnsureAuthIndexes(schema::Collection& c) {
    auto ensure_index = [&c](const std::string& name, const std::string& text) {
        for (const auto& existing : c.indexes) {
            if (existing.find("`" + name + "`") != std::string::npos) {
                return;
            }
        }
        c.indexes.push_back(text);
    };
    ensure_index(
        "idx_tokenKey_" + c.id, "CREATE UNIQUE INDEX `idx_tokenKey_" + c.id + "` ON `" + c.name + "` (`tokenKey`)"
    );
    ensure_index(
        "idx_email_" + c.id,
        "CREATE UNIQUE INDEX `idx_email_" + c.id + "` ON `" + c.name + "` (`email` COLLATE NOCASE) WHERE `email` != ''"
    );
}

void ApplyAuthOptions(
    const json::object& body, const schema::Collection* existing, schema::Collection& c, std::vector<FieldError>& errors
) {
    json::object options = OverlaidOptions(body, existing, errors);
    CheckProviders(options, existing, errors);
    CheckIdentityFields(options, c, errors);
    c.SetOptions(std::move(options));
}

std::vector<std::string> IdentityFields(const schema::Collection& c) {
    return c.Options().identity_fields;
}

TokenConfig TokenConfigOf(const schema::Collection& c, std::string_view key) {
    TokenConfig t;
    const auto* v = c.options.if_contains(key);
    if (v != nullptr && v->is_object()) {
        const auto& o = v->as_object();
        if (const auto* s = o.if_contains("secret"); s != nullptr && s->is_string()) {
            t.secret = std::string(s->as_string());
        }
        if (const auto* d = o.if_contains("duration"); d != nullptr && IsInt(*d)) {
            t.duration = AsInt(*d);
        }
    }
    return t;
}

}  // namespace basalt::collections
