// SPDX-License-Identifier: MIT
// Thumbnails with libvips: vips_thumbnail shrinks while it loads (a JPEG decodes at 1/2, 1/4 or 1/8
// of its size), so a large photo never lives in memory at full size. The source's header is read
// first and anything too large is refused before a pixel is decoded.
#include "thumbs/thumbnail.hpp"

#include <array>
#include <cmath>
#include <memory>
#include <mutex>

#include <vips/vips.h>

namespace basalt::thumbs {

namespace {

struct Unref {
    void operator()(VipsImage* image) const { g_object_unref(image); }
};
using ImagePtr = std::unique_ptr<VipsImage, Unref>;

struct GFree {
    void operator()(void* p) const { g_free(p); }
};

Error VipsFailure(std::string_view what) {
    std::string detail = vips_error_buffer();
    vips_error_clear();
    while (!detail.empty() && detail.back() == '\n') {
        detail.pop_back();
    }
    return MakeError(ErrorCode::kInvalidArgument, std::string(what) + ": " + detail);
}

// A truncated or corrupt image is an error (as for PocketBase's decoder), not a grey thumb.
constexpr const char* kLoadOptions = "fail_on=truncated";

// The output format PocketBase picks for a source: JPEG and GIF keep theirs, the rest is PNG.
enum class Format { kJpeg, kGif, kPng };

// The loader vips would use, limited to the four formats thumbs are made of (vips knows many more,
// SVG and PDF among them, that an uploaded file must never reach).
std::optional<Format> SourceFormat(std::string_view source) {
    const char* loader = vips_foreign_find_load_buffer(source.data(), source.size());
    if (loader == nullptr) {
        vips_error_clear();
        return std::nullopt;
    }
    const std::string_view name(loader);
    if (name == "VipsForeignLoadJpegBuffer") {
        return Format::kJpeg;
    }
    if (name == "VipsForeignLoadNsgifBuffer" || name == "VipsForeignLoadGifBuffer") {
        return Format::kGif;
    }
    if (name == "VipsForeignLoadPngBuffer" || name == "VipsForeignLoadWebpBuffer") {
        return Format::kPng;
    }
    return std::nullopt;
}

// The size of the thumb `spec` of a (width x height) image, as PocketBase computes it.
std::pair<std::int64_t, std::int64_t> OutputSize(std::int64_t width, std::int64_t height, const ThumbSpec& spec) {
    if (spec.width == 0) {
        return {
            std::max<std::int64_t>(1, std::llround(double(spec.height) * double(width) / double(height))), spec.height};
    }
    if (spec.height == 0) {
        return {
            spec.width, std::max<std::int64_t>(1, std::llround(double(spec.width) * double(height) / double(width)))};
    }
    if (spec.mode == Mode::kFit && width <= spec.width && height <= spec.height) {
        return {width, height};
    }
    return {spec.width, spec.height};
}

// Decodes `source` shrunk while loading to fit width x height (vips_thumbnail_buffer), with the
// loaders kLoadOptions allows.
Result<ImagePtr> ShrinkOnLoad(std::string_view source, int width, int height, VipsSize size) {
    void* buf = const_cast<char*>(source.data());  // vips reads it only
    VipsImage* raw = nullptr;
    if (vips_thumbnail_buffer(
            buf, source.size(), &raw, width, "height", height, "size", size, "option_string", kLoadOptions, nullptr
        ) != 0) {
        return VipsFailure("thumbnail");
    }
    return ImagePtr(raw);
}

// Shrinks (or enlarges) to cover the box, then cuts it out at the mode's anchor: only one side
// overflows, and a horizontal overflow is always cut around the centre (PocketBase's Top/Bottom
// anchors are top-centre and bottom-centre).
Result<ImagePtr> Fill(std::string_view source, std::int64_t width, std::int64_t height, const ThumbSpec& spec) {
    const bool wider = width * spec.height > height * spec.width;
    BASALT_ASSIGN_OR_RETURN(
        auto shrunk,
        ShrinkOnLoad(source, wider ? VIPS_MAX_COORD : spec.width, wider ? spec.height : VIPS_MAX_COORD, VIPS_SIZE_BOTH)
    );
    const ImagePtr covered = std::move(shrunk);
    VipsImage* raw = covered.get();
    const int w = std::min(spec.width, vips_image_get_width(raw));
    const int h = std::min(spec.height, vips_image_get_height(raw));
    const int left = (vips_image_get_width(raw) - w) / 2;
    int top = (vips_image_get_height(raw) - h) / 2;
    if (spec.mode == Mode::kCropTop) {
        top = 0;
    } else if (spec.mode == Mode::kCropBottom) {
        top = vips_image_get_height(raw) - h;
    }
    VipsImage* cut = nullptr;
    if (vips_extract_area(raw, &cut, left, top, w, h, nullptr) != 0) {
        return VipsFailure("crop");
    }
    return ImagePtr(cut);
}

// Fits inside the box (a zero side is unbounded); never enlarges in kFit mode.
Result<ImagePtr> Scale(std::string_view source, const ThumbSpec& spec) {
    const bool keep_aspect = spec.width == 0 || spec.height == 0;
    return ShrinkOnLoad(
        source,
        spec.width == 0 ? VIPS_MAX_COORD : spec.width,
        spec.height == 0 ? VIPS_MAX_COORD : spec.height,
        keep_aspect ? VIPS_SIZE_BOTH : VIPS_SIZE_DOWN
    );
}

Result<Image> Encode(VipsImage* thumb, Format format) {
    Image out;
    const char* suffix = ".png[strip]";
    out.content_type = "image/png";
    if (format == Format::kJpeg) {
        suffix = ".jpg[Q=95,strip]";  // PocketBase's encoder writes quality 95
        out.content_type = "image/jpeg";
    } else if (format == Format::kGif) {
        suffix = ".gif";
        out.content_type = "image/gif";
    }
    void* buf = nullptr;
    std::size_t len = 0;
    if (vips_image_write_to_buffer(thumb, suffix, &buf, &len, nullptr) != 0) {
        return VipsFailure("encode");
    }
    const std::unique_ptr<void, GFree> owned(buf);
    out.bytes.assign(static_cast<const char*>(buf), len);
    out.width = vips_image_get_width(thumb);
    out.height = vips_image_get_height(thumb);
    return out;
}

void DropWarning(const gchar* /*domain*/, GLogLevelFlags /*level*/, const gchar* /*message*/, gpointer /*data*/) {}

}  // namespace

void InitVips() {
    static std::once_flag once;
    std::call_once(once, [] {
        if (VIPS_INIT("basalt") != 0) {
            vips_error_clear();
            return;  // every MakeThumb then fails, and the originals are served
        }
        vips_cache_set_max(0);    // thumbs are made once each: a cache only holds memory
        vips_concurrency_set(1);  // generations are bounded by the caller, one thread each
        vips_block_untrusted_set(TRUE);
        // libvips warns on stderr about damaged images; the failure itself reaches the caller.
        g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING, DropWarning, nullptr);
    });
}

Result<Image> MakeThumb(std::string_view source, const ThumbSpec& spec, const Limits& limits) {
    InitVips();
    if (source.size() > limits.max_source_bytes) {
        return MakeError(ErrorCode::kInvalidArgument, "the image is too large to make a thumb of");
    }
    const auto format = SourceFormat(source);
    if (!format) {
        return MakeError(ErrorCode::kInvalidArgument, "thumbs are made of PNG, JPEG, GIF and WebP images only");
    }
    // The header only: vips decodes pixels when they are asked for.
    ImagePtr head(vips_image_new_from_buffer(source.data(), source.size(), "", nullptr));
    if (!head) {
        return VipsFailure("decode");
    }
    std::int64_t width = vips_image_get_width(head.get());
    std::int64_t height = vips_image_get_height(head.get());
    if (vips_image_get_orientation_swap(head.get()) != 0) {
        std::swap(width, height);
    }
    head.reset();
    const auto [out_w, out_h] = OutputSize(width, height, spec);
    if (std::uint64_t(width * height) > limits.max_pixels || std::uint64_t(out_w * out_h) > limits.max_pixels) {
        return MakeError(ErrorCode::kInvalidArgument, "the image has too many pixels to make a thumb of");
    }
    const bool fill = spec.width != 0 && spec.height != 0 && spec.mode != Mode::kFit;
    BASALT_ASSIGN_OR_RETURN(auto thumb, fill ? Fill(source, width, height, spec) : Scale(source, spec));
    return Encode(thumb.get(), *format);
}

}  // namespace basalt::thumbs
