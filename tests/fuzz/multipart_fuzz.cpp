// SPDX-License-Identifier: MIT
// multipart/form-data bodies -> the parser and the body decoders: parts or kInvalidArgument, the
// decoders answer an object or ApiError 400, and every file part's stored name is a valid storage
// key of one segment; nothing else.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "api/json_body.hpp"
#include "api/multipart.hpp"
#include "core/api_error.hpp"
#include "records/files.hpp"
#include "storage/storage.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    auto parts = basalt::api::ParseMultipart(input, "XyZ");
    if (!parts && parts.error().code != basalt::ErrorCode::kInvalidArgument) {
        std::abort();
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
        const std::string name = basalt::records::StoredFileName(f.original_name, f.data);
        if (!basalt::storage::ValidKey(name) || name.find('/') != std::string::npos || name.size() > 150) {
            std::abort();
        }
        (void)basalt::records::SniffContentType(f.data);
    }
    return 0;
}
