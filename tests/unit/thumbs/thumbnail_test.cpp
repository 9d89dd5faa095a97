// SPDX-License-Identifier: MIT
// Real thumbnails of real images, drawn with libvips in the test: sizes of every mode, the crop
// anchors (told apart by colour bands), output formats, and sources refused before decoding.
#include "thumbs/thumbnail.hpp"

#include <array>
#include <cstdint>
#include <memory>
#include <vector>

#include <gtest/gtest.h>
#include <vips/vips.h>

namespace basalt::thumbs {
namespace {

using Rgb = std::array<std::uint8_t, 3>;
constexpr Rgb kRed{255, 0, 0};
constexpr Rgb kGreen{0, 255, 0};
constexpr Rgb kBlue{0, 0, 255};

struct Unref {
    void operator()(VipsImage* image) const { g_object_unref(image); }
};
using ImagePtr = std::unique_ptr<VipsImage, Unref>;

// A width x height image in three equal bands (left to right when `vertical_bands`, else top to
// bottom), encoded by `suffix` (".png", ".jpg", ".gif", ".webp"). `orientation` sets EXIF's.
std::string Draw(int width, int height, bool vertical_bands, const std::string& suffix, int orientation = 0) {
    InitVips();
    std::vector<std::uint8_t> pixels(static_cast<std::size_t>(width) * static_cast<std::size_t>(height) * 3);
    for (int y = 0; y < height; ++y) {
        for (int x = 0; x < width; ++x) {
            const int band = vertical_bands ? x * 3 / width : y * 3 / height;
            const Rgb c = band == 0 ? kRed : band == 1 ? kGreen : kBlue;
            std::copy(c.begin(), c.end(), pixels.begin() + (static_cast<std::ptrdiff_t>(y) * width + x) * 3);
        }
    }
    ImagePtr image(vips_image_new_from_memory_copy(pixels.data(), pixels.size(), width, height, 3, VIPS_FORMAT_UCHAR));
    if (orientation != 0) {
        vips_image_set_int(image.get(), VIPS_META_ORIENTATION, orientation);
    }
    void* buf = nullptr;
    std::size_t len = 0;
    EXPECT_EQ(vips_image_write_to_buffer(image.get(), suffix.c_str(), &buf, &len, nullptr), 0) << vips_error_buffer();
    std::string out(static_cast<const char*>(buf), len);
    g_free(buf);
    return out;
}

// The colour at (x, y) of an encoded image, rounded to the nearest of red, green and blue.
Rgb ColourAt(const std::string& encoded, int x, int y) {
    ImagePtr image(vips_image_new_from_buffer(encoded.data(), encoded.size(), "", nullptr));
    double* values = nullptr;
    int n = 0;
    EXPECT_EQ(vips_getpoint(image.get(), &values, &n, x, y, nullptr), 0);
    Rgb out{};
    for (int i = 0; i < 3 && i < n; ++i) {
        out[static_cast<std::size_t>(i)] = values[i] > 127 ? 255 : 0;
    }
    g_free(values);
    return out;
}

Image Thumb(const std::string& source, std::string_view size) {
    auto spec = ParseThumbSpec(size);
    EXPECT_TRUE(spec) << size;
    auto thumb = MakeThumb(source, *spec, Limits{});
    EXPECT_TRUE(thumb) << thumb.error().message;
    return thumb ? *thumb : Image{};
}

TEST(MakeThumb, SizesEveryMode) {
    const std::string src = Draw(300, 150, true, ".png");
    const struct {
        const char* size;
        int width;
        int height;
    } cases[] = {
        {"100x100", 100, 100},
        {"100x100t", 100, 100},
        {"100x100b", 100, 100},
        {"100x100f", 100, 50},
        {"0x50", 100, 50},
        {"60x0", 60, 30},
        {"600x0", 600, 300},
        {"1000x1000f", 300, 150},
        {"30x90", 30, 90},
    };
    for (const auto& c : cases) {
        const Image t = Thumb(src, c.size);
        EXPECT_EQ(t.width, c.width) << c.size;
        EXPECT_EQ(t.height, c.height) << c.size;
        EXPECT_EQ(t.content_type, "image/png") << c.size;
        ImagePtr decoded(vips_image_new_from_buffer(t.bytes.data(), t.bytes.size(), "", nullptr));
        ASSERT_TRUE(decoded) << c.size;
        EXPECT_EQ(vips_image_get_width(decoded.get()), c.width) << c.size;
        EXPECT_EQ(vips_image_get_height(decoded.get()), c.height) << c.size;
    }
}

TEST(MakeThumb, CropsAtTheModesAnchor) {
    const std::string tall = Draw(90, 270, false, ".png");  // red, green, blue from top to bottom
    EXPECT_EQ(ColourAt(Thumb(tall, "30x30t").bytes, 15, 15), kRed);
    EXPECT_EQ(ColourAt(Thumb(tall, "30x30").bytes, 15, 15), kGreen);
    EXPECT_EQ(ColourAt(Thumb(tall, "30x30b").bytes, 15, 15), kBlue);
    // A wide image overflows sideways: top and bottom crops keep its horizontal centre.
    const std::string wide = Draw(270, 90, true, ".png");
    for (const char* size : {"30x30t", "30x30b", "30x30"}) {
        const std::string t = Thumb(wide, size).bytes;
        EXPECT_EQ(ColourAt(t, 1, 15), kGreen) << size;
        EXPECT_EQ(ColourAt(t, 28, 15), kGreen) << size;
    }
}

TEST(MakeThumb, KeepsPocketBasesFormats) {
    EXPECT_EQ(Thumb(Draw(64, 48, true, ".jpg"), "32x32").content_type, "image/jpeg");
    EXPECT_EQ(Thumb(Draw(64, 48, true, ".gif"), "32x32").content_type, "image/gif");
    const Image webp = Thumb(Draw(64, 48, true, ".webp"), "32x0");  // WebP becomes PNG
    EXPECT_EQ(webp.content_type, "image/png");
    EXPECT_EQ(webp.height, 24);
    EXPECT_EQ(std::string_view(webp.bytes).substr(1, 3), "PNG");
}

TEST(MakeThumb, AppliesExifOrientation) {
    // Stored 80x40 with "rotate 90°": seen as 40x80.
    const Image t = Thumb(Draw(80, 40, true, ".jpg", 6), "20x0");
    EXPECT_EQ(t.width, 20);
    EXPECT_EQ(t.height, 40);
}

// A PNG whose header declares `width` x `height` and whose pixels are missing (a decompression
// bomb's header: refused before any decoding, so the rest never matters).
std::string PngHeader(std::uint32_t width, std::uint32_t height) {
    InitVips();
    const std::string real = Draw(1, 1, true, ".png");
    std::string png = real;
    for (std::size_t i = 0; i < 4; ++i) {
        png[16 + i] = static_cast<char>((width >> (24 - 8 * i)) & 0xFFU);
        png[20 + i] = static_cast<char>((height >> (24 - 8 * i)) & 0xFFU);
    }
    // IHDR's CRC covers "IHDR" and its 13 bytes: recompute it so the header reads as valid.
    std::uint32_t crc = 0xFFFFFFFFU;
    for (std::size_t i = 12; i < 29; ++i) {
        crc ^= static_cast<std::uint8_t>(png[i]);
        for (int k = 0; k < 8; ++k) {
            crc = (crc >> 1) ^ (0xEDB88320U & (0U - (crc & 1U)));
        }
    }
    crc ^= 0xFFFFFFFFU;
    for (std::size_t i = 0; i < 4; ++i) {
        png[29 + i] = static_cast<char>((crc >> (24 - 8 * i)) & 0xFFU);
    }
    return png;
}

TEST(MakeThumb, RefusesDecompressionBombsBeforeDecoding) {
    const auto r = MakeThumb(PngHeader(30000, 30000), *ParseThumbSpec("100x100"), Limits{});
    ASSERT_FALSE(r);
    EXPECT_EQ(r.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(r.error().message.find("too many pixels"), std::string::npos) << r.error().message;
}

TEST(MakeThumb, RefusesThumbsOverThePixelLimit) {
    const std::string src = Draw(100, 1, true, ".png");
    EXPECT_FALSE(MakeThumb(src, *ParseThumbSpec("10000x0"), Limits{.max_pixels = 999'999}));  // 10000x100
    EXPECT_TRUE(MakeThumb(src, *ParseThumbSpec("1000x0"), Limits{.max_pixels = 999'999}));
}

TEST(MakeThumb, RefusesWhatIsNotAnImageOfTheFourFormats) {
    const auto spec = *ParseThumbSpec("10x10");
    EXPECT_FALSE(MakeThumb("", spec, Limits{}));
    EXPECT_FALSE(MakeThumb("not an image at all", spec, Limits{}));
    EXPECT_FALSE(MakeThumb(R"(<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10"/>)", spec, Limits{}));
    const std::string png = Draw(20, 20, true, ".png");
    EXPECT_FALSE(MakeThumb(png.substr(0, 40), spec, Limits{}));  // truncated after the header
    EXPECT_FALSE(MakeThumb(png, spec, Limits{.max_source_bytes = 10}));
}

}  // namespace
}  // namespace basalt::thumbs
