// SPDX-License-Identifier: MIT
#pragma once

#include <string_view>

#include "core/result.hpp"
#include "query/ast.hpp"

namespace basalt::query {

/// Limits on what a client may send (DESIGN.md: limits are explicit).
struct ParseLimits {
    std::size_t max_length = 3500;       // bytes of filter text
    std::size_t max_expressions = 200;   // comparisons in one filter
    std::size_t max_depth = 32;          // nested parentheses and function calls
    std::size_t max_function_args = 10;  // strftime takes a format, a value and up to 8 modifiers
};

/// Parses PocketBase's filter syntax into an AST. Fails with kInvalidArgument and a message that
/// names the offending position on syntax errors and on any limit exceeded. Never throws.
Result<Expr> Parse(std::string_view text, const ParseLimits& limits = {});

}  // namespace basalt::query
