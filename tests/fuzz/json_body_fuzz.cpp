// SPDX-License-Identifier: MIT
// JSON body decoding: any input either decodes to an object or throws ApiError 400; nothing else.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "api/json_body.hpp"
#include "core/api_error.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    for (const char* type : {"application/json", "application/x-www-form-urlencoded"}) {
        basalt::http::Request req;
        req.headers.emplace_back("Content-Type", type);
        req.body = std::string(input);
        try {
            auto obj = basalt::api::DecodeJsonObject(req);
            (void)basalt::api::StringField(obj, "identity");
            (void)basalt::api::StringField(obj, "password");
        } catch (const basalt::ApiError& e) {
            if (e.Status() != 400) {
                std::abort();
            }
        }
    }
    return 0;
}
