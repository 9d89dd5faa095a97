// SPDX-License-Identifier: MIT
#include "identity/sign_in.hpp"

#include <algorithm>
#include <vector>

#include "auth/password.hpp"
#include "collections/auth_collection.hpp"
#include "core/random.hpp"
#include "core/text.hpp"
#include "identity/auth_options.hpp"
#include "obs/log.hpp"
#include "query/compiler.hpp"

namespace basalt::identity {

records::Access AccessAs(records::Access request, const auth::AuthRecord& r) {
    request.superuser = false;
    boost::json::object rec = r.data;
    rec["id"] = r.id;
    rec["collectionId"] = r.collection_id;
    rec["collectionName"] = r.collection_name;
    rec["email"] = r.email;
    request.request.auth = std::make_shared<const boost::json::object>(std::move(rec));
    return request;
}

Result<std::optional<auth::AuthRecord>> SignInService::FindByPassword(
    const schema::Collection& c, std::string_view identity, std::string_view identity_field, std::string_view password
) const {
    std::vector<std::string> order;
    if (!identity_field.empty()) {
        order.emplace_back(identity_field);
    } else {
        // email first, and only when the identity looks like one
        for (const auto& f : collections::IdentityFields(c)) {
            if (f == "email") {
                order.insert(order.begin(), f);
            } else {
                order.push_back(f);
            }
        }
    }
    std::optional<auth::AuthRecord> found;
    for (const auto& f : order) {
        if (f == "email" && !IsEmail(identity)) {
            continue;
        }
        BASALT_ASSIGN_OR_RETURN(auto rec, auth_records_.FindByIdentity(c, f, identity));
        if (rec.has_value()) {
            found = std::move(rec);
            break;
        }
    }
    if (!found) {
        auth::VerifyPasswordDummy(password);
        return std::optional<auth::AuthRecord>();
    }
    if (!auth::VerifyPassword(found->password_hash, password)) {
        return std::optional<auth::AuthRecord>();
    }
    UpgradeHash(c, *found, password);
    return found;
}

void SignInService::UpgradeHash(const schema::Collection& c, auth::AuthRecord& rec, std::string_view password) const {
    if (!auth::NeedsRehash(rec.password_hash)) {
        return;
    }
    // An imported bcrypt hash that just verified: store argon2id in its place. The tokenKey stays, so
    // the record's sessions and tokens go on; only a hash still equal to the checked one is replaced
    // (a password change meanwhile wins). A failure leaves the old hash, which still works.
    auto hashed = auth::HashPassword(password);
    if (!hashed) {
        return;
    }
    const std::string sql = "UPDATE " + query::QuoteIdent(c.name) + " SET password = ? WHERE id = ? AND password = ?";
    auto r = db_.WriteOne(sql, {*hashed, rec.id, rec.password_hash});
    if (r && *r == 1) {
        rec.password_hash = std::move(*hashed);
    } else if (!r) {
        obs::Warn("password hash upgrade failed", {{"collection", c.name}, {"error", r.error().message}});
    }
}

Result<auth::AuthRecord> SignInService::CheckPassword(
    const schema::Collection& c, std::string_view record_id, std::string_view password
) const {
    auto rec = auth_records_.FindById(c, record_id);
    if (!rec || !rec->has_value() || !auth::VerifyPassword((*rec)->password_hash, password)) {
        return ValidationError(
            "An error occurred while validating the submitted data.",
            {{"password", "validation_invalid_password", "Missing or invalid auth record password."}}
        );
    }
    return std::move(**rec);
}

Result<std::string> SignInService::RequestOtp(const schema::Collection& c, std::string_view email) {
    std::string otp_id = SecureRandomString(15, kAlphanumericLower);
    BASALT_ASSIGN_OR_RETURN(auto rec, auth_records_.FindByIdentity(c, "email", email));
    if (!rec.has_value()) {
        return otp_id;  // one that never works
    }
    const auto length = std::clamp<std::int64_t>(AuthOptionsOf(c).otp_length, 4, 32);
    const std::string code = SecureRandomString(static_cast<std::size_t>(length), "0123456789");
    BASALT_TRY(otps_.Add(otp_id, c, *rec, code));
    mail_.SendOtp(c, *rec, code, otp_id);
    return otp_id;
}

Result<std::optional<auth::AuthRecord>> SignInService::RedeemOtp(
    const schema::Collection& c, std::string_view otp_id, std::string_view code
) {
    const std::int64_t duration = std::max<std::int64_t>(1, AuthOptionsOf(c).otp_duration);
    BASALT_ASSIGN_OR_RETURN(auto redeemed, otps_.Redeem(otp_id, c, code, std::chrono::seconds(duration)));
    if (!redeemed) {
        return std::optional<auth::AuthRecord>();
    }
    auto rec = auth_records_.FindById(c, redeemed->record_id);
    if (!rec || !rec->has_value()) {
        return std::optional<auth::AuthRecord>();
    }
    auth::AuthRecord found = std::move(**rec);
    // The code proves the mailbox: an unverified record with that address becomes verified.
    if (!found.verified && EqualsIgnoreCase(redeemed->sent_to, found.email)) {
        BASALT_TRY(db_.Write(records_.PrepareSystemUpdate(c, found.id, {{"verified", std::int64_t{1}}}).fn));
        found.verified = true;
    }
    return std::optional<auth::AuthRecord>(std::move(found));
}

Result<std::optional<std::string>> SignInService::MfaRecord(const schema::Collection& c, std::string_view mfa_id)
    const {
    return mfas_.RecordOf(mfa_id, c);
}

Result<std::optional<auth::AuthRecord>> SignInService::RedeemTotp(
    const schema::Collection& c, std::string_view record_id, std::string_view code
) {
    BASALT_ASSIGN_OR_RETURN(auto ok, totps_.Verify(c, record_id, code));
    if (!ok) {
        return std::optional<auth::AuthRecord>();
    }
    auto rec = auth_records_.FindById(c, record_id);
    if (!rec || !rec->has_value()) {
        return std::optional<auth::AuthRecord>();
    }
    return std::move(*rec);
}

Result<void> SignInService::CheckAuthRule(
    const schema::Collection& c, const auth::AuthRecord& r, const records::Access& request
) const {
    const auto rule = AuthOptionsOf(c).auth_rule;
    constexpr std::string_view kRefused = "The request doesn't satisfy the collection requirements to authenticate.";
    if (!rule) {
        return MakeError(ErrorCode::kForbidden, std::string(kRefused));
    }
    BASALT_ASSIGN_OR_RETURN(auto ok, records_.Satisfies(c, r.id, *rule, AccessAs(request, r)));
    if (!ok) {
        return MakeError(ErrorCode::kForbidden, std::string(kRefused));
    }
    return Ok();
}

// Whether `r` must pass a second method: a TOTP the record enrolled, or the collection's MFA (for
// records its rule matches).
Result<bool> SignInService::WantsMfa(
    const schema::Collection& c, const auth::AuthRecord& r, const records::Access& request
) const {
    BASALT_ASSIGN_OR_RETURN(auto totp, totps_.Enabled(c.id, r.id));
    if (totp) {
        return true;
    }
    const AuthOptions options = AuthOptionsOf(c);
    if (!options.mfa) {
        return false;
    }
    if (options.mfa_rule.empty()) {
        return true;
    }
    auto ok = records_.Satisfies(c, r.id, options.mfa_rule, AccessAs(request, r));
    return ok ? *ok : true;  // when in doubt, ask for the second method
}

// authAlert: a sign-in from an IP and user agent none of the record's earlier sessions had mails
// the record.
void SignInService::AlertOnNewOrigin(
    const schema::Collection& c, const auth::AuthRecord& r, std::string_view ip, std::string_view user_agent
) const {
    if (!AuthOptionsOf(c).auth_alert || r.email.empty()) {
        return;
    }
    auto news = sessions_.IsNewOrigin(c.id, r.id, ip, user_agent);
    if (news && *news) {
        mail_.SendAuthAlert(c, r, std::string(ip) + " / " + std::string(user_agent));
    }
}

Result<SignInOutcome> SignInService::Finish(
    const schema::Collection& c,
    const auth::AuthRecord& r,
    std::string_view method,
    std::string_view mfa_id,
    const records::Access& request,
    std::string_view ip,
    std::string_view user_agent
) {
    BASALT_ASSIGN_OR_RETURN(auto wants, WantsMfa(c, r, request));
    if (wants) {
        if (mfa_id.empty()) {
            BASALT_ASSIGN_OR_RETURN(auto id, mfas_.Open(c, r, method));
            return SignInOutcome{std::move(id), {}};
        }
        const std::int64_t duration = std::max<std::int64_t>(60, AuthOptionsOf(c).mfa_duration);
        BASALT_TRY(mfas_.Complete(mfa_id, c, r, method, std::chrono::seconds(duration)));
    }
    AlertOnNewOrigin(c, r, ip, user_agent);
    BASALT_ASSIGN_OR_RETURN(auto session, sessions_.Open(r, method, ip, user_agent));
    BASALT_ASSIGN_OR_RETURN(auto token, tokens_.Issue(r, session.id, /*refreshable=*/true));
    return SignInOutcome{std::nullopt, std::move(token)};
}

}  // namespace basalt::identity
