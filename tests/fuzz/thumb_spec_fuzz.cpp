// SPDX-License-Identifier: MIT
// Thumb sizes (`?thumb=`): any input parses or not without a crash; a parsed size is within the
// bounds MakeThumb relies on, and prints back to text that parses to the same size.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "thumbs/thumb_spec.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using basalt::thumbs::kMaxThumbSide;
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto spec = basalt::thumbs::ParseThumbSpec(input);
    if (!spec) {
        return 0;
    }
    if (spec->width < 0 || spec->height < 0 || spec->width > kMaxThumbSide || spec->height > kMaxThumbSide ||
        (spec->width == 0 && spec->height == 0)) {
        std::abort();
    }
    const std::string again = std::to_string(spec->width) + "x" + std::to_string(spec->height) +
                              std::string(input.back() >= 'a' ? input.substr(input.size() - 1) : "");
    const auto reparsed = basalt::thumbs::ParseThumbSpec(again);
    if (!reparsed || reparsed->width != spec->width || reparsed->height != spec->height ||
        reparsed->mode != spec->mode) {
        std::abort();
    }
    return 0;
}
