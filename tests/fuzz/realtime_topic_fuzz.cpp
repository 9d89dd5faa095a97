// SPDX-License-Identifier: MIT
// Realtime topics as clients send them (POST /api/realtime): any input parses into a subscription
// whose event name is the topic itself, or fails with kInvalidArgument; no control characters ever
// reach an event name (they would split the SSE frame).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "realtime/hub.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    auto s = basalt::realtime::ParseTopic(input);
    if (!s) {
        if (s.error().code != basalt::ErrorCode::kInvalidArgument) {
            std::abort();
        }
        return 0;
    }
    if (s->topic != input || s->topic.find_first_of("\r\n") != std::string::npos) {
        std::abort();
    }
    if (s->collection.empty() && s->topic.rfind("@oauth2", 0) != 0) {
        std::abort();
    }
    return 0;
}
