// SPDX-License-Identifier: MIT
#pragma once

#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace basalt::query {

/// Comparison operators of PocketBase's filter language; the kAny* forms are the `?`-prefixed
/// "at least one" variants for operands that fan out to several values.
enum class Op {
    kEq,
    kNeq,
    kLike,
    kNotLike,
    kLt,
    kLte,
    kGt,
    kGte,
    kAnyEq,
    kAnyNeq,
    kAnyLike,
    kAnyNotLike,
    kAnyLt,
    kAnyLte,
    kAnyGt,
    kAnyGte,
};

enum class JoinOp { kAnd, kOr };

/// One side of a comparison.
struct Operand {
    enum class Kind { kIdentifier, kText, kNumber, kNull, kTrue, kFalse, kFunction };
    Kind kind = Kind::kIdentifier;
    std::string value;          // identifier path, unquoted text, number literal, or function name
    std::vector<Operand> args;  // function arguments
    std::size_t pos = 0;        // offset in the source, for error messages
};

struct Comparison {
    Operand left;
    Op op = Op::kEq;
    Operand right;
};

struct Expr;

/// An element of a group: the first element's join is ignored.
struct ExprItem {
    JoinOp join = JoinOp::kAnd;
    std::variant<Comparison, std::unique_ptr<Expr>> node;
};

/// A parenthesised group (or the whole filter): items joined by && / ||, with SQL precedence
/// (AND binds tighter than OR) applied by the compiler.
struct Expr {
    std::vector<ExprItem> items;
};

/// The operator's text as written in a filter.
std::string_view OpText(Op op);
/// True for the `?`-prefixed operators.
bool IsAnyOf(Op op);
/// The plain operator for an any-of one (kAnyEq -> kEq); others unchanged.
Op BaseOp(Op op);

}  // namespace basalt::query
