// SPDX-License-Identifier: MIT
#include "auth/password.hpp"

#include <memory>

#include <crypt.h>
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

bool IsBcryptHash(std::string_view hash) {
    return hash.size() == 60 && (hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$"));
}

bool NeedsRehash(std::string_view hash) {
    return IsBcryptHash(hash);
}

bool VerifyPassword(std::string_view hash, std::string_view password) {
    EnsureSodium();
    if (IsBcryptHash(hash)) {
        // A hash imported from PocketBase: libxcrypt computes bcrypt with the stored salt and cost;
        // the two encodings are then compared in constant time. bcrypt reads at most 72 bytes and
        // stops at a NUL, as Go's bcrypt refuses longer input: such a password never matches.
        if (password.size() > 72 || password.find('\0') != std::string_view::npos) {
            return false;
        }
        auto data = std::make_unique<crypt_data>();
        const std::string key(password);
        const std::string setting(hash);
        const char* out = crypt_r(key.c_str(), setting.c_str(), data.get());
        if (out == nullptr || out[0] == '*') {
            return false;
        }
        return ConstantTimeEquals(out, hash);
    }
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
