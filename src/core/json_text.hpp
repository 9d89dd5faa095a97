// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <string_view>

namespace basalt {

/// Appends `text` to `out` as a JSON string literal (with quotes). Control characters are escaped,
/// invalid UTF-8 bytes are replaced by U+FFFD so the output is always valid JSON.
void AppendJsonString(std::string& out, std::string_view text);

}  // namespace basalt
