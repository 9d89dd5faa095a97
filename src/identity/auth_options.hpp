// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "schema/collection.hpp"

namespace basalt::identity {

/// A mail an auth collection sends, each with its template among the collection's options.
enum class AccountMailKind {
    kVerification,   // verificationTemplate
    kPasswordReset,  // resetPasswordTemplate
    kEmailChange,    // confirmEmailChangeTemplate
    kOtp,            // otp.emailTemplate
    kAuthAlert,      // authAlert.emailTemplate
};

/// A mail template: subject and HTML body with {NAME} placeholders.
struct MailTemplate {
    std::string subject;
    std::string body;
};

/// The sign-in options of an auth collection, read once from its options (PocketBase's keys; a
/// missing or mistyped value reads as off / 0 / null).
struct AuthOptions {
    std::optional<std::string> auth_rule;    // authRule: null refuses everyone, "" lets everyone in
    std::optional<std::string> manage_rule;  // manageRule
    bool password_auth = false;              // passwordAuth.enabled
    bool oauth2 = false;                     // oauth2.enabled
    bool mfa = false;                        // mfa.enabled
    std::int64_t mfa_duration = 0;           // mfa.duration (seconds)
    std::string mfa_rule;                    // mfa.rule ("" = every record)
    bool otp = false;                        // otp.enabled
    std::int64_t otp_duration = 0;           // otp.duration (seconds)
    std::int64_t otp_length = 0;             // otp.length
    bool auth_alert = false;                 // authAlert.enabled
};

AuthOptions AuthOptionsOf(const schema::Collection& c);

/// The collection's template for `kind` (empty when it has none).
MailTemplate TemplateOf(const schema::Collection& c, AccountMailKind kind);

}  // namespace basalt::identity
