// SPDX-License-Identifier: MIT
// multipart/form-data bodies -> the parser and the body decoder: parts or kInvalidArgument, and the
// decoder answers an object or ApiError 400; nothing else.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "api/json_body.hpp"
#include "api/multipart.hpp"
#include "core/api_error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    auto parts = basalt::api::ParseMultipart(input, "XyZ");
    if (!parts && parts.error().code != basalt::ErrorCode::kInvalidArgument) {
        std::abort();
    }
    basalt::http::Request req;
    req.headers.emplace_back("Content-Type", "multipart/form-data; boundary=XyZ");
    req.body = std::string(input);
    try {
        (void)basalt::api::DecodeJsonObject(req);
    } catch (const basalt::ApiError& e) {
        if (e.Status() != 400) {
            std::abort();
        }
    }
    return 0;
}
