// SPDX-License-Identifier: MIT
// Text field patterns: a pattern (set by a superuser, or read from an imported PocketBase data
// directory) and a value (any client's) split at the first NUL. Compiling and matching never crash;
// a pattern reported as valid matches or not without error, an invalid one matches nothing.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "schema/pattern.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const std::size_t cut = input.find('\0');
    const std::string_view pattern = input.substr(0, cut);
    const std::string_view text = cut == std::string_view::npos ? std::string_view() : input.substr(cut + 1);
    const bool valid = !basalt::schema::PatternError(pattern).has_value();
    const bool matched = basalt::schema::PatternMatches(pattern, text);
    if (!valid && matched) {
        std::abort();
    }
    return 0;
}
