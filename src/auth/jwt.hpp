// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"

namespace basalt::auth {

/// PocketBase's token claims (no iat/sub/iss). `type` is auth|file|verification|passwordReset|emailChange.
struct TokenClaims {
    std::string type;
    std::string id;
    std::string collection_id;
    std::int64_t exp = 0;
    bool refreshable = false;  // auth tokens only
    std::string email;         // verification, passwordReset, emailChange
    std::string new_email;     // emailChange
    std::string session_id;    // auth tokens: basalt's server-side session ("sid"; PocketBase has none)
};

/// A token split and decoded, not yet verified.
struct ParsedToken {
    TokenClaims claims;
    std::string signing_input;  // "<header>.<payload>" as received
    std::string signature;      // raw bytes
};

inline constexpr std::size_t kMaxTokenBytes = 4096;

/// Signs `claims` as an HS256 JWT with `key`.
std::string SignToken(const TokenClaims& claims, std::string_view key);

/// Splits and decodes a JWT. Fails with kUnauthorized when it is malformed, too long, not HS256
/// (alg "none" and every other algorithm are refused) or its claims have the wrong types.
Result<ParsedToken> ParseToken(std::string_view token);

/// Constant-time check of the HMAC-SHA256 signature with `key`.
bool VerifyTokenSignature(const ParsedToken& token, std::string_view key);

}  // namespace basalt::auth
