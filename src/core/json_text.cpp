// SPDX-License-Identifier: MIT
#include "core/json_text.hpp"

#include <cstdint>
#include <cstring>

namespace basalt {

namespace {

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is invalid.
std::size_t Utf8SequenceLength(std::string_view s, std::size_t i) {
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t len = 0;
    unsigned min = 0;
    unsigned cp = 0;
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        cp = c & 0x1FU;
        min = 0x80;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        cp = c & 0x0FU;
        min = 0x800;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        cp = c & 0x07U;
        min = 0x10000;
    } else {
        return 0;
    }
    if (i + len > s.size()) {
        return 0;
    }
    for (std::size_t k = 1; k < len; ++k) {
        const auto cc = static_cast<unsigned char>(s[i + k]);
        if ((cc & 0xC0U) != 0x80U) {
            return 0;
        }
        cp = (cp << 6U) | (cc & 0x3FU);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
        return 0;
    }
    return len;
}

}  // namespace

std::string ValidUtf8Text(std::string_view text) {
    static constexpr std::string_view kReplacement = "\xEF\xBF\xBD";  // U+FFFD
    std::string out;
    out.reserve(text.size());
    std::size_t i = 0;
    while (i < text.size()) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (c != 0 && c < 0x80) {
            out.push_back(static_cast<char>(c));
            ++i;
            continue;
        }
        const std::size_t len = c == 0 ? 0 : Utf8SequenceLength(text, i);
        if (len == 0) {
            out += kReplacement;
            ++i;
        } else {
            out.append(text.substr(i, len));
            i += len;
        }
    }
    return out;
}

void AppendJsonString(std::string& out, std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    out.reserve(out.size() + text.size() + 2);
    out.push_back('"');
    std::size_t run = 0;  // start of the pending run of bytes copied as they are
    std::size_t i = 0;
    auto flush = [&](std::size_t end) {
        out.append(text.data() + run, end - run);
    };
    while (i < text.size()) {
        // Eight bytes at a time while none needs attention (a control byte, a byte >= 0x80, '"', '\\').
        while (i + 8 <= text.size()) {
            std::uint64_t x = 0;
            std::memcpy(&x, text.data() + i, 8);
            constexpr std::uint64_t kOnes = 0x0101010101010101ULL;
            constexpr std::uint64_t kHigh = 0x8080808080808080ULL;
            const std::uint64_t quote = x ^ (kOnes * '"');
            const std::uint64_t slash = x ^ (kOnes * '\\');
            const std::uint64_t special = ((x - kOnes * 0x20) | (quote - kOnes) | (slash - kOnes) | x) & kHigh;
            if (special != 0) {
                break;
            }
            i += 8;
        }
        if (i >= text.size()) {
            break;
        }
        const auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            ++i;  // the common case: plain ASCII, copied in one append per run
            continue;
        }
        if (c >= 0x80) {
            const std::size_t len = Utf8SequenceLength(text, i);
            if (len != 0) {
                i += len;
                continue;
            }
            flush(i);
            out += "\xEF\xBF\xBD";
            run = ++i;
            continue;
        }
        flush(i);
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                out += "\\u00";
                out.push_back(kHex[c >> 4U]);
                out.push_back(kHex[c & 0xFU]);
        }
        run = ++i;
    }
    flush(text.size());
    out.push_back('"');
}

}  // namespace basalt
