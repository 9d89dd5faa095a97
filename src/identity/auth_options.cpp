// SPDX-License-Identifier: MIT
#include "identity/auth_options.hpp"

namespace basalt::identity {

namespace {

namespace json = boost::json;

const json::object* ObjectOption(const schema::Collection& c, std::string_view key) {
    const auto* o = c.options.if_contains(key);
    return o != nullptr && o->is_object() ? &o->as_object() : nullptr;
}

bool Enabled(const json::object* o) {
    const auto* e = o != nullptr ? o->if_contains("enabled") : nullptr;
    return e != nullptr && e->is_bool() && e->as_bool();
}

std::int64_t Int(const json::object* o, std::string_view name) {
    const auto* v = o != nullptr ? o->if_contains(name) : nullptr;
    return v != nullptr && v->is_int64() ? v->as_int64() : 0;
}

std::optional<std::string> String(const json::object* o, std::string_view name) {
    const auto* v = o != nullptr ? o->if_contains(name) : nullptr;
    return v != nullptr && v->is_string() ? std::optional<std::string>(v->as_string()) : std::nullopt;
}

}  // namespace

AuthOptions AuthOptionsOf(const schema::Collection& c) {
    AuthOptions o;
    o.auth_rule = String(&c.options, "authRule");
    o.manage_rule = String(&c.options, "manageRule");
    o.password_auth = Enabled(ObjectOption(c, "passwordAuth"));
    o.oauth2 = Enabled(ObjectOption(c, "oauth2"));
    const auto* mfa = ObjectOption(c, "mfa");
    o.mfa = Enabled(mfa);
    o.mfa_duration = Int(mfa, "duration");
    o.mfa_rule = String(mfa, "rule").value_or("");
    const auto* otp = ObjectOption(c, "otp");
    o.otp = Enabled(otp);
    o.otp_duration = Int(otp, "duration");
    o.otp_length = Int(otp, "length");
    o.auth_alert = Enabled(ObjectOption(c, "authAlert"));
    return o;
}

MailTemplate TemplateOf(const schema::Collection& c, AccountMailKind kind) {
    const json::object* o = nullptr;
    switch (kind) {
        case AccountMailKind::kVerification:
            o = ObjectOption(c, "verificationTemplate");
            break;
        case AccountMailKind::kPasswordReset:
            o = ObjectOption(c, "resetPasswordTemplate");
            break;
        case AccountMailKind::kEmailChange:
            o = ObjectOption(c, "confirmEmailChangeTemplate");
            break;
        case AccountMailKind::kOtp:
            if (const auto* otp = ObjectOption(c, "otp")) {
                const auto* t = otp->if_contains("emailTemplate");
                o = t != nullptr && t->is_object() ? &t->as_object() : nullptr;
            }
            break;
        case AccountMailKind::kAuthAlert:
            if (const auto* alert = ObjectOption(c, "authAlert")) {
                const auto* t = alert->if_contains("emailTemplate");
                o = t != nullptr && t->is_object() ? &t->as_object() : nullptr;
            }
            break;
    }
    return {String(o, "subject").value_or(""), String(o, "body").value_or("")};
}

}  // namespace basalt::identity
