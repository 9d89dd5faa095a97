// SPDX-License-Identifier: MIT
#pragma once

namespace basalt::detail {
[[noreturn]] void AssertFail(const char* expr, const char* why, const char* file, int line);
}  // namespace basalt::detail

/// Always checked: aborts with a message when `cond` is false. For invariants whose failure is a bug.
#define BASALT_CHECK(cond, why)                                           \
    do {                                                                  \
        if (!(cond)) {                                                    \
            ::basalt::detail::AssertFail(#cond, why, __FILE__, __LINE__); \
        }                                                                 \
    } while (false)

/// Checked in debug builds, compiled out in release. Never on user input.
#ifdef NDEBUG
#define BASALT_ASSERT(cond, why) \
    do {                         \
    } while (false)
#else
#define BASALT_ASSERT(cond, why) BASALT_CHECK(cond, why)
#endif
