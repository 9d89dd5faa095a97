// SPDX-License-Identifier: MIT
#include "identity/account_mail.hpp"

#include "auth/jwt.hpp"
#include "auth/password.hpp"
#include "collections/auth_collection.hpp"
#include "core/random.hpp"
#include "core/text.hpp"
#include "identity/auth_input.hpp"
#include "mail/mail.hpp"
#include "obs/log.hpp"

namespace basalt::identity {

namespace {

constexpr std::chrono::minutes kResendAfter{1};
constexpr std::size_t kMaxRemembered = 10000;

Error InvalidToken() {
    return ValidationError(
        "An error occurred while validating the submitted data.",
        {{"token", "validation_invalid_token", "Invalid or expired token."}}
    );
}

}  // namespace

AccountMail::PurposeInfo AccountMail::InfoOf(Purpose purpose) {
    switch (purpose) {
        case Purpose::kVerification:
            return {"verification", "verificationToken", AccountMailKind::kVerification};
        case Purpose::kPasswordReset:
            return {"passwordReset", "passwordResetToken", AccountMailKind::kPasswordReset};
        case Purpose::kEmailChange:
            return {"emailChange", "emailChangeToken", AccountMailKind::kEmailChange};
    }
    return {};
}

void AccountMail::RequestVerification(const schema::Collection& c, std::string_view email) {
    MailLink(c, email, Purpose::kVerification);
}

void AccountMail::RequestPasswordReset(const schema::Collection& c, std::string_view email) {
    MailLink(c, email, Purpose::kPasswordReset);
}

void AccountMail::MailLink(const schema::Collection& c, std::string_view email, Purpose purpose) {
    auto rec = auth_records_.FindByIdentity(c, "email", email);
    if (!rec || !rec->has_value()) {
        return;
    }
    if (purpose == Purpose::kVerification && (*rec)->verified) {
        return;
    }
    if (!NotRecentlySent(purpose, **rec)) {
        return;
    }
    const auto token = SpecialToken(c, **rec, purpose);
    Send(c, InfoOf(purpose).mail, (*rec)->email, {{"TOKEN", token}});
}

Result<void> AccountMail::ConfirmVerification(const schema::Collection& c, std::string_view token) {
    auto rec = CheckSpecialToken(c, token, Purpose::kVerification);
    if (!rec) {
        return InvalidToken();
    }
    return rec->verified ? Ok() : UpdateAuthRecord(c, rec->id, {{"verified", std::int64_t{1}}});
}

Result<void> AccountMail::ConfirmPasswordReset(
    const schema::Collection& c, std::string_view token, const boost::json::object& body
) {
    auto rec = CheckSpecialToken(c, token, Purpose::kPasswordReset);
    if (!rec) {
        return InvalidToken();
    }
    records::Access manager;
    manager.superuser = true;  // the token stands for the owner: no old password needed
    BASALT_ASSIGN_OR_RETURN(auto in, PrepareAuthInput(records_, auth_records_, c, rec->id, body, manager));
    if (!in.password_hash) {
        return ValidationError(
            "An error occurred while validating the submitted data.",
            {{"password", "validation_required", "Cannot be blank."},
             {"passwordConfirm", "validation_required", "Cannot be blank."}}
        );
    }
    // A new password (and tokenKey: the reset token is spent); the mailbox is proven.
    return UpdateAuthRecord(
        c,
        rec->id,
        {{"password", *in.password_hash},
         {"tokenKey", SecureRandomString(50, kAlphanumeric)},
         {"verified", std::int64_t{1}}}
    );
}

Result<void> AccountMail::RequestEmailChange(
    const schema::Collection& c, const auth::AuthRecord& record, std::string_view new_email
) {
    BASALT_ASSIGN_OR_RETURN(auto taken, auth_records_.FindByIdentity(c, "email", new_email));
    if (taken.has_value()) {
        return ValidationError(
            "An error occurred while validating the submitted data.",
            {{"newEmail", "validation_invalid_new_email", "Invalid new email address."}}
        );
    }
    const auto token = SpecialToken(c, record, Purpose::kEmailChange, std::string(new_email));
    Send(c, AccountMailKind::kEmailChange, std::string(new_email), {{"TOKEN", token}});
    return Ok();
}

Result<void> AccountMail::ConfirmEmailChange(
    const schema::Collection& c, std::string_view token, std::string_view password
) {
    auto rec = CheckSpecialToken(c, token, Purpose::kEmailChange);
    const auto parsed = auth::ParseToken(token);
    if (!rec || !parsed || !IsEmail(parsed->claims.new_email)) {
        return InvalidToken();
    }
    if (!auth::VerifyPassword(rec->password_hash, password)) {
        return ValidationError(
            "An error occurred while validating the submitted data.",
            {{"password", "validation_invalid_password", "Missing or invalid auth record password."}}
        );
    }
    return UpdateAuthRecord(
        c,
        rec->id,
        {{"email", parsed->claims.new_email},
         {"verified", std::int64_t{1}},
         {"tokenKey", SecureRandomString(50, kAlphanumeric)}}
    );
}

void AccountMail::SendOtp(
    const schema::Collection& c, const auth::AuthRecord& record, std::string_view code, std::string_view otp_id
) {
    Send(c, AccountMailKind::kOtp, record.email, {{"OTP", std::string(code)}, {"OTP_ID", std::string(otp_id)}});
}

void AccountMail::SendAuthAlert(const schema::Collection& c, const auth::AuthRecord& record, std::string_view info) {
    Send(c, AccountMailKind::kAuthAlert, record.email, {{"ALERT_INFO", std::string(info)}});
}

// A single-purpose token for `r`, signed with its tokenKey and the collection's secret for that
// purpose.
std::string AccountMail::SpecialToken(
    const schema::Collection& c, const auth::AuthRecord& r, Purpose purpose, std::string new_email
) const {
    const auto info = InfoOf(purpose);
    const auto config = collections::TokenConfigOf(c, info.config_key);
    auth::TokenClaims claims;
    claims.type = std::string(info.type);
    claims.id = r.id;
    claims.collection_id = c.id;
    claims.email = r.email;
    claims.new_email = std::move(new_email);
    claims.exp = UnixSeconds(clock_.Now()) + config.duration;
    return auth::SignToken(claims, r.token_key + config.secret);
}

// The record a single-purpose token stands for, when it is of that purpose and collection, not
// expired, signed with the record's current key, and for its current email.
std::optional<auth::AuthRecord> AccountMail::CheckSpecialToken(
    const schema::Collection& c, std::string_view token, Purpose purpose
) const {
    const auto info = InfoOf(purpose);
    auto parsed = auth::ParseToken(token);
    if (!parsed || parsed->claims.type != info.type || parsed->claims.collection_id != c.id ||
        parsed->claims.exp <= UnixSeconds(clock_.Now())) {
        return std::nullopt;
    }
    auto rec = auth_records_.FindById(c, parsed->claims.id);
    if (!rec || !rec->has_value()) {
        return std::nullopt;
    }
    const auto config = collections::TokenConfigOf(c, info.config_key);
    if (config.secret.empty() || !auth::VerifyTokenSignature(*parsed, (*rec)->token_key + config.secret) ||
        !EqualsIgnoreCase(parsed->claims.email, (*rec)->email)) {
        return std::nullopt;
    }
    return std::move(**rec);
}

// Sets columns of an auth record (and `updated`) outside the records API; what follows (events,
// sessions, caches) is the records service's.
Result<void> AccountMail::UpdateAuthRecord(
    const schema::Collection& c, const std::string& id, const std::vector<std::pair<std::string, db::Value>>& sets
) const {
    return db_.Write(records_.PrepareSystemUpdate(c, id, sets).fn);
}

// One mail per purpose and record per minute at most (the answer stays the same either way).
bool AccountMail::NotRecentlySent(Purpose purpose, const auth::AuthRecord& r) {
    const auto now = std::chrono::steady_clock::now();
    std::string key(InfoOf(purpose).type);
    key += '\x1f' + r.collection_id + '\x1f' + r.id;
    std::lock_guard lock(sent_mu_);
    if (sent_.size() > kMaxRemembered) {
        std::erase_if(sent_, [&](const auto& kv) { return now - kv.second > kResendAfter; });
    }
    auto [it, fresh] = sent_.try_emplace(key, now);
    if (!fresh && now - it->second < kResendAfter) {
        return false;
    }
    it->second = now;
    return true;
}

void AccountMail::Send(
    const schema::Collection& c,
    AccountMailKind kind,
    const std::string& to,
    std::vector<std::pair<std::string, std::string>> values
) const {
    const settings::MailSettings m = settings_.Mail();
    if (!m.enabled) {
        obs::Warn("mail not sent: SMTP is disabled in the settings", {{"to", to}, {"collection", c.name}});
        return;
    }
    const MailTemplate tpl = TemplateOf(c, kind);
    values.emplace_back("APP_NAME", m.app_name);
    values.emplace_back("APP_URL", m.app_url);
    mail::Message message;
    message.from_name = m.sender_name;
    message.from_address = m.sender_address;
    message.to = to;
    message.subject = mail::Fill(tpl.subject, values, /*html=*/false);
    message.html = mail::Fill(tpl.body, values, /*html=*/true);
    // Through the durable queue (retried, survives a restart), without waiting for the write.
    jobs::NewJob job;
    job.kind = "mail.send";
    job.payload = mail::MessageToJson(message);
    job.max_attempts = 5;
    jobs_.Submit(std::move(job), [notify = notify_workers_](const Result<void>& r) {
        if (r && notify) {
            notify();
        }
    });
}

}  // namespace basalt::identity
