// SPDX-License-Identifier: MIT
#include "core/ip.hpp"

#include <charconv>
#include <cstring>
#include <vector>

#include <arpa/inet.h>

namespace basalt {

std::optional<IpAddress> ParseIp(std::string_view text) {
    if (text.empty() || text.size() > 64) {
        return std::nullopt;
    }
    const std::string s(text);
    IpAddress ip;
    in_addr v4{};
    if (::inet_pton(AF_INET, s.c_str(), &v4) == 1) {
        ip.v4 = true;
        ip.bytes[10] = 0xff;
        ip.bytes[11] = 0xff;
        std::memcpy(ip.bytes.data() + 12, &v4.s_addr, 4);
        return ip;
    }
    in6_addr v6{};
    if (::inet_pton(AF_INET6, s.c_str(), &v6) == 1) {
        std::memcpy(ip.bytes.data(), v6.s6_addr, 16);
        static constexpr std::uint8_t kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        ip.v4 = std::memcmp(ip.bytes.data(), kMapped, 12) == 0;  // ::ffff:a.b.c.d is that IPv4 peer
        return ip;
    }
    return std::nullopt;
}

std::string FormatIp(const IpAddress& ip) {
    char buf[INET6_ADDRSTRLEN] = {};
    if (ip.v4) {
        (void)::inet_ntop(AF_INET, ip.bytes.data() + 12, buf, sizeof(buf));
    } else {
        (void)::inet_ntop(AF_INET6, ip.bytes.data(), buf, sizeof(buf));
    }
    return buf;
}

std::optional<IpNetwork> ParseIpNetwork(std::string_view text) {
    const auto slash = text.find('/');
    auto ip = ParseIp(text.substr(0, slash));
    if (!ip) {
        return std::nullopt;
    }
    IpNetwork net{*ip, 128};
    if (slash == std::string_view::npos) {
        return net;
    }
    const std::string_view bits = text.substr(slash + 1);
    int n = -1;
    const auto [p, ec] = std::from_chars(bits.data(), bits.data() + bits.size(), n);
    const int max = ip->v4 ? 32 : 128;
    if (bits.empty() || ec != std::errc() || p != bits.data() + bits.size() || n < 0 || n > max) {
        return std::nullopt;
    }
    net.prefix = ip->v4 ? n + 96 : n;
    return net;
}

bool Contains(const IpNetwork& net, const IpAddress& ip) {
    int left = net.prefix;
    for (std::size_t i = 0; i < 16 && left > 0; ++i, left -= 8) {
        const auto mask = static_cast<std::uint8_t>(left >= 8 ? 0xff : 0xff << (8 - left));
        if ((net.base.bytes[i] & mask) != (ip.bytes[i] & mask)) {
            return false;
        }
    }
    return true;
}

bool IsLocalNetwork(const IpAddress& ip) {
    static const char* const kLocal[] = {
        "127.0.0.0/8",
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",
        "169.254.0.0/16",
        "::1/128",
        "fc00::/7",
        "fe80::/10",
    };
    static const std::vector<IpNetwork> nets = [] {
        std::vector<IpNetwork> out;
        for (const char* text : kLocal) {
            out.push_back(*ParseIpNetwork(text));
        }
        return out;
    }();
    for (const auto& net : nets) {
        if (Contains(net, ip)) {
            return true;
        }
    }
    return false;
}

}  // namespace basalt
