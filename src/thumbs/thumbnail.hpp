// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "core/result.hpp"
#include "thumbs/thumb_spec.hpp"

namespace basalt::thumbs {

/// What a thumbnail may cost. A source over either limit is refused before its pixels are decoded.
struct Limits {
    std::uint64_t max_pixels = 50'000'000;         // width x height of the source, and of the thumb
    std::uint64_t max_source_bytes = 64ULL << 20;  // the encoded source read into memory
};

/// An encoded thumbnail.
struct Image {
    std::string bytes;
    std::string content_type;  // image/jpeg, image/gif or image/png
    int width = 0;
    int height = 0;
};

/// Starts libvips once per process (small operation cache, one worker thread per operation, only
/// trusted loaders). Called by MakeThumb; safe to call again and from any thread.
void InitVips();

/// Makes the thumb `spec` of the encoded image `source` (its first frame), as PocketBase does:
/// a JPEG stays a JPEG, a GIF a GIF, anything else (PNG, WebP) becomes a PNG; EXIF orientation is
/// applied. Only PNG, JPEG, GIF and WebP are decoded. Fails with kInvalidArgument when the source is
/// not one of those, does not decode, or is (or would make a thumb) over `limits`. Blocking and
/// CPU-bound; thread-safe.
Result<Image> MakeThumb(std::string_view source, const ThumbSpec& spec, const Limits& limits);

}  // namespace basalt::thumbs
