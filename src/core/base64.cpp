// SPDX-License-Identifier: MIT
// Base64 through libsodium's constant-time codec (sodium_bin2base64 / sodium_base642bin).
#include "core/base64.hpp"

#include <sodium.h>

namespace basalt {

namespace {

std::string Encode(std::string_view data, int variant) {
    std::string out(sodium_base64_encoded_len(data.size(), variant), '\0');
    sodium_bin2base64(
        out.data(), out.size(), reinterpret_cast<const unsigned char*>(data.data()), data.size(), variant
    );
    out.resize(out.size() - 1);  // the terminating NUL sodium writes
    return out;
}

}  // namespace

std::string Base64UrlEncode(std::string_view data) {
    return Encode(data, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

std::string Base64Encode(std::string_view data) {
    return Encode(data, sodium_base64_VARIANT_ORIGINAL);
}

std::optional<std::string> Base64UrlDecode(std::string_view text) {
    while (!text.empty() && text.back() == '=') {
        text.remove_suffix(1);
    }
    std::string out(text.size() / 4 * 3 + 3, '\0');
    std::size_t len = 0;
    const char* end = nullptr;
    if (sodium_base642bin(
            reinterpret_cast<unsigned char*>(out.data()),
            out.size(),
            text.data(),
            text.size(),
            nullptr,
            &len,
            &end,
            sodium_base64_VARIANT_URLSAFE_NO_PADDING
        ) != 0 ||
        end != text.data() + text.size()) {
        return std::nullopt;
    }
    out.resize(len);
    return out;
}

}  // namespace basalt
