// SPDX-License-Identifier: MIT
// The XML an S3 service answers with (it is outside input: any endpoint the settings name): any
// bytes parse or fail with kInvalidArgument, never crash, never nest past the limit; the answers
// built on the parser (list pages, errors, upload ids) hold what they promise.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "storage/s3_protocol.hpp"

namespace {

std::size_t Depth(const basalt::storage::s3::XmlNode& n) {
    std::size_t deepest = 0;
    for (const auto& c : n.children) {
        deepest = std::max(deepest, Depth(c));
    }
    return deepest + 1;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace s3 = basalt::storage::s3;
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    if (auto root = s3::ParseXml(input)) {
        if (Depth(*root) > 32) {
            std::abort();
        }
    } else if (root.error().code != basalt::ErrorCode::kInvalidArgument) {
        std::abort();
    }
    if (auto page = s3::ParseListPage(input)) {
        if (page->truncated && page->next_token.empty()) {
            std::abort();
        }
    } else if (page.error().code != basalt::ErrorCode::kInvalidArgument) {
        std::abort();
    }
    (void)s3::ParseErrorInfo(input);
    if (auto id = s3::ParseUploadId(input); id && id->empty()) {
        std::abort();
    }
    return 0;
}
