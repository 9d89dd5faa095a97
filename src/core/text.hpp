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

/// The number of code points of UTF-8 text (each byte that does not continue a sequence counts
/// one), as PocketBase counts lengths (`len([]rune(s))`).
std::size_t Utf8Length(std::string_view s);

/// A double as Go's strconv.FormatFloat(v, 'g', -1, 64) writes it: the shortest digits that read
/// back the same, in exponent form when the decimal exponent is below -4 or at least 6 (e.g. 1.5 ->
/// "1.5", 100 -> "100", 123456 -> "123456", 1e6 -> "1e+06", 1.5e-5 -> "1.5e-05"); "NaN", "+Inf", "-Inf".
std::string FormatGoFloat(double v);

/// ASCII lower case.
std::string ToLower(std::string_view s);

/// `s` without leading and trailing spaces, tabs, CRs and LFs.
std::string_view TrimSpace(std::string_view s);

/// Escapes &, <, >, " and ' for HTML (and XML) text and attributes.
std::string HtmlEscape(std::string_view text);

/// RFC 3986 percent-encoding: unreserved characters (and those in `keep`) as they are, every other
/// byte as %XX.
std::string PercentEncode(std::string_view s, std::string_view keep = {});

}  // namespace basalt
