// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"

namespace basalt::api {

/// One part of a multipart/form-data body.
struct MultipartPart {
    std::string name;
    std::string filename;  // set for file parts
    std::string content_type;
    std::string data;
};

struct MultipartLimits {
    std::size_t max_parts = 1000;
    std::size_t max_part_header_bytes = 8192;
};

/// The boundary of a `multipart/form-data; boundary=...` content type, or empty.
std::string MultipartBoundary(std::string_view content_type);

/// Parses a multipart/form-data body (RFC 7578). Fails with kInvalidArgument on a malformed body
/// (missing boundary lines, a part without a name, headers over the limit, too many parts).
Result<std::vector<MultipartPart>> ParseMultipart(
    std::string_view body, std::string_view boundary, const MultipartLimits& limits = {}
);

}  // namespace basalt::api
