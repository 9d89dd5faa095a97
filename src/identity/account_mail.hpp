// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/json/object.hpp>

#include "auth/principal.hpp"
#include "core/clock.hpp"
#include "core/result.hpp"
#include "db/database.hpp"
#include "identity/auth_options.hpp"
#include "identity/auth_records.hpp"
#include "jobs/queue.hpp"
#include "records/service.hpp"
#include "schema/collection.hpp"
#include "settings/settings_store.hpp"

namespace basalt::identity {

/// The mails of an auth collection's accounts and the single-purpose tokens they carry:
/// verification, password reset and email change (request and confirm), OTP codes and new-origin
/// alerts. Every mail is filled from the collection's template and queued as a `mail.send` job
/// without waiting for the write (an answer's timing must not tell whether a mail was sent);
/// nothing is sent (a warning is logged) while SMTP is off. Blocking (reads, writes, argon2id):
/// call it off the I/O threads. Thread-safe.
class AccountMail {
public:
    AccountMail(
        db::Database& db,
        const records::RecordService& records,
        const AuthRecords& auth_records,
        const settings::SettingsStore& settings,
        const jobs::Queue& jobs,
        const Clock& clock,
        std::function<void()> notify_workers
    )
        : db_(db),
          records_(records),
          auth_records_(auth_records),
          settings_(settings),
          jobs_(jobs),
          clock_(clock),
          notify_workers_(std::move(notify_workers)) {}

    /// Mails a verification link to the unverified record with `email` of `c`. Does nothing for an
    /// unknown address, a verified record, or when one was sent for the record within a minute.
    void RequestVerification(const schema::Collection& c, std::string_view email);
    /// Marks the record of a verification token verified. kInvalidArgument (field "token") when the
    /// token is invalid, expired, of another kind or collection, or no longer matches the record.
    Result<void> ConfirmVerification(const schema::Collection& c, std::string_view token);

    /// Mails a password-reset link to the record with `email` (at most one a minute per record).
    void RequestPasswordReset(const schema::Collection& c, std::string_view email);
    /// Sets the password of the record a reset token stands for (`body`: password, passwordConfirm,
    /// checked as on an update by a manager), with a new tokenKey (the token is spent) and verified
    /// (the mailbox is proven). kInvalidArgument with field errors.
    Result<void> ConfirmPasswordReset(
        const schema::Collection& c, std::string_view token, const boost::json::object& body
    );

    /// Mails a confirmation link to `new_email` for `record`. kInvalidArgument (field "newEmail")
    /// when another record of `c` has that address.
    Result<void> RequestEmailChange(
        const schema::Collection& c, const auth::AuthRecord& record, std::string_view new_email
    );
    /// Sets the record's email to the token's new address (verified, new tokenKey) when `password`
    /// is the record's. kInvalidArgument (field "token" or "password").
    Result<void> ConfirmEmailChange(const schema::Collection& c, std::string_view token, std::string_view password);

    /// Mails a one-time password to `record`.
    void SendOtp(
        const schema::Collection& c, const auth::AuthRecord& record, std::string_view code, std::string_view otp_id
    );
    /// Mails `record` that it signed in from a new origin (`info`: IP / user agent).
    void SendAuthAlert(const schema::Collection& c, const auth::AuthRecord& record, std::string_view info);

private:
    enum class Purpose { kVerification, kPasswordReset, kEmailChange };
    // The token's `type` claim, the collection's token setting and the mail of each purpose.
    struct PurposeInfo {
        std::string_view type;
        std::string_view config_key;
        AccountMailKind mail = AccountMailKind::kVerification;
    };
    static PurposeInfo InfoOf(Purpose purpose);

    // request-verification / request-password-reset.
    void MailLink(const schema::Collection& c, std::string_view email, Purpose purpose);
    std::string SpecialToken(
        const schema::Collection& c, const auth::AuthRecord& r, Purpose purpose, std::string new_email = {}
    ) const;
    std::optional<auth::AuthRecord> CheckSpecialToken(
        const schema::Collection& c, std::string_view token, Purpose purpose
    ) const;
    Result<void> UpdateAuthRecord(
        const schema::Collection& c, const std::string& id, const std::vector<std::pair<std::string, db::Value>>& sets
    ) const;
    bool NotRecentlySent(Purpose purpose, const auth::AuthRecord& r);
    void Send(
        const schema::Collection& c,
        AccountMailKind kind,
        const std::string& to,
        std::vector<std::pair<std::string, std::string>> values
    ) const;

    db::Database& db_;
    const records::RecordService& records_;
    const AuthRecords& auth_records_;
    const settings::SettingsStore& settings_;
    const jobs::Queue& jobs_;
    const Clock& clock_;
    std::function<void()> notify_workers_;
    // When each (purpose, record) was last mailed a link. In memory, per node: a client spreading
    // requests over nodes gets one mail per node and minute at most.
    std::mutex sent_mu_;
    std::unordered_map<std::string, std::chrono::steady_clock::time_point> sent_;
};

}  // namespace basalt::identity
