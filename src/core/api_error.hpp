// SPDX-License-Identifier: MIT
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "core/result.hpp"

namespace basalt {

/// The error a client receives, in PocketBase's shape {"status","message","data"}.
/// Handlers may throw it; the router's single catch turns it into the response.
class ApiError : public std::exception {
public:
    ApiError(int status, std::string message, std::vector<FieldError> data = {})
        : status_(status),
          message_(std::move(message)),
          data_(std::move(data)) {}

    int Status() const { return status_; }
    /// Extra response headers (Retry-After on a 429, ...).
    ApiError&& WithHeader(std::string name, std::string value) && {
        headers_.emplace_back(std::move(name), std::move(value));
        return std::move(*this);
    }
    const std::vector<std::pair<std::string, std::string>>& Headers() const { return headers_; }
    const std::string& Message() const { return message_; }
    const std::vector<FieldError>& Data() const { return data_; }
    const char* what() const noexcept override { return message_.c_str(); }

    static ApiError BadRequest(
        std::string message = "Something went wrong while processing your request.", std::vector<FieldError> data = {}
    ) {
        return {400, std::move(message), std::move(data)};
    }
    static ApiError Unauthorized(std::string message = "Missing or invalid authentication.") {
        return {401, std::move(message)};
    }
    static ApiError Forbidden(std::string message = "You are not allowed to perform this request.") {
        return {403, std::move(message)};
    }
    static ApiError NotFound(std::string message = "The requested resource wasn't found.") {
        return {404, std::move(message)};
    }

    /// Maps a service `Error` to the status PocketBase would answer with.
    static ApiError FromError(const Error& error);

private:
    int status_;
    std::string message_;
    std::vector<FieldError> data_;
    std::vector<std::pair<std::string, std::string>> headers_;
};

/// PocketBase's "sentenize": upper-case first letter, add a trailing '.' unless the text ends in punctuation.
std::string Sentenize(std::string text);

}  // namespace basalt
