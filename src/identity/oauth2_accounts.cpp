// SPDX-License-Identifier: MIT
#include "identity/oauth2_accounts.hpp"

#include "auth/password.hpp"
#include "core/random.hpp"

namespace basalt::identity {

Result<OAuth2Account> OAuth2Accounts::AccountFor(
    const schema::Collection& c, const OAuth2Provider& provider, const OAuth2User& user, const records::Access& signup
) {
    OAuth2Account account;
    std::optional<auth::AuthRecord> found;
    BASALT_ASSIGN_OR_RETURN(auto linked, links_.FindRecord(c, provider.name, user.id));
    if (linked) {
        auto rec = auth_records_.FindById(c, *linked);
        if (rec && rec->has_value()) {
            found = std::move(**rec);
        }
    }
    if (!found) {
        BASALT_ASSIGN_OR_RETURN(auto by_email, ByEmail(c, user));
        found = std::move(by_email);
    }
    if (!found) {
        if (!c.create_rule) {
            return MakeError(ErrorCode::kForbidden, "The collection doesn't allow creating new accounts.");
        }
        BASALT_ASSIGN_OR_RETURN(auto created, Create(c, user, signup));
        found = std::move(created);
        account.is_new = true;
    }
    BASALT_TRY(links_.Link(c, found->id, provider.name, user.id));
    account.record = std::move(*found);
    return account;
}

// The record with the provider's email, which the provider must have verified. An unverified
// record with it (someone signed up with the address without proving it, perhaps to wait for its
// owner) becomes the owner's: verified, and whatever password was set before stops working (as
// PocketBase).
Result<std::optional<auth::AuthRecord>> OAuth2Accounts::ByEmail(const schema::Collection& c, const OAuth2User& user) {
    if (user.email.empty()) {
        return std::optional<auth::AuthRecord>();
    }
    auto rec = auth_records_.FindByIdentity(c, "email", user.email);
    if (!rec || !rec->has_value()) {
        return rec;
    }
    if (!user.email_verified) {
        return MakeError(ErrorCode::kForbidden, "The provider has not verified this email address.");
    }
    if ((*rec)->verified) {
        return rec;
    }
    BASALT_ASSIGN_OR_RETURN(auto hash, auth::HashPassword(SecureRandomString(30, kAlphanumeric)));
    BASALT_TRY(db_.Write(records_
                             .PrepareSystemUpdate(
                                 c,
                                 (*rec)->id,
                                 {{"password", std::move(hash)},
                                  {"tokenKey", SecureRandomString(50, kAlphanumeric)},
                                  {"verified", std::int64_t{1}}}
                             )
                             .fn));
    // Read again: the token is signed with the new tokenKey.
    auto fresh = auth_records_.FindById(c, (*rec)->id);
    if (!fresh) {
        return fresh.error();
    }
    if (!fresh->has_value()) {
        return MakeError(ErrorCode::kNotFound, "The record is gone.");
    }
    return fresh;
}

// A new record for an OAuth2 account, created as a sign-up through the records API would be
// (`signup`: the client's access, createData as @request.body, so the createRule and hidden-field
// protection apply): createData, the provider's email (verified as it says), the mapped fields, a
// random password.
Result<auth::AuthRecord> OAuth2Accounts::Create(
    const schema::Collection& c, const OAuth2User& user, const records::Access& signup
) const {
    boost::json::object data = signup.request.body;
    const auto* mapped = c.options.if_contains("oauth2");
    const auto* fields =
        mapped != nullptr && mapped->is_object() ? mapped->as_object().if_contains("mappedFields") : nullptr;
    auto map = [&](std::string_view key, const std::string& value) {
        const auto* target = fields != nullptr && fields->is_object() ? fields->as_object().if_contains(key) : nullptr;
        if (target != nullptr && target->is_string() && !target->as_string().empty() && !value.empty() &&
            c.FindField(target->as_string()) != nullptr) {
            data[target->as_string()] = value;
        }
    };
    map("name", user.name);
    map("username", user.username);
    map("avatarURL", user.avatar_url);
    if (!user.email.empty()) {
        data["email"] = user.email;
    }
    data.erase("password");
    data.erase("passwordConfirm");
    data["verified"] = user.email_verified && !user.email.empty();
    BASALT_ASSIGN_OR_RETURN(auto hash, auth::HashPassword(SecureRandomString(30, kAlphanumeric)));
    records::AuthInput input;
    input.password_hash = std::move(hash);
    input.manage = true;  // email and verified come from the provider, not the client
    BASALT_ASSIGN_OR_RETURN(auto prepared, records_.PrepareCreate(c.id, data, signup, input));
    BASALT_TRY(db_.Write(prepared.fn));
    const auto* id = prepared.record->if_contains("id");
    BASALT_ASSIGN_OR_RETURN(
        auto rec, auth_records_.FindById(c, id != nullptr && id->is_string() ? std::string_view(id->as_string()) : "")
    );
    if (!rec.has_value()) {
        return MakeError(ErrorCode::kInternal, "the new record is gone");
    }
    return std::move(*rec);
}

}  // namespace basalt::identity
