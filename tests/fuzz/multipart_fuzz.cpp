// SPDX-License-Identifier: MIT
// multipart/form-data bodies -> the parser and the body decoders: parts or kInvalidArgument, the
// decoders answer an object or ApiError 400, and every file part's stored name is a valid storage
// key of one segment; nothing else. The streaming scanner fed the same body in small pieces (as a
// spooled upload arrives) must find exactly the same parts as the whole body at once.
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "api/json_body.hpp"
#include "api/multipart.hpp"
#include "core/api_error.hpp"
#include "records/files.hpp"
#include "storage/storage.hpp"

namespace {

// The parts the scanner finds when the body comes in pieces of `piece` bytes, or nullopt on an error.
std::optional<std::vector<basalt::api::MultipartPart>> ScanInPieces(std::string_view input, std::size_t piece) {
    std::vector<basalt::api::MultipartPart> parts;
    std::uint64_t expected_offset = 0;
    bool offsets_ok = true;
    basalt::api::MultipartScanner scanner(
        "XyZ",
        {},
        {
            .begin = [&](basalt::api::MultipartPart&& p) -> basalt::Result<void> {
                parts.push_back(std::move(p));
                expected_offset = 0;
                return {};
            },
            .data = [&](std::string_view bytes, std::uint64_t offset) -> basalt::Result<void> {
                // Each piece of a part starts where the previous one ended, and holds the body's bytes.
                if ((expected_offset != 0 && offset != expected_offset) ||
                    input.substr(offset, bytes.size()) != bytes) {
                    offsets_ok = false;
                }
                expected_offset = offset + bytes.size();
                parts.back().data.append(bytes);
                return {};
            },
            .end = []() -> basalt::Result<void> { return {}; },
        }
    );
    for (std::size_t at = 0; at < input.size(); at += piece) {
        if (!scanner.Feed(input.substr(at, piece))) {
            return std::nullopt;
        }
    }
    if (!scanner.Finish()) {
        return std::nullopt;
    }
    if (!offsets_ok) {
        std::abort();
    }
    return parts;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    auto parts = basalt::api::ParseMultipart(input, "XyZ");
    if (!parts && parts.error().code != basalt::ErrorCode::kInvalidArgument) {
        std::abort();
    }
    const std::size_t piece = size == 0 ? 1 : 1 + data[0] % 13;
    const auto pieces = ScanInPieces(input, piece);
    if (pieces.has_value() != parts.has_value()) {
        std::abort();
    }
    if (parts) {
        if (pieces->size() != parts->size()) {
            std::abort();
        }
        for (std::size_t i = 0; i < parts->size(); ++i) {
            const auto& a = (*parts)[i];
            const auto& b = (*pieces)[i];
            if (a.name != b.name || a.filename != b.filename || a.content_type != b.content_type || a.data != b.data) {
                std::abort();
            }
        }
    }
    basalt::http::Request req;
    req.headers.emplace_back("Content-Type", "multipart/form-data; boundary=XyZ");
    req.body = std::string(input);
    try {
        (void)basalt::api::DecodeJsonObject(req);
    } catch (const basalt::ApiError& e) {
        if (e.Status() != 400) {
            std::abort();
        }
    }
    std::vector<basalt::records::UploadedFile> files;
    try {
        (void)basalt::api::DecodeRecordBody(req, files);
    } catch (const basalt::ApiError& e) {
        if (e.Status() != 400) {
            std::abort();
        }
    }
    for (const auto& f : files) {
        const std::string bytes = *f.bytes.Memory();
        const std::string name = basalt::records::StoredFileName(f.original_name, bytes);
        if (!basalt::storage::ValidKey(name) || name.find('/') != std::string::npos || name.size() > 150) {
            std::abort();
        }
        (void)basalt::records::SniffContentType(bytes);
        (void)basalt::records::SniffContentType(bytes.substr(0, bytes.size() / 2), false);
    }
    return 0;
}
