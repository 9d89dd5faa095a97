// SPDX-License-Identifier: MIT
// The errors every store answers alike (inside the storage module).
#pragma once

#include "core/result.hpp"

namespace basalt::storage {

/// kInvalidArgument: a key ValidKey refuses.
Error BadKey();
/// kNotFound: no such file.
Error Missing();

}  // namespace basalt::storage
