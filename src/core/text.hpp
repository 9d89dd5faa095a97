// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <string_view>

namespace basalt {

/// Whether `s` is well-formed UTF-8 (no overlong forms, surrogates or code points above U+10FFFF).
bool IsValidUtf8(std::string_view s);

/// ASCII case-insensitive equality (header names, collection names).
bool EqualsIgnoreCase(std::string_view a, std::string_view b);

/// True when `s` is 1..255 characters of [A-Za-z0-9_] (collection, field and index names).
bool IsWord(std::string_view s);

/// True when `email` looks like an address: one '@' with a local part before it, a dotted domain
/// after it, no whitespace, control characters or , ; < >, at most 255 bytes.
bool IsEmail(std::string_view email);

/// ASCII lower case.
std::string ToLower(std::string_view s);

/// `s` without leading and trailing spaces, tabs, CRs and LFs.
std::string_view TrimSpace(std::string_view s);

/// RFC 3986 percent-encoding: unreserved characters (and those in `keep`) as they are, every other
/// byte as %XX.
std::string PercentEncode(std::string_view s, std::string_view keep = {});

}  // namespace basalt
