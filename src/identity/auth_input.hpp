// SPDX-License-Identifier: MIT
#pragma once

#include <string_view>

#include <boost/json/object.hpp>

#include "core/result.hpp"
#include "identity/auth_records.hpp"
#include "records/service.hpp"
#include "schema/collection.hpp"

namespace basalt::identity {

/// For a create/update of a record of an auth collection (`current_id` empty for a create): checks
/// password, passwordConfirm and oldPassword as PocketBase does, that email and verified change only
/// with manage access (superuser or manageRule), and hashes the new password. Blocking (argon2id):
/// call it off the I/O threads. kInvalidArgument with field errors ("Failed to create record." /
/// "Failed to update record.").
Result<records::AuthInput> PrepareAuthInput(
    const records::RecordService& records,
    const AuthRecords& auth_records,
    const schema::Collection& collection,
    std::string_view current_id,
    const boost::json::object& body,
    const records::Access& access
);

}  // namespace basalt::identity
