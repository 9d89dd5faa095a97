// SPDX-License-Identifier: MIT
#include "client/http_client.hpp"

#include <gtest/gtest.h>

namespace basalt::client {
namespace {

TEST(PrivateAddresses, AreRecognised) {
    for (const char* ip :
         {"127.0.0.1",
          "127.255.0.9",
          "10.1.2.3",
          "172.16.0.1",
          "172.31.255.255",
          "192.168.1.1",
          "169.254.169.254",
          "100.64.0.1",
          "0.0.0.0",
          "224.0.0.1",
          "255.255.255.255",
          "::1",
          "::",
          "fc00::1",
          "fd12:3456::1",
          "fe80::1",
          "ff02::1",
          "::ffff:127.0.0.1",
          "::ffff:10.0.0.1",
          // issue 11.16: IPv4 embedded in IPv6 reaches the IPv4 address it carries
          "::127.0.0.1",
          "::8.8.8.8",  // IPv4-compatible addresses are deprecated: refused whatever they carry
          "64:ff9b::7f00:1",
          "64:ff9b::a00:1",
          "64:ff9b:1::1",
          "2002:7f00:1::",
          "2002:c0a8:101::1",
          "2001:0:4136:e378::1",
          "2001:db8::1",
          "fec0::1",
          "100::1",
          "not an ip",
          ""}) {
        EXPECT_TRUE(IsPrivateAddress(ip)) << ip;
    }
    for (const char* ip :
         {"8.8.8.8",
          "1.1.1.1",
          "172.32.0.1",
          "192.169.0.1",
          "100.128.0.1",
          "2606:4700::1111",
          "::ffff:8.8.8.8",
          "64:ff9b::808:808",
          "2002:808:808::1"}) {
        EXPECT_FALSE(IsPrivateAddress(ip)) << ip;
    }
}

TEST(PrivateAddresses, BlockedTargetsAreRefusedBeforeConnecting) {
    HttpRequest r;
    r.url = "http://127.0.0.1:9/";
    r.block_private = true;
    r.timeout = std::chrono::seconds(2);
    auto res = Fetch(r);
    ASSERT_FALSE(res);
    EXPECT_EQ(res.error().code, ErrorCode::kForbidden);
}

}  // namespace
}  // namespace basalt::client
