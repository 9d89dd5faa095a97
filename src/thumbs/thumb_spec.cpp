// SPDX-License-Identifier: MIT
#include "thumbs/thumb_spec.hpp"

#include <array>
#include <charconv>

namespace basalt::thumbs {

namespace {

// A run of digits at the front of `text` as a side length; nullopt when there is none or it is
// over kMaxThumbSide (leading zeros are fine, as in PocketBase's \d+).
std::optional<int> TakeSide(std::string_view& text) {
    std::size_t n = 0;
    while (n < text.size() && text[n] >= '0' && text[n] <= '9') {
        ++n;
    }
    if (n == 0) {
        return std::nullopt;
    }
    const std::string_view digits = text.substr(0, n);
    text.remove_prefix(n);
    const std::size_t first = digits.find_first_not_of('0');
    if (first == std::string_view::npos) {
        return 0;
    }
    if (digits.size() - first > 5) {  // more than 99999: no need to convert
        return std::nullopt;
    }
    int value = 0;
    std::from_chars(digits.data() + first, digits.data() + digits.size(), value);
    if (value > kMaxThumbSide) {
        return std::nullopt;
    }
    return value;
}

}  // namespace

std::optional<ThumbSpec> ParseThumbSpec(std::string_view text) {
    ThumbSpec spec;
    const auto width = TakeSide(text);
    if (!width || text.empty() || text.front() != 'x') {
        return std::nullopt;
    }
    text.remove_prefix(1);
    const auto height = TakeSide(text);
    if (!height || (*width == 0 && *height == 0) || text.size() > 1) {
        return std::nullopt;
    }
    spec.width = *width;
    spec.height = *height;
    if (text == "t") {
        spec.mode = Mode::kCropTop;
    } else if (text == "b") {
        spec.mode = Mode::kCropBottom;
    } else if (text == "f") {
        spec.mode = Mode::kFit;
    } else if (!text.empty()) {
        return std::nullopt;
    }
    return spec;
}

bool IsThumbable(std::string_view content_type) {
    constexpr std::array<std::string_view, 5> kTypes{"image/png", "image/jpg", "image/jpeg", "image/gif", "image/webp"};
    for (const auto t : kTypes) {
        if (t == content_type) {
            return true;
        }
    }
    return false;
}

std::string ThumbKey(std::string_view folder, std::string_view filename, std::string_view size) {
    std::string key;
    key.reserve(folder.size() + 2 * filename.size() + size.size() + 10);
    key.append(folder).append("/thumbs_").append(filename).append("/").append(size).append("_").append(filename);
    return key;
}

}  // namespace basalt::thumbs
