// SPDX-License-Identifier: MIT
#include "mail/mail.hpp"

#include <cstring>
#include <mutex>

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <curl/curl.h>

#include "core/base64.hpp"
#include "core/text.hpp"

namespace basalt::mail {

namespace {

std::string OneLine(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        if (c != '\r' && c != '\n') {
            out.push_back(c);
        }
    }
    return out;
}

bool Ascii(std::string_view s) {
    for (char c : s) {
        if (static_cast<unsigned char>(c) >= 0x80) {
            return false;
        }
    }
    return true;
}

// A header value as-is when ASCII, else one RFC 2047 base64 word.
std::string Word(std::string_view s) {
    std::string line = OneLine(s);
    if (Ascii(line)) {
        return line;
    }
    return "=?UTF-8?B?" + Base64Encode(line) + "?=";
}

std::string Mailbox(std::string_view name, std::string_view address) {
    const std::string addr = OneLine(address);
    if (name.empty()) {
        return "<" + addr + ">";
    }
    std::string n = OneLine(name);
    if (Ascii(n)) {
        std::string quoted = "\"";
        for (char c : n) {
            if (c == '"' || c == '\\') {
                quoted.push_back('\\');
            }
            quoted.push_back(c);
        }
        return quoted + "\" <" + addr + ">";
    }
    return Word(n) + " <" + addr + ">";
}

struct Upload {
    std::string data;
    std::size_t offset = 0;
};

std::size_t ReadPayload(char* buffer, std::size_t size, std::size_t n, void* user) {
    auto* up = static_cast<Upload*>(user);
    const std::size_t room = size * n;
    const std::size_t left = up->data.size() - up->offset;
    const std::size_t take = std::min(room, left);
    std::memcpy(buffer, up->data.data() + up->offset, take);
    up->offset += take;
    return take;
}

void GlobalInit() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

std::string Render(const Message& m, std::string_view message_id, std::string_view date) {
    std::string out;
    out += "From: " + Mailbox(m.from_name, m.from_address) + "\r\n";
    out += "To: <" + OneLine(m.to) + ">\r\n";
    out += "Subject: " + Word(m.subject) + "\r\n";
    out += "Date: " + OneLine(date) + "\r\n";
    out += "Message-ID: <" + OneLine(message_id) + ">\r\n";
    out += "MIME-Version: 1.0\r\n";
    out += "Content-Type: text/html; charset=UTF-8\r\n";
    out += "Content-Transfer-Encoding: base64\r\n\r\n";
    const std::string body = Base64Encode(m.html);
    for (std::size_t i = 0; i < body.size(); i += 76) {
        out += body.substr(i, 76);
        out += "\r\n";
    }
    return out;
}

Result<void> Send(const SmtpConfig& config, const Message& message) {
    if (!IsEmail(message.to) || !IsEmail(message.from_address)) {
        return MakeError(ErrorCode::kInvalidArgument, "invalid sender or recipient address");
    }
    GlobalInit();
    CURL* curl = curl_easy_init();
    if (curl == nullptr) {
        return MakeError(ErrorCode::kInternal, "cannot start an SMTP client");
    }
    const std::string url = std::string(config.tls ? "smtps://" : "smtp://") + config.host + ":" +
                            std::to_string(config.port) + "/" +
                            (config.local_name.empty() ? "localhost" : config.local_name);
    char date[64];
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    const std::string domain = message.from_address.substr(message.from_address.find('@') + 1);
    Upload up{Render(
        message, std::to_string(now) + "." + std::to_string(reinterpret_cast<std::uintptr_t>(&up)) + "@" + domain, date
    )};
    const std::string from = "<" + message.from_address + ">";
    const std::string to = "<" + message.to + ">";
    curl_slist* rcpt = curl_slist_append(nullptr, to.c_str());
    curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    curl_easy_setopt(
        curl, CURLOPT_USE_SSL, config.tls ? static_cast<long>(CURLUSESSL_ALL) : static_cast<long>(CURLUSESSL_TRY)
    );
    if (!config.username.empty()) {
        curl_easy_setopt(curl, CURLOPT_USERNAME, config.username.c_str());
        curl_easy_setopt(curl, CURLOPT_PASSWORD, config.password.c_str());
    }
    curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from.c_str());
    curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, ReadPayload);
    curl_easy_setopt(curl, CURLOPT_READDATA, &up);
    curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, static_cast<long>(config.timeout.count()));
    curl_easy_setopt(
        curl, CURLOPT_CONNECTTIMEOUT, static_cast<long>(std::min<std::int64_t>(config.timeout.count(), 10))
    );
    const CURLcode rc = curl_easy_perform(curl);
    curl_slist_free_all(rcpt);
    curl_easy_cleanup(curl);
    if (rc != CURLE_OK) {
        return MakeError(ErrorCode::kUnavailable, std::string("SMTP: ") + curl_easy_strerror(rc));
    }
    return Ok();
}

std::string Fill(std::string_view text, const std::vector<std::pair<std::string, std::string>>& values, bool html) {
    std::string out;
    out.reserve(text.size() + 64);
    std::size_t i = 0;
    while (i < text.size()) {
        if (text[i] == '{') {
            const auto end = text.find('}', i + 1);
            if (end != std::string_view::npos) {
                const std::string_view name = text.substr(i + 1, end - i - 1);
                bool replaced = false;
                for (const auto& [k, v] : values) {
                    if (k == name) {
                        out += html ? HtmlEscape(v) : v;
                        replaced = true;
                        break;
                    }
                }
                if (replaced) {
                    i = end + 1;
                    continue;
                }
            }
        }
        out.push_back(text[i++]);
    }
    return out;
}

namespace {

// The SMTP connection the settings' mail section describes.
SmtpConfig SmtpConfigFrom(const settings::MailSettings& m) {
    SmtpConfig config;
    config.host = m.host;
    config.port = m.port;
    config.username = m.username;
    config.password = m.password;
    config.tls = m.tls;
    config.local_name = m.local_name;
    return config;
}

}  // namespace

Result<void> SendWithSettings(const settings::MailSettings& m, const Message& message) {
    if (!m.enabled) {
        return MakeError(ErrorCode::kUnavailable, "SMTP is disabled in the settings");
    }
    return Send(SmtpConfigFrom(m), message);
}

std::string MessageToJson(const Message& message) {
    boost::json::object o;
    o["fromName"] = message.from_name;
    o["fromAddress"] = message.from_address;
    o["to"] = message.to;
    o["subject"] = message.subject;
    o["html"] = message.html;
    return boost::json::serialize(o);
}

Result<Message> MessageFromJson(std::string_view text) {
    boost::system::error_code ec;
    boost::json::value v = boost::json::parse(text, ec);
    if (ec || !v.is_object()) {
        return MakeError(ErrorCode::kInvalidArgument, "a mail job's payload is not a message");
    }
    const auto& o = v.as_object();
    auto str = [&](const char* name) {
        const auto* x = o.if_contains(name);
        return x != nullptr && x->is_string() ? std::string(x->as_string()) : std::string();
    };
    Message m;
    m.from_name = str("fromName");
    m.from_address = str("fromAddress");
    m.to = str("to");
    m.subject = str("subject");
    m.html = str("html");
    if (m.to.empty()) {
        return MakeError(ErrorCode::kInvalidArgument, "a mail job without a recipient");
    }
    return m;
}

}  // namespace basalt::mail
