// SPDX-License-Identifier: MIT
#include "client/http_client.hpp"

#include <mutex>

#include <curl/curl.h>

#include "core/text.hpp"

namespace basalt::client {

namespace {

struct Sink {
    std::string data;
    std::size_t limit = 0;
    bool overflow = false;
};

std::size_t Write(char* ptr, std::size_t size, std::size_t n, void* user) {
    auto* sink = static_cast<Sink*>(user);
    const std::size_t bytes = size * n;
    if (sink->data.size() + bytes > sink->limit) {
        sink->overflow = true;
        return 0;  // aborts the transfer
    }
    sink->data.append(ptr, bytes);
    return bytes;
}

void GlobalInit() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

std::string FormEncode(const std::vector<std::pair<std::string, std::string>>& fields) {
    std::string out;
    for (const auto& [k, v] : fields) {
        if (!out.empty()) {
            out.push_back('&');
        }
        out += PercentEncode(k) + "=" + PercentEncode(v);
    }
    return out;
}

Result<HttpResponse> Fetch(const HttpRequest& request) {
    GlobalInit();
    CURL* curl = curl_easy_init();
    if (curl == nullptr) {
        return MakeError(ErrorCode::kInternal, "cannot start an HTTP client");
    }
    Sink sink;
    sink.limit = request.max_response_bytes;
    curl_slist* headers = nullptr;
    for (const auto& [k, v] : request.headers) {
        const std::string line = k + ": " + v;
        headers = curl_slist_append(headers, line.c_str());
    }
    curl_easy_setopt(curl, CURLOPT_URL, request.url.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, static_cast<long>(request.timeout.count()));
    curl_easy_setopt(
        curl, CURLOPT_CONNECTTIMEOUT, static_cast<long>(std::min<std::int64_t>(request.timeout.count(), 10))
    );
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, Write);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "basalt");
    if (request.method == "POST") {
        curl_easy_setopt(curl, CURLOPT_POST, 1L);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.c_str());
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
    } else if (request.method != "GET") {
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request.method.c_str());
        if (!request.body.empty()) {
            curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.body.c_str());
            curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(request.body.size()));
        }
    }
    const CURLcode rc = curl_easy_perform(curl);
    HttpResponse out;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &out.status);
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    if (sink.overflow) {
        return MakeError(ErrorCode::kUnavailable, "the response is too large");
    }
    if (rc != CURLE_OK) {
        return MakeError(ErrorCode::kUnavailable, std::string("HTTP: ") + curl_easy_strerror(rc));
    }
    out.body = std::move(sink.data);
    return out;
}

}  // namespace basalt::client
