// SPDX-License-Identifier: MIT
#include "storage/storage.hpp"

#include "storage/errors.hpp"

namespace basalt::storage {

namespace {

constexpr std::size_t kMaxKey = 1024;
constexpr std::size_t kMaxSegment = 255;
constexpr std::string_view kAttrsSuffix = ".attrs";

bool ValidSegment(std::string_view s) {
    if (s.empty() || s.size() > kMaxSegment || s == "." || s == "..") {
        return false;
    }
    if (s.size() >= kAttrsSuffix.size() && s.substr(s.size() - kAttrsSuffix.size()) == kAttrsSuffix) {
        return false;
    }
    for (const char ch : s) {
        const auto u = static_cast<unsigned char>(ch);
        if (u < 0x20 || u == 0x7f || ch == '\\') {
            return false;
        }
    }
    return true;
}

}  // namespace

Error BadKey() {
    return MakeError(ErrorCode::kInvalidArgument, "invalid file key");
}

Error Missing() {
    return MakeError(ErrorCode::kNotFound, "file not found");
}

bool ValidKey(std::string_view key) {
    if (key.empty() || key.size() > kMaxKey) {
        return false;
    }
    std::size_t start = 0;
    for (;;) {
        const std::size_t slash = key.find('/', start);
        if (!ValidSegment(key.substr(start, slash == std::string_view::npos ? std::string_view::npos : slash - start)
            )) {
            return false;
        }
        if (slash == std::string_view::npos) {
            return true;
        }
        start = slash + 1;
    }
}

}  // namespace basalt::storage
