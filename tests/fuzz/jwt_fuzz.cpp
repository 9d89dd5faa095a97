// SPDX-License-Identifier: MIT
// JWT decode and verify: any input parses or fails with kUnauthorized; nothing verifies by accident.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "auth/jwt.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    auto parsed = basalt::auth::ParseToken(input);
    if (!parsed) {
        if (parsed.error().code != basalt::ErrorCode::kUnauthorized) {
            std::abort();
        }
        return 0;
    }
    if (basalt::auth::VerifyTokenSignature(*parsed, "fuzz-key") &&
        basalt::auth::SignToken(parsed->claims, "fuzz-key").size() == 0) {
        std::abort();
    }
    return 0;
}
