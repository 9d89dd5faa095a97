// SPDX-License-Identifier: MIT
#include "core/assert.hpp"

#include <cstdio>
#include <cstdlib>

namespace basalt::detail {

void AssertFail(const char* expr, const char* why, const char* file, int line) {
    std::fprintf(stderr, "basalt: assertion failed at %s:%d: %s (%s)\n", file, line, expr, why);
    std::abort();
}

}  // namespace basalt::detail
