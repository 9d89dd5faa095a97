// SPDX-License-Identifier: MIT
#include "api/multipart.hpp"

#include <cctype>
#include <optional>

#include "core/text.hpp"

namespace basalt::api {

namespace {

Error Bad(const std::string& why) {
    return MakeError(ErrorCode::kInvalidArgument, "malformed multipart body: " + why);
}

// The value of `key=` in a header's parameters (quoted or token), or nullopt.
std::optional<std::string> Param(std::string_view header, std::string_view key) {
    std::size_t i = 0;
    while (i < header.size()) {
        const auto semi = header.find(';', i);
        std::string_view item = TrimSpace(header.substr(i, semi == std::string_view::npos ? semi : semi - i));
        const auto eq = item.find('=');
        if (eq != std::string_view::npos && ToLower(TrimSpace(item.substr(0, eq))) == key) {
            std::string_view v = TrimSpace(item.substr(eq + 1));
            if (v.size() >= 2 && v.front() == '"' && v.back() == '"') {
                std::string out;
                for (std::size_t k = 1; k + 1 < v.size(); ++k) {
                    if (v[k] == '\\' && k + 2 < v.size()) {
                        ++k;
                    }
                    out.push_back(v[k]);
                }
                return out;
            }
            return std::string(v);
        }
        if (semi == std::string_view::npos) {
            break;
        }
        i = semi + 1;
    }
    return std::nullopt;
}

}  // namespace

std::string MultipartBoundary(std::string_view content_type) {
    const auto semi = content_type.find(';');
    if (ToLower(TrimSpace(content_type.substr(0, semi))) != "multipart/form-data" || semi == std::string_view::npos) {
        return {};
    }
    auto b = Param(content_type.substr(semi + 1), "boundary");
    if (!b || b->empty() || b->size() > 200) {
        return {};
    }
    return *b;
}

Result<std::vector<MultipartPart>> ParseMultipart(
    std::string_view body, std::string_view boundary, const MultipartLimits& limits
) {
    if (boundary.empty()) {
        return Bad("no boundary");
    }
    const std::string delimiter = "--" + std::string(boundary);
    std::vector<MultipartPart> parts;
    std::size_t pos = body.find(delimiter);
    if (pos == std::string_view::npos) {
        return Bad("no boundary line");
    }
    pos += delimiter.size();
    for (;;) {
        if (body.substr(pos, 2) == "--") {
            return parts;  // the closing delimiter
        }
        if (body.substr(pos, 2) != "\r\n") {
            return Bad("expected a line break after the boundary");
        }
        pos += 2;
        const auto header_end = body.find("\r\n\r\n", pos);
        if (header_end == std::string_view::npos || header_end - pos > limits.max_part_header_bytes) {
            return Bad("part headers missing or too large");
        }
        MultipartPart part;
        std::string_view headers = body.substr(pos, header_end - pos);
        while (!headers.empty()) {
            const auto eol = headers.find("\r\n");
            const std::string_view line = headers.substr(0, eol);
            headers = eol == std::string_view::npos ? std::string_view{} : headers.substr(eol + 2);
            const auto colon = line.find(':');
            if (colon == std::string_view::npos) {
                return Bad("invalid part header");
            }
            const std::string name = ToLower(TrimSpace(line.substr(0, colon)));
            const std::string_view value = TrimSpace(line.substr(colon + 1));
            if (name == "content-disposition") {
                if (ToLower(value.substr(0, 9)) != "form-data") {
                    return Bad("a part must be form-data");
                }
                part.name = Param(value, "name").value_or("");
                part.filename = Param(value, "filename").value_or("");
            } else if (name == "content-type") {
                part.content_type = std::string(value);
            }
        }
        if (part.name.empty()) {
            return Bad("a part has no name");
        }
        pos = header_end + 4;
        const std::string next = "\r\n" + delimiter;
        const auto end = body.find(next, pos);
        if (end == std::string_view::npos) {
            return Bad("unterminated part");
        }
        part.data = std::string(body.substr(pos, end - pos));
        parts.push_back(std::move(part));
        if (parts.size() > limits.max_parts) {
            return Bad("too many parts");
        }
        pos = end + next.size();
    }
}

}  // namespace basalt::api
