// SPDX-License-Identifier: MIT
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>

namespace basalt::auth {

/// The system auth collection of superusers (PocketBase's id and name).
inline constexpr std::string_view kSuperusersId = "pbc_3142635823";
inline constexpr std::string_view kSuperusersName = "_superusers";

/// A record of an auth collection, with its credentials (which never leave the server).
struct AuthRecord {
    std::string id;
    std::string collection_id;
    std::string collection_name;
    std::string email;
    bool email_visibility = false;
    bool verified = false;
    std::string password_hash;  // never leaves the server
    std::string token_key;      // never leaves the server
    std::string created;
    std::string updated;
    boost::json::object data;  // every field as @request.auth sees it (no password, no tokenKey)
};

/// Who made a request: set by the auth middleware from a valid token or API key.
struct Principal {
    AuthRecord record;
    bool superuser = false;
    bool refreshable = false;
    std::string session_id;  // the server-side session the token belongs to (empty for API keys)
    /// @request.auth: the record's fields with id, collectionId, collectionName and email; built once
    /// per token check that reads the record, shared by the requests it serves.
    std::shared_ptr<const boost::json::object> auth_json;
    /// Set when the request came with an API key: its id and scopes (which narrow the rules).
    std::string api_key_id;
    std::shared_ptr<const std::vector<std::string>> scopes;
};

}  // namespace basalt::auth
