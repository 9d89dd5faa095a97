// SPDX-License-Identifier: MIT
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace basalt {

/// URL-safe base64 without padding (RFC 4648 §5), as JWTs use.
std::string Base64UrlEncode(std::string_view data);
/// Standard base64 (RFC 4648 section 4) with padding: MIME bodies and encoded words.
std::string Base64Encode(std::string_view data);
/// Decodes URL-safe base64; padding is optional. nullopt on any invalid character or length.
std::optional<std::string> Base64UrlDecode(std::string_view text);

}  // namespace basalt
