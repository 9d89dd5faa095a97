// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <string_view>

#include "core/result.hpp"

namespace basalt::auth {

/// Hashes `password` with argon2id at libsodium's INTERACTIVE limits (~100 ms, 64 MiB): call it on a
/// blocking pool, never on an I/O thread. Fails with kInternal only when memory runs out.
Result<std::string> HashPassword(std::string_view password);

/// True when `password` matches the encoded `hash`: basalt's argon2id, or a bcrypt hash
/// (`$2a$`/`$2b$`/`$2y$`, 60 characters) imported from PocketBase, checked with libxcrypt's
/// `crypt_r` and compared in constant time. Same cost as hashing: off the I/O threads.
bool VerifyPassword(std::string_view hash, std::string_view password);

/// True for a bcrypt hash (PocketBase's `$2a$`/`$2b$`/`$2y$` encodings).
bool IsBcryptHash(std::string_view hash);

/// True when a hash that just verified should be replaced by an argon2id one (an imported bcrypt
/// hash): the sign-in that proved the password stores HashPassword(password) in its place.
bool NeedsRehash(std::string_view hash);

/// Spends the time of one VerifyPassword against a fixed hash, so that an unknown identity takes as
/// long as a wrong password (no user enumeration by timing).
void VerifyPasswordDummy(std::string_view password);

/// Constant-time equality of two byte strings (the length may leak, the content does not).
bool ConstantTimeEquals(std::string_view a, std::string_view b);

/// SHA-256 of `data` as 64 lowercase hex digits (short-lived secrets such as OTP codes at rest).
std::string Sha256Hex(std::string_view data);

}  // namespace basalt::auth
