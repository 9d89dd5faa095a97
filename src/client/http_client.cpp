// SPDX-License-Identifier: MIT
#include "client/http_client.hpp"

#include <array>
#include <cstring>
#include <mutex>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <sys/socket.h>

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

bool PrivateV4(std::uint32_t a) {  // host byte order
    struct Net {
        std::uint32_t base;
        int bits;
    };
    static constexpr std::array<Net, 13> kBlocked{{
        {0x00000000, 8},   // "this" network
        {0x0A000000, 8},   // private
        {0x64400000, 10},  // carrier-grade NAT
        {0x7F000000, 8},   // loopback
        {0xA9FE0000, 16},  // link-local (cloud metadata lives here)
        {0xAC100000, 12},  // private
        {0xC0000000, 24},  // IETF protocol assignments
        {0xC0000200, 24},  // documentation
        {0xC0A80000, 16},  // private
        {0xC6120000, 15},  // benchmarking
        {0xC6336400, 24},  // documentation
        {0xCB007100, 24},  // documentation
        {0xE0000000, 3},   // multicast, reserved, broadcast
    }};
    for (const auto& n : kBlocked) {
        const std::uint32_t mask = n.bits == 0 ? 0 : ~std::uint32_t{0} << (32 - n.bits);
        if ((a & mask) == n.base) {
            return true;
        }
    }
    return false;
}

bool PrivateV6(const in6_addr& a) {
    const unsigned char* b = a.s6_addr;
    static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(b, kMapped, 12) == 0) {
        return PrivateV4(
            static_cast<std::uint32_t>(b[12]) << 24 | static_cast<std::uint32_t>(b[13]) << 16 |
            static_cast<std::uint32_t>(b[14]) << 8 | b[15]
        );
    }
    auto v4_at = [b](int i) {
        return static_cast<std::uint32_t>(b[i]) << 24 | static_cast<std::uint32_t>(b[i + 1]) << 16 |
               static_cast<std::uint32_t>(b[i + 2]) << 8 | b[i + 3];
    };
    static constexpr unsigned char kZero[12] = {};
    if (std::memcmp(b, kZero, 12) == 0) {
        return true;  // ::, ::1 and the deprecated IPv4-compatible ::a.b.c.d (::/96)
    }
    static constexpr unsigned char kNat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
    if (std::memcmp(b, kNat64, 12) == 0) {
        return PrivateV4(v4_at(12));  // NAT64 64:ff9b::/96 reaches the IPv4 address it embeds
    }
    if (b[0] == 0x00 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b[4] == 0x00 && b[5] == 0x01) {
        return true;  // local-use NAT64 64:ff9b:1::/48
    }
    if (b[0] == 0x20 && b[1] == 0x02) {
        return PrivateV4(v4_at(2));  // 6to4 2002:a.b.c.d::/16
    }
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x00 && b[3] == 0x00) {
        return true;  // Teredo 2001::/32 (tunnels to an obfuscated IPv4 address)
    }
    if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8) {
        return true;  // documentation 2001:db8::/32
    }
    if (b[0] == 0x01 && b[1] == 0x00 && std::memcmp(b + 2, kZero, 6) == 0) {
        return true;  // discard-only 100::/64
    }
    return (b[0] & 0xfe) == 0xfc ||                    // unique local fc00::/7
           (b[0] == 0xfe && (b[1] & 0xc0) == 0x80) ||  // link-local fe80::/10
           (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0) ||  // site-local fec0::/10 (deprecated)
           b[0] == 0xff;                               // multicast
}

bool PrivateSockaddr(const sockaddr* sa) {
    if (sa->sa_family == AF_INET) {
        return PrivateV4(ntohl(reinterpret_cast<const sockaddr_in*>(sa)->sin_addr.s_addr));
    }
    if (sa->sa_family == AF_INET6) {
        return PrivateV6(reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr);
    }
    return true;
}

struct SocketGuard {
    bool blocked = false;
};

curl_socket_t OpenSocket(void* user, curlsocktype /*purpose*/, curl_sockaddr* addr) {
    auto* guard = static_cast<SocketGuard*>(user);
    if (PrivateSockaddr(&addr->addr)) {
        guard->blocked = true;
        return CURL_SOCKET_BAD;
    }
    return ::socket(addr->family, addr->socktype | SOCK_CLOEXEC, addr->protocol);
}

void GlobalInit() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

bool IsPrivateAddress(std::string_view ip) {
    const std::string text(ip);
    in_addr v4{};
    if (::inet_pton(AF_INET, text.c_str(), &v4) == 1) {
        return PrivateV4(ntohl(v4.s_addr));
    }
    in6_addr v6{};
    if (::inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
        return PrivateV6(v6);
    }
    return true;
}

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
    SocketGuard guard;
    if (request.block_private) {
        curl_easy_setopt(curl, CURLOPT_OPENSOCKETFUNCTION, OpenSocket);
        curl_easy_setopt(curl, CURLOPT_OPENSOCKETDATA, &guard);
    }
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
    if (guard.blocked) {
        return MakeError(
            ErrorCode::kForbidden,
            "the target resolves to a private or loopback address (settings.webhooks.allowPrivateTargets)"
        );
    }
    if (rc != CURLE_OK) {
        return MakeError(ErrorCode::kUnavailable, std::string("HTTP: ") + curl_easy_strerror(rc));
    }
    out.body = std::move(sink.data);
    return out;
}

}  // namespace basalt::client
