// SPDX-License-Identifier: MIT
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "settings/settings_store.hpp"

namespace basalt::mail {

/// How to reach the SMTP server (settings.smtp).
struct SmtpConfig {
    std::string host;
    std::int64_t port = 587;
    std::string username;
    std::string password;
    bool tls = false;  // implicit TLS (smtps); otherwise STARTTLS when the server offers it
    std::string local_name;
    std::chrono::seconds timeout{15};
};

struct Message {
    std::string from_name;
    std::string from_address;
    std::string to;
    std::string subject;
    std::string html;
};

/// The message as sent: RFC 5322 headers (CR/LF stripped from every value, non-ASCII subjects and
/// names encoded as RFC 2047 words) and the HTML body, base64 in 76-column lines.
std::string Render(const Message& message, std::string_view message_id, std::string_view date);

/// Sends `message` with the settings' SMTP connection; kUnavailable when SMTP is off in them.
Result<void> SendWithSettings(const settings::MailSettings& m, const Message& message);

/// A message as a job payload (JSON), and back. kInvalidArgument for a malformed payload.
std::string MessageToJson(const Message& message);
Result<Message> MessageFromJson(std::string_view json);

/// Sends one message (libcurl). Blocking, up to `timeout`: never on an I/O thread. kUnavailable when
/// the server cannot be reached or refuses it; kInvalidArgument for bad addresses.
Result<void> Send(const SmtpConfig& config, const Message& message);

/// Replaces {NAME} placeholders of a template with their values, HTML-escaped when `html` (bodies;
/// subjects are plain text). Unknown placeholders stay as they are.
std::string Fill(
    std::string_view text, const std::vector<std::pair<std::string, std::string>>& values, bool html = true
);

}  // namespace basalt::mail
