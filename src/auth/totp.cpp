// SPDX-License-Identifier: MIT
#include "auth/totp.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include "auth/password.hpp"
#include "core/text.hpp"

namespace basalt::auth {

namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
constexpr std::int64_t kStep = 30;

}  // namespace

std::string Base32Encode(std::string_view data) {
    std::string out;
    unsigned buffer = 0;
    int bits = 0;
    for (char c : data) {
        buffer = (buffer << 8U) | static_cast<unsigned char>(c);
        bits += 8;
        while (bits >= 5) {
            out.push_back(kAlphabet[(buffer >> static_cast<unsigned>(bits - 5)) & 31U]);
            bits -= 5;
        }
    }
    if (bits > 0) {
        out.push_back(kAlphabet[(buffer << static_cast<unsigned>(5 - bits)) & 31U]);
    }
    return out;
}

std::optional<std::string> Base32Decode(std::string_view text) {
    std::string out;
    unsigned buffer = 0;
    int bits = 0;
    for (char c : text) {
        if (c == '=' || c == ' ') {
            continue;
        }
        const char u = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
        unsigned v = 0;
        if (u >= 'A' && u <= 'Z') {
            v = static_cast<unsigned>(u - 'A');
        } else if (u >= '2' && u <= '7') {
            v = static_cast<unsigned>(u - '2' + 26);
        } else {
            return std::nullopt;
        }
        buffer = (buffer << 5U) | v;
        bits += 5;
        if (bits >= 8) {
            out.push_back(static_cast<char>((buffer >> static_cast<unsigned>(bits - 8)) & 0xFFU));
            bits -= 8;
        }
    }
    return out;
}

std::string NewTotpSecret() {
    std::string s(20, '\0');
    randombytes_buf(s.data(), s.size());
    return s;
}

std::string TotpCode(std::string_view secret, std::int64_t step, int digits) {
    unsigned char counter[8];
    auto c = static_cast<std::uint64_t>(step);
    for (int i = 7; i >= 0; --i) {
        counter[i] = static_cast<unsigned char>(c & 0xFFU);
        c >>= 8U;
    }
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha1(), secret.data(), static_cast<int>(secret.size()), counter, sizeof(counter), mac, &len);
    const unsigned offset = mac[len - 1] & 0x0FU;
    const std::uint32_t binary =
        ((mac[offset] & 0x7FU) << 24U) | (mac[offset + 1] << 16U) | (mac[offset + 2] << 8U) | mac[offset + 3];
    std::uint32_t mod = 1;
    for (int i = 0; i < digits; ++i) {
        mod *= 10;
    }
    std::string code = std::to_string(binary % mod);
    return std::string(static_cast<std::size_t>(digits) - code.size(), '0') + code;
}

std::optional<std::int64_t> TotpMatch(std::string_view secret, std::string_view code, std::int64_t unix_time) {
    const std::int64_t now = unix_time / kStep;
    std::optional<std::int64_t> found;
    for (std::int64_t step = now - 1; step <= now + 1; ++step) {
        // Every candidate is compared, so the time taken does not depend on which one matches.
        if (ConstantTimeEquals(TotpCode(secret, step), code) && !found) {
            found = step;
        }
    }
    return found;
}

std::string TotpUri(std::string_view issuer, std::string_view account, std::string_view secret) {
    return "otpauth://totp/" + PercentEncode(issuer, "@") + ":" + PercentEncode(account, "@") +
           "?secret=" + Base32Encode(secret) + "&issuer=" + PercentEncode(issuer, "@") +
           "&algorithm=SHA1&digits=6&period=30";
}

}  // namespace basalt::auth
