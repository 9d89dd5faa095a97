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

MultipartScanner::MultipartScanner(std::string_view boundary, const MultipartLimits& limits, Events events)
    : delimiter_("--" + std::string(boundary)),
      next_("\r\n" + delimiter_),
      limits_(limits),
      events_(std::move(events)) {}

Result<void> MultipartScanner::Feed(std::string_view piece) {
    if (state_ == State::kDone) {
        return {};  // the epilogue after the closing boundary is ignored
    }
    buf_.append(piece);
    bool progressed = true;
    while (progressed && state_ != State::kDone) {
        progressed = false;
        if (auto r = Step(progressed); !r) {
            return r;
        }
    }
    // Drop what was consumed (once per piece, not per step: a whole body fed at once stays linear).
    buf_.erase(0, pos_);
    buf_at_ += pos_;
    pos_ = 0;
    return {};
}

Result<void> MultipartScanner::Finish() {
    switch (state_) {
        case State::kDone:
            return {};
        case State::kPreamble:
            return Bad("no boundary line");
        case State::kHeaders:
            return Bad("part headers missing or too large");
        case State::kAfterDelimiter:
            return Bad("expected a line break after the boundary");
        case State::kBody:
            return Bad("unterminated part");
    }
    return Bad("unterminated part");
}

// One move of the state machine over buf_[pos_..]; `progressed` when it consumed something and may
// go on, false when it needs more bytes.
Result<void> MultipartScanner::Step(bool& progressed) {
    const std::string_view rest = std::string_view(buf_).substr(pos_);
    switch (state_) {
        case State::kPreamble: {
            const auto at = rest.find(delimiter_);
            if (at == std::string_view::npos) {
                // Keep only what could still start the delimiter.
                if (rest.size() >= delimiter_.size()) {
                    pos_ += rest.size() - (delimiter_.size() - 1);
                }
                return {};
            }
            pos_ += at + delimiter_.size();
            state_ = State::kAfterDelimiter;
            progressed = true;
            return {};
        }
        case State::kAfterDelimiter:
            if (rest.size() < 2) {
                return {};
            }
            if (rest.substr(0, 2) == "--") {
                state_ = State::kDone;
                return {};
            }
            if (rest.substr(0, 2) != "\r\n") {
                return Bad("expected a line break after the boundary");
            }
            pos_ += 2;
            state_ = State::kHeaders;
            progressed = true;
            return {};
        case State::kHeaders: {
            const auto end = rest.find("\r\n\r\n");
            if (end == std::string_view::npos) {
                if (rest.size() > limits_.max_part_header_bytes + 3) {
                    return Bad("part headers missing or too large");
                }
                return {};
            }
            if (end > limits_.max_part_header_bytes) {
                return Bad("part headers missing or too large");
            }
            if (auto r = ReadHeaders(rest.substr(0, end)); !r) {
                return r;
            }
            pos_ += end + 4;
            state_ = State::kBody;
            progressed = true;
            return {};
        }
        case State::kBody: {
            const auto end = rest.find(next_);
            const std::size_t n = end != std::string_view::npos ? end
                                  : rest.size() >= next_.size() ? rest.size() - (next_.size() - 1)
                                                                : 0;
            if (n > 0) {
                if (auto r = events_.data(rest.substr(0, n), buf_at_ + pos_); !r) {
                    return r;
                }
                pos_ += n;
            }
            if (end == std::string_view::npos) {
                return {};
            }
            if (auto r = events_.end(); !r) {
                return r;
            }
            pos_ += next_.size();
            state_ = State::kAfterDelimiter;
            progressed = true;
            return {};
        }
        case State::kDone:
            return {};
    }
    return {};
}

Result<void> MultipartScanner::ReadHeaders(std::string_view headers) {
    MultipartPart part;
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
    if (++parts_ > limits_.max_parts) {
        return Bad("too many parts");
    }
    return events_.begin(std::move(part));
}

Result<std::vector<MultipartPart>> ParseMultipart(
    std::string_view body, std::string_view boundary, const MultipartLimits& limits
) {
    if (boundary.empty()) {
        return Bad("no boundary");
    }
    std::vector<MultipartPart> parts;
    MultipartScanner scanner(
        boundary,
        limits,
        {
            .begin = [&](MultipartPart&& p) -> Result<void> {
                parts.push_back(std::move(p));
                return {};
            },
            .data = [&](std::string_view bytes, std::uint64_t) -> Result<void> {
                parts.back().data.append(bytes);
                return {};
            },
            .end = []() -> Result<void> { return {}; },
        }
    );
    BASALT_TRY(scanner.Feed(body));
    BASALT_TRY(scanner.Finish());
    return parts;
}

Result<std::vector<MultipartPart>> ParseMultipartFile(
    const std::shared_ptr<const SpoolFile>& file, std::string_view boundary, const MultipartLimits& limits
) {
    if (boundary.empty()) {
        return Bad("no boundary");
    }
    std::vector<MultipartPart> parts;
    std::uint64_t text_bytes = 0;
    std::uint64_t start = 0;
    std::uint64_t length = 0;
    MultipartScanner scanner(
        boundary,
        limits,
        {
            .begin = [&](MultipartPart&& p) -> Result<void> {
                parts.push_back(std::move(p));
                start = 0;
                length = 0;
                return {};
            },
            .data = [&](std::string_view bytes, std::uint64_t offset) -> Result<void> {
                MultipartPart& p = parts.back();
                if (!p.filename.empty()) {
                    start = length == 0 ? offset : start;
                    length += bytes.size();
                    return {};
                }
                text_bytes += bytes.size();
                if (text_bytes > limits.max_text_bytes) {
                    return MakeError(ErrorCode::kTooLarge, "the form's text values are too large");
                }
                p.data.append(bytes);
                return {};
            },
            .end = [&]() -> Result<void> {
                MultipartPart& p = parts.back();
                if (!p.filename.empty()) {
                    p.file = ByteSource::InFile(file, start, length);
                }
                return {};
            },
        }
    );
    constexpr std::size_t kChunk = std::size_t{64} * 1024;
    std::string chunk(kChunk, '\0');
    for (std::uint64_t at = 0; at < file->Size();) {
        BASALT_ASSIGN_OR_RETURN(auto n, file->ReadAt(at, std::span<char>(chunk.data(), chunk.size())));
        if (n == 0) {
            break;
        }
        BASALT_TRY(scanner.Feed(std::string_view(chunk.data(), n)));
        at += n;
    }
    BASALT_TRY(scanner.Finish());
    return parts;
}

}  // namespace basalt::api
