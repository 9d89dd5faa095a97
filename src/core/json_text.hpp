// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <string_view>

namespace basalt {

/// Appends `text` to `out` as a JSON string literal (with quotes). Control characters are escaped,
/// invalid UTF-8 bytes are replaced by U+FFFD so the output is always valid JSON.
void AppendJsonString(std::string& out, std::string_view text);

/// `text` with every invalid UTF-8 byte and every NUL replaced by U+FFFD: text from a client that is
/// stored and shown as it is (log messages).
std::string ValidUtf8Text(std::string_view text);

}  // namespace basalt
