// SPDX-License-Identifier: MIT
// Cron expressions: any input parses or fails with kInvalidArgument; a parsed schedule's next time
// is after the start and matches the schedule.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "jobs/cron.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    auto s = basalt::jobs::Schedule::Parse(input);
    if (!s) {
        if (s.error().code != basalt::ErrorCode::kInvalidArgument) {
            std::abort();
        }
        return 0;
    }
    const basalt::SystemTime start{std::chrono::seconds(1795000000)};
    if (auto next = s->Next(start)) {
        if (*next <= start || !s->Matches(*next)) {
            std::abort();
        }
    }
    return 0;
}
