// SPDX-License-Identifier: MIT
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace basalt {

/// An IP address in 16 bytes (IPv4 as ::ffff:a.b.c.d).
struct IpAddress {
    std::array<std::uint8_t, 16> bytes{};
    bool v4 = false;
};

/// Parses a textual IPv4 or IPv6 address (no brackets, no zone); nullopt when it is not one.
std::optional<IpAddress> ParseIp(std::string_view text);

/// The canonical text of an address (IPv4 dotted, IPv6 as inet_ntop writes it).
std::string FormatIp(const IpAddress& ip);

/// An address or a CIDR network ("10.0.0.0/8", "fd00::/8", "192.168.1.7").
struct IpNetwork {
    IpAddress base;
    int prefix = 128;  // in bits of the 16-byte form
};
std::optional<IpNetwork> ParseIpNetwork(std::string_view text);
bool Contains(const IpNetwork& net, const IpAddress& ip);

/// Loopback, private (RFC 1918, unique-local), carrier-grade NAT or link-local: where a reverse
/// proxy in front of a server lives.
bool IsLocalNetwork(const IpAddress& ip);

}  // namespace basalt
