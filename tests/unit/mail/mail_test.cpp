// SPDX-License-Identifier: MIT
#include "mail/mail.hpp"

#include <gtest/gtest.h>

#include "core/base64.hpp"

namespace basalt::mail {
namespace {

TEST(Mail, RenderKeepsHeadersOnOneLineAndEncodesTheBody) {
    Message m;
    m.from_name = "Support\r\nBcc: victim@example.com";
    m.from_address = "support@example.com";
    m.to = "user@example.com\r\nBcc: other@example.com";
    m.subject = "Hello\r\nX-Injected: 1";
    m.html = "<p>Hi</p>";
    const std::string out = Render(m, "id@example.com", "Sat, 28 Nov 2026 04:00:00 +0000");
    EXPECT_EQ(out.find("\r\nBcc:"), std::string::npos) << out;
    EXPECT_EQ(out.find("\r\nX-Injected:"), std::string::npos) << out;
    EXPECT_NE(out.find("Content-Transfer-Encoding: base64\r\n\r\n" + Base64Encode("<p>Hi</p>")), std::string::npos);
}

TEST(Mail, NonAsciiSubjectsAndNamesAreEncodedWords) {
    Message m;
    m.from_name = "Équipe";
    m.from_address = "a@example.com";
    m.to = "b@example.com";
    m.subject = "Vérifiez votre adresse";
    const std::string out = Render(m, "x@example.com", "date");
    EXPECT_NE(out.find("Subject: =?UTF-8?B?" + Base64Encode("Vérifiez votre adresse") + "?="), std::string::npos);
    EXPECT_NE(out.find("From: =?UTF-8?B?" + Base64Encode("Équipe") + "?= <a@example.com>"), std::string::npos);
}

TEST(Mail, FillEscapesValuesInHtmlOnly) {
    const std::vector<std::pair<std::string, std::string>> v{{"NAME", "<b>&x"}, {"TOKEN", "abc"}};
    EXPECT_EQ(Fill("Hi {NAME}, {TOKEN} {UNKNOWN}", v), "Hi &lt;b&gt;&amp;x, abc {UNKNOWN}");
    EXPECT_EQ(Fill("Hi {NAME}", v, /*html=*/false), "Hi <b>&x");
}

TEST(Mail, SendRefusesBadAddressesAndReportsUnreachableServers) {
    SmtpConfig c;
    c.host = "127.0.0.1";
    c.port = 1;  // nothing listens there
    c.timeout = std::chrono::seconds(2);
    Message m;
    m.from_address = "a@example.com";
    m.to = "not an address";
    auto bad = Send(c, m);
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
    m.to = "b@example.com";
    auto down = Send(c, m);
    ASSERT_FALSE(down);
    EXPECT_EQ(down.error().code, ErrorCode::kUnavailable);
}

}  // namespace
}  // namespace basalt::mail
