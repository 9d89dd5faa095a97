// SPDX-License-Identifier: MIT
#include "query/parser.hpp"

#include <array>
#include <utility>

namespace basalt::query {

namespace {

enum class Tok { kIdentifier, kNumber, kText, kSign, kJoin, kLParen, kRParen, kComma, kEnd };

struct Token {
    Tok kind = Tok::kEnd;
    std::string text;
    std::size_t pos = 0;
};

bool IsIdentStart(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '@' || c == '#';
}
bool IsDigit(char c) {
    return c >= '0' && c <= '9';
}
bool IsIdentPart(char c) {
    return IsIdentStart(c) || IsDigit(c) || c == '.' || c == ':';
}
bool IsSignChar(char c) {
    return c == '=' || c == '!' || c == '<' || c == '>' || c == '~' || c == '?';
}

Error SyntaxError(const std::string& message, std::size_t pos) {
    return MakeError(ErrorCode::kInvalidArgument, message + " at position " + std::to_string(pos + 1), "filter");
}

class Lexer {
public:
    explicit Lexer(std::string_view text) : s_(text) {}

    Result<Token> Next() {
        SkipSpaceAndComments();
        Token t;
        t.pos = i_;
        if (i_ >= s_.size()) {
            return t;
        }
        const char c = s_[i_];
        if (c == '(' || c == ')' || c == ',') {
            ++i_;
            t.kind = c == '(' ? Tok::kLParen : c == ')' ? Tok::kRParen : Tok::kComma;
            return t;
        }
        if (c == '\'' || c == '"') {
            return Text(c);
        }
        if (IsDigit(c) || (c == '-' && i_ + 1 < s_.size() && IsDigit(s_[i_ + 1]))) {
            return Number();
        }
        if (IsIdentStart(c)) {
            const std::size_t start = i_;
            while (i_ < s_.size() && IsIdentPart(s_[i_])) {
                ++i_;
            }
            t.kind = Tok::kIdentifier;
            t.text = std::string(s_.substr(start, i_ - start));
            const char last = t.text.back();
            if (last == '.' || last == ':' || (t.text.size() == 1 && (last == '@' || last == '#'))) {
                return SyntaxError("invalid identifier '" + t.text + "'", start);
            }
            return t;
        }
        if (IsSignChar(c)) {
            const std::size_t start = i_;
            while (i_ < s_.size() && IsSignChar(s_[i_])) {
                ++i_;
            }
            t.kind = Tok::kSign;
            t.text = std::string(s_.substr(start, i_ - start));
            return t;
        }
        if ((c == '&' || c == '|') && i_ + 1 < s_.size() && s_[i_ + 1] == c) {
            i_ += 2;
            t.kind = Tok::kJoin;
            t.text = std::string(2, c);
            return t;
        }
        return SyntaxError("unexpected character '" + std::string(1, c) + "'", i_);
    }

private:
    void SkipSpaceAndComments() {
        while (i_ < s_.size()) {
            const char c = s_[i_];
            if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                ++i_;
            } else if (c == '/' && i_ + 1 < s_.size() && s_[i_ + 1] == '/') {
                while (i_ < s_.size() && s_[i_] != '\n') {
                    ++i_;
                }
            } else {
                return;
            }
        }
    }

    Result<Token> Text(char quote) {
        Token t;
        t.kind = Tok::kText;
        t.pos = i_;
        ++i_;
        while (i_ < s_.size()) {
            const char c = s_[i_];
            if (c == '\\' && i_ + 1 < s_.size() && s_[i_ + 1] == quote) {
                t.text.push_back(quote);  // only \<same quote> is an escape
                i_ += 2;
                continue;
            }
            if (c == quote) {
                ++i_;
                return t;
            }
            t.text.push_back(c);
            ++i_;
        }
        return SyntaxError("unterminated quoted text", t.pos);
    }

    Result<Token> Number() {
        Token t;
        t.kind = Tok::kNumber;
        t.pos = i_;
        const std::size_t start = i_;
        if (s_[i_] == '-') {
            ++i_;
        }
        while (i_ < s_.size() && IsDigit(s_[i_])) {
            ++i_;
        }
        if (i_ < s_.size() && s_[i_] == '.') {
            ++i_;
            if (i_ >= s_.size() || !IsDigit(s_[i_])) {
                return SyntaxError("invalid number", start);
            }
            while (i_ < s_.size() && IsDigit(s_[i_])) {
                ++i_;
            }
        }
        if (i_ < s_.size() && (IsIdentPart(s_[i_]))) {
            return SyntaxError("invalid number", start);
        }
        t.text = std::string(s_.substr(start, i_ - start));
        return t;
    }

    std::string_view s_;
    std::size_t i_ = 0;
};

struct OpName {
    std::string_view text;
    Op op;
};

constexpr std::array<OpName, 16> kOps{{
    {"=", Op::kEq},
    {"!=", Op::kNeq},
    {"~", Op::kLike},
    {"!~", Op::kNotLike},
    {"<", Op::kLt},
    {"<=", Op::kLte},
    {">", Op::kGt},
    {">=", Op::kGte},
    {"?=", Op::kAnyEq},
    {"?!=", Op::kAnyNeq},
    {"?~", Op::kAnyLike},
    {"?!~", Op::kAnyNotLike},
    {"?<", Op::kAnyLt},
    {"?<=", Op::kAnyLte},
    {"?>", Op::kAnyGt},
    {"?>=", Op::kAnyGte},
}};

bool EqualsLower(std::string_view a, std::string_view lower) {
    if (a.size() != lower.size()) {
        return false;
    }
    for (std::size_t i = 0; i < a.size(); ++i) {
        const char c = (a[i] >= 'A' && a[i] <= 'Z') ? static_cast<char>(a[i] - 'A' + 'a') : a[i];
        if (c != lower[i]) {
            return false;
        }
    }
    return true;
}

class Parser {
public:
    Parser(std::string_view text, const ParseLimits& limits) : lex_(text), limits_(limits) {}

    Result<Expr> Run() {
        BASALT_TRY(Advance());
        if (cur_.kind == Tok::kEnd) {
            return Expr{};
        }
        auto e = ParseExpr(0);
        if (!e) {
            return e;
        }
        if (cur_.kind != Tok::kEnd) {
            return SyntaxError("unexpected '" + cur_.text + (cur_.kind == Tok::kRParen ? ")" : "") + "'", cur_.pos);
        }
        return e;
    }

private:
    Result<void> Advance() {
        BASALT_ASSIGN_OR_RETURN(auto t, lex_.Next());
        cur_ = std::move(t);
        return Ok();
    }

    Result<Expr> ParseExpr(std::size_t depth) {
        if (depth > limits_.max_depth) {
            return SyntaxError(
                "filter is nested too deeply (at most " + std::to_string(limits_.max_depth) + " levels)", cur_.pos
            );
        }
        Expr expr;
        JoinOp join = JoinOp::kAnd;
        for (;;) {
            ExprItem item;
            item.join = join;
            if (cur_.kind == Tok::kLParen) {
                const std::size_t open = cur_.pos;
                BASALT_TRY(Advance());
                if (cur_.kind == Tok::kRParen) {
                    return SyntaxError("empty group", open);
                }
                auto inner = ParseExpr(depth + 1);
                if (!inner) {
                    return inner;
                }
                if (cur_.kind != Tok::kRParen) {
                    return SyntaxError("missing closing bracket for the group opened", open);
                }
                BASALT_TRY(Advance());
                item.node = std::make_unique<Expr>(std::move(*inner));
            } else {
                BASALT_ASSIGN_OR_RETURN(auto cmp, ParseComparison(depth));
                item.node = std::move(cmp);
            }
            expr.items.push_back(std::move(item));
            if (cur_.kind != Tok::kJoin) {
                return expr;
            }
            join = cur_.text == "&&" ? JoinOp::kAnd : JoinOp::kOr;
            BASALT_TRY(Advance());
            if (cur_.kind == Tok::kEnd || cur_.kind == Tok::kRParen) {
                return SyntaxError(
                    "expected an expression after '" + std::string(join == JoinOp::kAnd ? "&&" : "||") + "'", cur_.pos
                );
            }
        }
    }

    Result<Comparison> ParseComparison(std::size_t depth) {
        if (++expressions_ > limits_.max_expressions) {
            return SyntaxError(
                "too many expressions in the filter (at most " + std::to_string(limits_.max_expressions) + ")", cur_.pos
            );
        }
        Comparison c;
        BASALT_ASSIGN_OR_RETURN(auto left, ParseOperand(depth));
        c.left = std::move(left);
        if (cur_.kind != Tok::kSign) {
            return SyntaxError("expected an operator", cur_.pos);
        }
        bool known = false;
        for (const auto& o : kOps) {
            if (o.text == cur_.text) {
                c.op = o.op;
                known = true;
            }
        }
        if (!known) {
            return SyntaxError("invalid operator '" + cur_.text + "'", cur_.pos);
        }
        BASALT_TRY(Advance());
        BASALT_ASSIGN_OR_RETURN(auto right, ParseOperand(depth));
        c.right = std::move(right);
        return c;
    }

    Result<Operand> ParseOperand(std::size_t depth) {
        Operand o;
        o.pos = cur_.pos;
        switch (cur_.kind) {
            case Tok::kText:
                o.kind = Operand::Kind::kText;
                break;
            case Tok::kNumber:
                o.kind = Operand::Kind::kNumber;
                break;
            case Tok::kIdentifier:
                o.kind = Operand::Kind::kIdentifier;
                if (EqualsLower(cur_.text, "null")) {
                    o.kind = Operand::Kind::kNull;
                } else if (EqualsLower(cur_.text, "true")) {
                    o.kind = Operand::Kind::kTrue;
                } else if (EqualsLower(cur_.text, "false")) {
                    o.kind = Operand::Kind::kFalse;
                }
                break;
            case Tok::kEnd:
                return SyntaxError("unexpected end of the filter", cur_.pos);
            default:
                return SyntaxError("expected a field, a value or a function", cur_.pos);
        }
        o.value = std::move(cur_.text);
        BASALT_TRY(Advance());
        if (o.kind == Operand::Kind::kIdentifier && cur_.kind == Tok::kLParen) {
            return ParseCall(std::move(o), depth + 1);
        }
        return o;
    }

    Result<Operand> ParseCall(Operand fn, std::size_t depth) {
        if (depth > limits_.max_depth) {
            return SyntaxError("filter is nested too deeply", cur_.pos);
        }
        fn.kind = Operand::Kind::kFunction;
        BASALT_TRY(Advance());
        if (cur_.kind == Tok::kRParen) {
            return Finish(std::move(fn));
        }
        for (;;) {
            auto arg = ParseOperand(depth);
            if (!arg) {
                return arg;
            }
            fn.args.push_back(std::move(*arg));
            if (fn.args.size() > limits_.max_function_args) {
                return SyntaxError("too many arguments for " + fn.value + "()", fn.pos);
            }
            if (cur_.kind == Tok::kComma) {
                BASALT_TRY(Advance());
                continue;
            }
            if (cur_.kind == Tok::kRParen) {
                return Finish(std::move(fn));
            }
            return SyntaxError("expected ',' or ')' in the arguments of " + fn.value + "()", cur_.pos);
        }
    }

    Result<Operand> Finish(Operand fn) {
        BASALT_TRY(Advance());
        return fn;
    }

    Lexer lex_;
    const ParseLimits& limits_;
    Token cur_;
    std::size_t expressions_ = 0;
};

}  // namespace

std::string_view OpText(Op op) {
    for (const auto& o : kOps) {
        if (o.op == op) {
            return o.text;
        }
    }
    return "?";
}

bool IsAnyOf(Op op) {
    return static_cast<int>(op) >= static_cast<int>(Op::kAnyEq);
}

Op BaseOp(Op op) {
    return IsAnyOf(op) ? static_cast<Op>(static_cast<int>(op) - static_cast<int>(Op::kAnyEq)) : op;
}

Result<Expr> Parse(std::string_view text, const ParseLimits& limits) {
    if (text.size() > limits.max_length) {
        return MakeError(
            ErrorCode::kInvalidArgument,
            "filter is too long (at most " + std::to_string(limits.max_length) + " characters)",
            "filter"
        );
    }
    return Parser(text, limits).Run();
}

}  // namespace basalt::query
