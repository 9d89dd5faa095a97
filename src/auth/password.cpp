// SPDX-License-Identifier: MIT
#include "auth/password.hpp"

#include <openssl/crypto.h>
#include <sodium.h>

#include "core/assert.hpp"

namespace basalt::auth {

namespace {

void EnsureSodium() {
    static const int rc = sodium_init();
    BASALT_CHECK(rc >= 0, "libsodium must initialise");
}

}  // namespace

Result<std::string> HashPassword(std::string_view password) {
    EnsureSodium();
    char out[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(
            out,
            password.data(),
            password.size(),
            crypto_pwhash_OPSLIMIT_INTERACTIVE,
            crypto_pwhash_MEMLIMIT_INTERACTIVE
        ) != 0) {
        return MakeError(ErrorCode::kInternal, "password hashing ran out of memory");
    }
    return std::string(out);
}

bool VerifyPassword(std::string_view hash, std::string_view password) {
    EnsureSodium();
    if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) {
        return false;
    }
    const std::string h(hash);  // libsodium wants a NUL-terminated string
    return crypto_pwhash_str_verify(h.c_str(), password.data(), password.size()) == 0;
}

void VerifyPasswordDummy(std::string_view password) {
    static const std::string dummy = [] {
        auto h = HashPassword("basalt-dummy-password-for-timing");
        return h ? *h : std::string();
    }();
    (void)VerifyPassword(dummy, password);
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) {
        return false;
    }
    return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string Sha256Hex(std::string_view data) {
    unsigned char digest[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(digest, reinterpret_cast<const unsigned char*>(data.data()), data.size());
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(sizeof(digest) * 2);
    for (unsigned char b : digest) {
        out.push_back(kHex[b >> 4U]);
        out.push_back(kHex[b & 0xFU]);
    }
    return out;
}

}  // namespace basalt::auth
