// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "auth/principal.hpp"
#include "core/result.hpp"
#include "db/database.hpp"
#include "identity/account_mail.hpp"
#include "identity/auth_records.hpp"
#include "identity/mfas.hpp"
#include "identity/otps.hpp"
#include "identity/sessions.hpp"
#include "identity/tokens.hpp"
#include "identity/totps.hpp"
#include "records/service.hpp"
#include "schema/collection.hpp"

namespace basalt::identity {

/// How a sign-in ended: a second method is needed (`mfa_id` set), or a session and its token.
struct SignInOutcome {
    std::optional<std::string> mfa_id;
    std::string token;
};

/// The sign-in flows of auth collections, from a proven identity to a session: the password,
/// OTP and TOTP checks, the collection's authRule, MFA (a first method opens an MFA, a different
/// second one within mfa.duration completes it; a record with an enabled TOTP always needs it), the
/// session, the new-origin alert and the token. Every method blocks (reads, writes, argon2id) unless
/// said otherwise: call them off the I/O threads. Thread-safe.
class SignInService {
public:
    SignInService(
        db::Database& db,
        const records::RecordService& records,
        const AuthRecords& auth_records,
        SessionStore& sessions,
        const TokenService& tokens,
        MfaStore& mfas,
        TotpStore& totps,
        OtpStore& otps,
        AccountMail& mail
    )
        : db_(db),
          records_(records),
          auth_records_(auth_records),
          sessions_(sessions),
          tokens_(tokens),
          mfas_(mfas),
          totps_(totps),
          otps_(otps),
          mail_(mail) {}

    /// The record `identity` names (by `identity_field`, or by each identity field of `c`, email
    /// first and only when it looks like one) when `password` is its password; nothing otherwise. An
    /// unknown identity still pays for one password check (same time, same answer).
    Result<std::optional<auth::AuthRecord>> FindByPassword(
        const schema::Collection& c,
        std::string_view identity,
        std::string_view identity_field,
        std::string_view password
    ) const;

    /// Record `record_id` of `c` when `password` is its password; kInvalidArgument (field
    /// "password") otherwise. For password checks of a signed-in record.
    Result<auth::AuthRecord> CheckPassword(
        const schema::Collection& c, std::string_view record_id, std::string_view password
    ) const;

    /// Sends an OTP to the record with `email` of `c` (a code of otp.length digits); returns the
    /// OTP's id, which is new and random for an unknown address too (no enumeration by the answer).
    Result<std::string> RequestOtp(const schema::Collection& c, std::string_view email);

    /// The record OTP `otp_id` with `code` stands for (within otp.duration), or nothing. The code
    /// proves the mailbox: an unverified record with the address it was sent to becomes verified.
    Result<std::optional<auth::AuthRecord>> RedeemOtp(
        const schema::Collection& c, std::string_view otp_id, std::string_view code
    );

    /// The record MFA `mfa_id` of `c` was opened for, or nothing.
    Result<std::optional<std::string>> MfaRecord(const schema::Collection& c, std::string_view mfa_id) const;

    /// Record `record_id` when `code` passes its enabled TOTP (a new time step or a recovery code),
    /// or nothing.
    Result<std::optional<auth::AuthRecord>> RedeemTotp(
        const schema::Collection& c, std::string_view record_id, std::string_view code
    );

    /// The collection's authRule for `r`, with `request` (the request's @request.* data) as the rule
    /// sees it and `r` as @request.auth. kForbidden when the rule is null or does not match.
    /// A short read: may run on an I/O thread.
    Result<void> CheckAuthRule(const schema::Collection& c, const auth::AuthRecord& r, const records::Access& request)
        const;

    /// The end of every successful first or second method `method` for `r` (after CheckAuthRule):
    /// MFA when the record needs it (`mfa_id` empty: a new MFA is opened and returned; otherwise it is
    /// completed, or kInvalidArgument), then a new session from `ip`/`user_agent` (and the alert mail
    /// when that origin is new) and a refreshable token.
    Result<SignInOutcome> Finish(
        const schema::Collection& c,
        const auth::AuthRecord& r,
        std::string_view method,
        std::string_view mfa_id,
        const records::Access& request,
        std::string_view ip,
        std::string_view user_agent
    );

private:
    Result<bool> WantsMfa(const schema::Collection& c, const auth::AuthRecord& r, const records::Access& request) const;
    void AlertOnNewOrigin(
        const schema::Collection& c, const auth::AuthRecord& r, std::string_view ip, std::string_view user_agent
    ) const;

    /// After a successful password check: replaces an imported bcrypt hash by argon2id (blocks).
    void UpgradeHash(const schema::Collection& c, auth::AuthRecord& rec, std::string_view password) const;

    db::Database& db_;
    const records::RecordService& records_;
    const AuthRecords& auth_records_;
    SessionStore& sessions_;
    const TokenService& tokens_;
    MfaStore& mfas_;
    TotpStore& totps_;
    OtpStore& otps_;
    AccountMail& mail_;
};

/// `request` with `r` as @request.auth and no superuser rights: how the authRule and mfa.rule see a
/// sign-in.
records::Access AccessAs(records::Access request, const auth::AuthRecord& r);

}  // namespace basalt::identity
