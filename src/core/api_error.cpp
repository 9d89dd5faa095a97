// SPDX-License-Identifier: MIT
#include "core/api_error.hpp"

#include <cctype>

namespace basalt {

ApiError ApiError::FromError(const Error& error) {
    std::vector<FieldError> data = error.fields;
    if (!error.field.empty() && data.empty()) {
        data.push_back({error.field, "validation_invalid_value", Sentenize(error.message)});
    }
    switch (error.code) {
        case ErrorCode::kInvalidArgument:
        case ErrorCode::kConflict:
            return BadRequest(
                error.message.empty() ? "Something went wrong while processing your request."
                                      : Sentenize(error.message),
                std::move(data)
            );
        case ErrorCode::kUnauthorized:
            return Unauthorized(Sentenize(error.message));
        case ErrorCode::kForbidden:
            return Forbidden(Sentenize(error.message));
        case ErrorCode::kNotFound:
            return error.message.empty() ? NotFound() : NotFound(Sentenize(error.message));
        case ErrorCode::kTooLarge:
            return {413, "Request entity too large."};
        case ErrorCode::kUnavailable:
            return {503, "The service is temporarily unavailable. Please try again."};
        case ErrorCode::kInternal:
            break;
    }
    // Internal detail is never shown to the client; callers log it.
    return {500, "Something went wrong while processing your request."};
}

std::string Sentenize(std::string text) {
    if (text.empty()) {
        return text;
    }
    text[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(text[0])));
    const char last = text.back();
    if (last != '.' && last != '!' && last != '?') {
        text.push_back('.');
    }
    return text;
}

}  // namespace basalt
