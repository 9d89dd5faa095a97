// SPDX-License-Identifier: MIT
#include "storage/s3_protocol.hpp"

#include <algorithm>
#include <cstdint>

#include "core/text.hpp"

namespace basalt::storage::s3 {

namespace {

constexpr int kMaxDepth = 32;

Error Malformed(std::string_view why) {
    return MakeError(ErrorCode::kInvalidArgument, "malformed XML from the S3 service: " + std::string(why));
}

bool IsSpace(char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

bool IsNameEnd(char c) {
    return IsSpace(c) || c == '/' || c == '>' || c == '=';
}

void AppendUtf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
        out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
}

// A character reference's number ("#123" or "#x7B" without the '#'); false when it is not one
// or names no character XML allows.
bool ParseCharRef(std::string_view ref, std::uint32_t& cp) {
    int base = 10;
    if (!ref.empty() && (ref[0] == 'x' || ref[0] == 'X')) {
        base = 16;
        ref.remove_prefix(1);
    }
    if (ref.empty() || ref.size() > 8) {
        return false;
    }
    std::uint32_t v = 0;
    for (const char c : ref) {
        std::uint32_t d = 0;
        if (c >= '0' && c <= '9') {
            d = static_cast<std::uint32_t>(c - '0');
        } else if (base == 16 && c >= 'a' && c <= 'f') {
            d = static_cast<std::uint32_t>(c - 'a' + 10);
        } else if (base == 16 && c >= 'A' && c <= 'F') {
            d = static_cast<std::uint32_t>(c - 'A' + 10);
        } else {
            return false;
        }
        v = v * static_cast<std::uint32_t>(base) + d;
    }
    if (v == 0 || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) {
        return false;
    }
    cp = v;
    return true;
}

// Appends `raw` (text between tags) with its entities decoded.
Result<void> AppendDecoded(std::string& out, std::string_view raw) {
    while (!raw.empty()) {
        const std::size_t amp = raw.find('&');
        out.append(raw.substr(0, amp));
        if (amp == std::string_view::npos) {
            break;
        }
        const std::size_t semi = raw.find(';', amp);
        if (semi == std::string_view::npos || semi - amp > 12) {
            return Malformed("an unterminated entity");
        }
        const std::string_view name = raw.substr(amp + 1, semi - amp - 1);
        std::uint32_t cp = 0;
        if (name == "amp") {
            out.push_back('&');
        } else if (name == "lt") {
            out.push_back('<');
        } else if (name == "gt") {
            out.push_back('>');
        } else if (name == "quot") {
            out.push_back('"');
        } else if (name == "apos") {
            out.push_back('\'');
        } else if (!name.empty() && name[0] == '#' && ParseCharRef(name.substr(1), cp)) {
            AppendUtf8(out, cp);
        } else {
            return Malformed("an unknown entity");
        }
        raw.remove_prefix(semi + 1);
    }
    return Ok();
}

class Parser {
public:
    explicit Parser(std::string_view in) : in_(in) {}

    Result<XmlNode> Document() {
        if (in_.substr(0, 3) == "\xEF\xBB\xBF") {
            pos_ = 3;
        }
        BASALT_TRY(SkipMisc());
        if (!At("<")) {
            return Malformed("no root element");
        }
        XmlNode root;
        BASALT_TRY(Element(root, 0));
        BASALT_TRY(SkipMisc());
        if (pos_ != in_.size()) {
            return Malformed("content after the root element");
        }
        return root;
    }

private:
    bool At(std::string_view s) const { return in_.substr(pos_, s.size()) == s; }

    void SkipSpace() {
        while (pos_ < in_.size() && IsSpace(in_[pos_])) {
            ++pos_;
        }
    }

    // Skips past `end`; false when it never comes.
    bool SkipPast(std::string_view end) {
        const std::size_t at = in_.find(end, pos_);
        if (at == std::string_view::npos) {
            return false;
        }
        pos_ = at + end.size();
        return true;
    }

    // Whitespace, processing instructions and comments between elements.
    Result<void> SkipMisc() {
        for (;;) {
            SkipSpace();
            if (At("<?")) {
                if (!SkipPast("?>")) {
                    return Malformed("an unterminated processing instruction");
                }
            } else if (At("<!--")) {
                if (!SkipPast("-->")) {
                    return Malformed("an unterminated comment");
                }
            } else if (At("<!")) {
                return Malformed("a DOCTYPE or declaration");  // no DTDs: no entity expansion
            } else {
                return Ok();
            }
        }
    }

    std::string_view Name() {
        const std::size_t start = pos_;
        while (pos_ < in_.size() && !IsNameEnd(in_[pos_])) {
            ++pos_;
        }
        return in_.substr(start, pos_ - start);
    }

    static std::string LocalName(std::string_view name) {
        const std::size_t colon = name.find(':');
        return std::string(colon == std::string_view::npos ? name : name.substr(colon + 1));
    }

    // At '<' of a start tag: the element and everything inside it, through its end tag.
    Result<void> Element(XmlNode& node, int depth) {
        if (depth >= kMaxDepth) {
            return Malformed("elements nested too deep");
        }
        ++pos_;  // '<'
        const std::string_view name = Name();
        if (name.empty()) {
            return Malformed("an element without a name");
        }
        node.name = LocalName(name);
        BASALT_ASSIGN_OR_RETURN(const bool self_closing, SkipAttributes());
        if (self_closing) {
            return Ok();
        }
        return Content(node, name, depth);
    }

    // After an element's name: its attributes (name="value" or name='value', skipped) through the
    // end of the start tag. True when the tag closes itself ("/>").
    Result<bool> SkipAttributes() {
        for (;;) {
            SkipSpace();
            if (pos_ >= in_.size()) {
                return Malformed("an unterminated start tag");
            }
            if (At("/>")) {
                pos_ += 2;
                return true;
            }
            if (in_[pos_] == '>') {
                ++pos_;
                return false;
            }
            if (Name().empty()) {
                return Malformed("a bad attribute");
            }
            SkipSpace();
            if (!At("=")) {
                return Malformed("an attribute without a value");
            }
            ++pos_;
            SkipSpace();
            if (pos_ >= in_.size() || (in_[pos_] != '"' && in_[pos_] != '\'')) {
                return Malformed("an unquoted attribute value");
            }
            const char quote = in_[pos_++];
            const std::size_t close = in_.find(quote, pos_);
            if (close == std::string_view::npos) {
                return Malformed("an unterminated attribute value");
            }
            pos_ = close + 1;
        }
    }

    // After a start tag: text, CDATA, comments, processing instructions and child elements, through
    // the end tag of `name`.
    Result<void> Content(XmlNode& node, std::string_view name, int depth) {
        for (;;) {
            const std::size_t lt = in_.find('<', pos_);
            if (lt == std::string_view::npos) {
                return Malformed("an element without its end tag");
            }
            BASALT_TRY(AppendDecoded(node.text, in_.substr(pos_, lt - pos_)));
            pos_ = lt;
            if (At("</")) {
                pos_ += 2;
                const std::string_view end = Name();
                SkipSpace();
                if (end != name || !At(">")) {
                    return Malformed("mismatched end tag");
                }
                ++pos_;
                return Ok();
            }
            if (At("<![CDATA[")) {
                const std::size_t start = pos_ + 9;
                const std::size_t close = in_.find("]]>", start);
                if (close == std::string_view::npos) {
                    return Malformed("an unterminated CDATA section");
                }
                node.text.append(in_.substr(start, close - start));
                pos_ = close + 3;
            } else if (At("<!--")) {
                if (!SkipPast("-->")) {
                    return Malformed("an unterminated comment");
                }
            } else if (At("<?")) {
                if (!SkipPast("?>")) {
                    return Malformed("an unterminated processing instruction");
                }
            } else if (At("<!")) {
                return Malformed("a declaration inside an element");
            } else {
                node.children.emplace_back();
                BASALT_TRY(Element(node.children.back(), depth + 1));
            }
        }
    }

    std::string_view in_;
    std::size_t pos_ = 0;
};

}  // namespace

std::string UriEncode(std::string_view s, bool keep_slash) {
    return PercentEncode(s, keep_slash ? "/" : "");
}

std::string CanonicalQuery(std::vector<std::pair<std::string, std::string>> params) {
    for (auto& [k, v] : params) {
        k = UriEncode(k, false);
        v = UriEncode(v, false);
    }
    std::sort(params.begin(), params.end());
    std::string out;
    for (const auto& [k, v] : params) {
        if (!out.empty()) {
            out.push_back('&');
        }
        out += k;
        out.push_back('=');
        out += v;
    }
    return out;
}

std::string ObjectUrl(const S3Config& config, std::string_view key, std::string_view query) {
    std::string_view endpoint = config.endpoint;
    std::string scheme = "https";
    if (endpoint.starts_with("https://")) {
        endpoint.remove_prefix(8);
    } else if (endpoint.starts_with("http://")) {
        endpoint.remove_prefix(7);
        scheme = "http";
    }
    while (endpoint.ends_with('/')) {
        endpoint.remove_suffix(1);
    }
    std::string url = scheme + "://";
    if (config.force_path_style) {
        url.append(endpoint);
        url += "/" + UriEncode(config.bucket, false);
        if (!key.empty()) {
            url += "/" + UriEncode(key, true);
        }
    } else {
        url += config.bucket + "." + std::string(endpoint) + "/" + UriEncode(key, true);
    }
    if (!query.empty()) {
        url += "?" + std::string(query);
    }
    return url;
}

const XmlNode* XmlNode::Child(std::string_view child) const {
    for (const auto& c : children) {
        if (c.name == child) {
            return &c;
        }
    }
    return nullptr;
}

std::string XmlNode::ChildText(std::string_view child) const {
    const XmlNode* c = Child(child);
    return c == nullptr ? std::string() : c->text;
}

Result<XmlNode> ParseXml(std::string_view text) {
    return Parser(text).Document();
}

Result<ListPage> ParseListPage(std::string_view xml) {
    BASALT_ASSIGN_OR_RETURN(const XmlNode root, ParseXml(xml));
    if (root.name != "ListBucketResult") {
        return Malformed("not a ListBucketResult");
    }
    ListPage page;
    for (const auto& c : root.children) {
        if (c.name == "Contents") {
            const XmlNode* key = c.Child("Key");
            if (key == nullptr) {
                return Malformed("a Contents without a Key");
            }
            page.keys.push_back(key->text);
        } else if (c.name == "CommonPrefixes") {
            for (const auto& p : c.children) {
                if (p.name == "Prefix") {
                    page.prefixes.push_back(p.text);
                }
            }
        } else if (c.name == "IsTruncated") {
            page.truncated = TrimSpace(c.text) == "true";
        } else if (c.name == "NextContinuationToken") {
            page.next_token = std::string(TrimSpace(c.text));
        }
    }
    if (page.truncated && page.next_token.empty()) {
        return Malformed("a truncated listing without a continuation token");
    }
    return page;
}

ErrorInfo ParseErrorInfo(std::string_view xml) {
    auto root = ParseXml(xml);
    if (!root || root->name != "Error") {
        return {};
    }
    return {std::string(TrimSpace(root->ChildText("Code"))), std::string(TrimSpace(root->ChildText("Message")))};
}

Result<std::string> ParseUploadId(std::string_view xml) {
    BASALT_ASSIGN_OR_RETURN(const XmlNode root, ParseXml(xml));
    const std::string id(TrimSpace(root.ChildText("UploadId")));
    if (root.name != "InitiateMultipartUploadResult" || id.empty()) {
        return Malformed("no UploadId");
    }
    return id;
}

std::string CompleteMultipartBody(const std::vector<std::string>& etags) {
    std::string out = "<CompleteMultipartUpload>";
    for (std::size_t i = 0; i < etags.size(); ++i) {
        out += "<Part><PartNumber>" + std::to_string(i + 1) + "</PartNumber><ETag>";
        out += HtmlEscape(etags[i]);
        out += "</ETag></Part>";
    }
    out += "</CompleteMultipartUpload>";
    return out;
}

}  // namespace basalt::storage::s3
