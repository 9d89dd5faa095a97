// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace basalt {

/// What kind of failure an `Error` is; the api layer maps each to an HTTP status.
enum class ErrorCode {
    kInvalidArgument,  // bad input from a client (400)
    kUnauthorized,     // missing or invalid credentials (401)
    kForbidden,        // authenticated but not allowed (403)
    kNotFound,         // (404)
    kConflict,         // unique constraint and the like (400 in PocketBase's API)
    kTooLarge,         // (413)
    kUnavailable,      // database busy/locked past its timeout, shutting down (503)
    kInternal,         // a bug or an environment failure (500)
};

/// One per-field entry of an error's `data` object: {"<field>": {"code": ..., "message": ...}}.
/// A dotted field ("fields.1.name") nests, as PocketBase's errors do.
struct FieldError {
    std::string field;
    std::string code;             // e.g. "validation_required"
    std::string message;          // e.g. "Cannot be blank."
    std::string response_json{};  // optional: serialized JSON written as "response" (batch failures)
    std::string params_json{};    // optional: a serialized JSON object written as "params" ({"min":3})
};

/// An expected failure. `message` is safe to show to a client; `field` optionally names the bad input;
/// `fields` carries per-field validation errors.
struct Error {
    ErrorCode code = ErrorCode::kInternal;
    std::string message;
    std::string field;
    std::vector<FieldError> fields;
};

inline Error MakeError(ErrorCode code, std::string message, std::string field = {}) {
    return Error{code, std::move(message), std::move(field), {}};
}

/// A validation failure with per-field errors (400 with `data` in the API).
inline Error ValidationError(std::string message, std::vector<FieldError> fields) {
    return Error{ErrorCode::kInvalidArgument, std::move(message), {}, std::move(fields)};
}

/// A value or an `Error`; member names follow std::expected so the switch to C++23 is mechanical.
template <typename T>
class [[nodiscard]] Result {
public:
    Result(T value) : v_(std::in_place_index<0>, std::move(value)) {}      // NOLINT(google-explicit-constructor)
    Result(Error error) : v_(std::in_place_index<1>, std::move(error)) {}  // NOLINT(google-explicit-constructor)

    // The names of std::expected, so that the switch to C++23 is mechanical.
    // NOLINTBEGIN(readability-identifier-naming)
    bool has_value() const { return v_.index() == 0; }
    explicit operator bool() const { return has_value(); }

    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    T&& operator*() && { return std::move(*this).value(); }
    T* operator->() { return &value(); }
    const T* operator->() const { return &value(); }

    const Error& error() const { return std::get<1>(v_); }
    Error& error() { return std::get<1>(v_); }
    // NOLINTEND(readability-identifier-naming)

private:
    std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
public:
    Result() = default;
    Result(Error error) : error_(std::move(error)), ok_(false) {}  // NOLINT(google-explicit-constructor)

    // NOLINTBEGIN(readability-identifier-naming)
    bool has_value() const { return ok_; }
    explicit operator bool() const { return ok_; }
    const Error& error() const { return error_; }
    Error& error() { return error_; }
    // NOLINTEND(readability-identifier-naming)

private:
    Error error_;
    bool ok_ = true;
};

/// Result<void>'s success value, for `return Ok();`.
inline Result<void> Ok() {
    return {};
}

// The two shapes of "stop here and pass the failure up" (absl's and LLVM's names), for functions that
// return a Result. The expression is evaluated once; the error is moved, not copied.
//
//   BASALT_TRY(tx.Exec(sql));                       // a Result<void> (or any Result whose value is unused)
//   BASALT_ASSIGN_OR_RETURN(auto row, Load(id));    // declares `row` as the value of a Result<T>
//   BASALT_ASSIGN_OR_RETURN(existing, Load(id));    // or assigns to a variable declared before
#define BASALT_TRY(expr)                                  \
    do {                                                  \
        auto&& basalt_try_result_ = (expr);               \
        if (!basalt_try_result_) {                        \
            return std::move(basalt_try_result_.error()); \
        }                                                 \
    } while (false)

// `tmp` and `lhs` are a name and a declaration: they cannot be parenthesized.
// NOLINTBEGIN(bugprone-macro-parentheses)
#define BASALT_RESULT_CONCAT_INNER(a, b) a##b
#define BASALT_RESULT_CONCAT(a, b) BASALT_RESULT_CONCAT_INNER(a, b)
#define BASALT_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
    auto&& tmp = (expr);                             \
    if (!tmp) {                                      \
        return std::move(tmp.error());               \
    }                                                \
    lhs = std::move(*tmp)
#define BASALT_ASSIGN_OR_RETURN(lhs, expr) \
    BASALT_ASSIGN_OR_RETURN_IMPL(BASALT_RESULT_CONCAT(basalt_result_, __LINE__), lhs, expr)
// NOLINTEND(bugprone-macro-parentheses)

}  // namespace basalt
