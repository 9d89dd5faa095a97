// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <string_view>

#include "core/result.hpp"

namespace basalt::auth {

/// Hashes `password` with argon2id at libsodium's INTERACTIVE limits (~100 ms, 64 MiB): call it on a
/// blocking pool, never on an I/O thread. Fails with kInternal only when memory runs out.
Result<std::string> HashPassword(std::string_view password);

/// True when `password` matches the encoded argon2id `hash`. Same cost as hashing.
bool VerifyPassword(std::string_view hash, std::string_view password);

/// Spends the time of one VerifyPassword against a fixed hash, so that an unknown identity takes as
/// long as a wrong password (no user enumeration by timing).
void VerifyPasswordDummy(std::string_view password);

/// Constant-time equality of two byte strings (the length may leak, the content does not).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

/// SHA-256 of `data` as 64 lowercase hex digits (short-lived secrets such as OTP codes at rest).
std::string Sha256Hex(std::string_view data);

}  // namespace basalt::auth
