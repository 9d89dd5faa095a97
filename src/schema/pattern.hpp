// SPDX-License-Identifier: MIT
// Text field patterns, matched as PocketBase matches them (Go's regexp, RE2 syntax, a search anywhere
// in the value) with RE2: linear in the input and without recursion, so no client value can make a
// match take long or overflow the stack (std::regex, which this replaces, crashed on 100,000
// characters against `^(a|b)*$`).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace basalt::schema {

/// Why `pattern` is not a usable regular expression (RE2's message), or nullopt when it is.
std::optional<std::string> PatternError(std::string_view pattern);

/// Whether `pattern` matches somewhere in `text`. An invalid pattern matches nothing. Compiled
/// patterns are kept (at most 256; the cache starts over when full).
bool PatternMatches(std::string_view pattern, std::string_view text);

}  // namespace basalt::schema
