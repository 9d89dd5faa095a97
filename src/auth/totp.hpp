// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace basalt::auth {

/// RFC 4648 base32 (A-Z2-7) without padding, as authenticator apps take secrets.
std::string Base32Encode(std::string_view data);
/// Decodes base32 (case-insensitive, padding and spaces ignored); nullopt on other characters.
std::optional<std::string> Base32Decode(std::string_view text);

/// A new TOTP secret: 20 random bytes (160 bits, RFC 4226's recommendation).
std::string NewTotpSecret();

/// The RFC 6238 code (HMAC-SHA1, 30-second steps, `digits` digits) for time step `step`.
std::string TotpCode(std::string_view secret, std::int64_t step, int digits = 6);

/// The time step `code` matches among unix_time/30 - 1 .. + 1 (clock drift), compared in constant
/// time, or nullopt. Callers refuse a step at or before the last one used (no replay).
std::optional<std::int64_t> TotpMatch(std::string_view secret, std::string_view code, std::int64_t unix_time);

/// otpauth://totp/<issuer>:<account>?secret=...&issuer=... for QR codes.
std::string TotpUri(std::string_view issuer, std::string_view account, std::string_view secret);

}  // namespace basalt::auth
