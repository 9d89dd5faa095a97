// SPDX-License-Identifier: MIT
#include "identity/auth_input.hpp"

#include <optional>
#include <string>
#include <vector>

#include "auth/password.hpp"
#include "core/text.hpp"
#include "identity/auth_options.hpp"
#include "records/codec.hpp"

namespace basalt::identity {

namespace {

FieldError Mismatch(std::string field) {
    return {std::move(field), "validation_values_mismatch", "Values don't match."};
}

// Whether the request manages the auth record (or, on create, would): superusers always; else the
// collection's manageRule, which on create can only be checked when it is empty (allows everyone).
Result<bool> ManagesRecord(
    const records::RecordService& records,
    const schema::Collection& c,
    bool create,
    std::string_view current_id,
    const records::Access& access
) {
    if (access.superuser) {
        return true;
    }
    if (create) {
        const auto rule = AuthOptionsOf(c).manage_rule;
        return rule && rule->empty();
    }
    return records.CanManage(c, current_id, access);
}

}  // namespace

Result<records::AuthInput> PrepareAuthInput(
    const records::RecordService& records,
    const AuthRecords& auth_records,
    const schema::Collection& c,
    std::string_view current_id,
    const boost::json::object& body,
    const records::Access& access
) {
    records::AuthInput out;
    const bool create = current_id.empty();
    std::optional<auth::AuthRecord> current;
    if (!create) {
        BASALT_ASSIGN_OR_RETURN(auto found, auth_records.FindById(c, current_id));
        if (!found.has_value()) {
            return out;  // the update answers 404 itself
        }
        current = std::move(*found);
    }
    BASALT_ASSIGN_OR_RETURN(auto manage, ManagesRecord(records, c, create, current_id, access));
    out.manage = manage;
    auto text = [&body](std::string_view key) -> std::optional<std::string> {
        const auto* v = body.if_contains(key);
        if (v == nullptr || v->is_null()) {
            return std::nullopt;
        }
        return v->is_string() ? std::string(v->as_string()) : std::string("\\x01");  // a non-string never matches
    };
    const auto password = text("password");
    const auto confirm = text("passwordConfirm");
    const auto old = text("oldPassword");
    const bool wants = (password && !password->empty()) || (confirm && !confirm->empty()) || (old && !old->empty());
    std::vector<FieldError> errors;
    if (create || wants) {
        if (!password || password->empty()) {
            errors.push_back({"password", "validation_required", "Cannot be blank."});
        } else if (auto e = records::PasswordLengthError(c.FindField("password"), *password)) {
            errors.push_back(std::move(*e));  // PocketBase's codes and messages, lengths in characters
        }
        if (!confirm || confirm->empty()) {
            errors.push_back({"passwordConfirm", "validation_required", "Cannot be blank."});
        } else if (!password || *confirm != *password) {
            errors.push_back(Mismatch("passwordConfirm"));
        }
        if (!create && !out.manage) {
            if (!old || old->empty()) {
                errors.push_back({"oldPassword", "validation_required", "Cannot be blank."});
            } else if (!auth::VerifyPassword(current->password_hash, *old)) {
                errors.push_back({"oldPassword", "validation_invalid_old_password", "Missing or invalid old password."}
                );
            }
        }
    }
    if (!create && !out.manage) {
        if (const auto email = text("email"); email && !EqualsIgnoreCase(*email, current->email)) {
            errors.push_back(Mismatch("email"));
        }
        if (const auto* v = body.if_contains("verified");
            v != nullptr && !(v->is_bool() && v->as_bool() == current->verified)) {
            errors.push_back(Mismatch("verified"));
        }
    }
    if (!errors.empty()) {
        Error e =
            MakeError(ErrorCode::kInvalidArgument, create ? "Failed to create record." : "Failed to update record.");
        e.fields = std::move(errors);
        return e;
    }
    if (password && !password->empty()) {
        BASALT_ASSIGN_OR_RETURN(auto hash, auth::HashPassword(*password));
        out.password_hash = std::move(hash);
    }
    return out;
}

}  // namespace basalt::identity
