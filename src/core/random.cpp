// SPDX-License-Identifier: MIT
#include "core/random.hpp"

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include <sys/random.h>

namespace basalt {

void SecureRandomBytes(void* out, std::size_t size) {
    auto* p = static_cast<unsigned char*>(out);
    while (size > 0) {
        const ssize_t n = getrandom(p, size, 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            std::fputs("basalt: getrandom failed; refusing to continue without a CSPRNG\n", stderr);
            std::abort();
        }
        p += n;
        size -= static_cast<std::size_t>(n);
    }
}

std::string SecureRandomString(std::size_t length, std::string_view alphabet) {
    std::string out;
    out.reserve(length);
    // Rejection sampling: drop bytes at or above the largest multiple of the alphabet size.
    const unsigned limit = 256U - (256U % static_cast<unsigned>(alphabet.size()));
    unsigned char buf[64];
    while (out.size() < length) {
        SecureRandomBytes(buf, sizeof(buf));
        for (unsigned char b : buf) {
            if (b < limit && out.size() < length) {
                out.push_back(alphabet[b % alphabet.size()]);
            }
        }
    }
    return out;
}

std::uint64_t FastRandom64() {
    // splitmix64 seeded per thread from the CSPRNG.
    thread_local std::uint64_t state = [] {
        std::uint64_t seed = 0;
        SecureRandomBytes(&seed, sizeof(seed));
        return seed;
    }();
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30U)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27U)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31U);
}

}  // namespace basalt
