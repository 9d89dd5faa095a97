// SPDX-License-Identifier: MIT
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace basalt::thumbs {

/// How a thumb fills its WxH box (PocketBase's `WxH`, `WxHt`, `WxHb`, `WxHf`; a zero side keeps
/// the aspect ratio whatever the mode).
enum class Mode {
    kCropCenter,  // cover the box, crop what overflows around the centre
    kCropTop,     // cover the box, keep the top (or the horizontal centre of a wide image)
    kCropBottom,  // cover the box, keep the bottom
    kFit,         // fit inside the box, never enlarged
};

/// A parsed `thumb` query parameter. One of width/height may be 0 (that side follows the aspect).
struct ThumbSpec {
    int width = 0;
    int height = 0;
    Mode mode = Mode::kCropCenter;
};

/// The largest side a thumb may ask for: an allowed list could name anything, and a thumb bigger
/// than this is not a thumb.
inline constexpr int kMaxThumbSide = 10000;

/// Parses PocketBase's thumb size format `^(\d+)x(\d+)(t|b|f)?$`. nullopt when the text does not
/// match, both sides are 0, or a side exceeds kMaxThumbSide (checked before anything is decoded).
std::optional<ThumbSpec> ParseThumbSpec(std::string_view text);

/// Whether PocketBase makes thumbs of a file stored with this content type (png, jpeg, gif, webp).
bool IsThumbable(std::string_view content_type);

/// Where the thumb `size` of `<folder>/<filename>` lives, as PocketBase lays it out:
/// `<folder>/thumbs_<filename>/<size>_<filename>`.
std::string ThumbKey(std::string_view folder, std::string_view filename, std::string_view size);

}  // namespace basalt::thumbs
