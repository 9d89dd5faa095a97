// SPDX-License-Identifier: MIT
#pragma once

#include <cstddef>
#include <string_view>

#include <boost/json/value.hpp>
#include <boost/system/error_code.hpp>

namespace basalt {

/// The one nesting limit for JSON, for what basalt accepts and what it reads back (stored JSON
/// fields, outbox payloads, realtime options): a value accepted at the door is always readable.
inline constexpr std::size_t kMaxJsonDepth = 64;

/// Parses `text` with kMaxJsonDepth; `ec` is set on malformed input, invalid UTF-8 or deeper nesting.
boost::json::value ParseJson(std::string_view text, boost::system::error_code& ec);

/// Whether every number in `v` is finite (1e400 parses as infinity, which JSON cannot carry).
bool AllFinite(const boost::json::value& v);

}  // namespace basalt
