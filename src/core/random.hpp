// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace basalt {

/// Fills `out` with `size` bytes from the kernel's CSPRNG (getrandom). Aborts if the kernel refuses,
/// which only happens on a broken system: there is no safe fallback for secrets.
void SecureRandomBytes(void* out, std::size_t size);

/// A string of `length` characters drawn uniformly (no modulo bias) from `alphabet` with the CSPRNG.
std::string SecureRandomString(std::size_t length, std::string_view alphabet);

inline constexpr std::string_view kAlphanumericLower = "abcdefghijklmnopqrstuvwxyz0123456789";
inline constexpr std::string_view kAlphanumeric = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// A fast, non-cryptographic 64-bit generator per thread (request ids, jitter). Never for secrets.
std::uint64_t FastRandom64();

}  // namespace basalt
