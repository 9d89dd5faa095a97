// SPDX-License-Identifier: MIT
#include "records/fields_picker.hpp"

#include <charconv>
#include <map>
#include <optional>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace basalt::records {

namespace {

namespace json = boost::json;

struct Excerpt {
    std::size_t max = 0;
    bool ellipsis = false;
};

struct Node {
    bool all = false;                // '*' at this level
    std::optional<Excerpt> excerpt;  // on a leaf
    std::map<std::string, Node, std::less<>> children;
};

constexpr std::size_t kMaxFieldsLength = 2000;

Result<Node> ParseFields(std::string_view text) {
    if (text.size() > kMaxFieldsLength) {
        return MakeError(ErrorCode::kInvalidArgument, "the fields list is too long", "fields");
    }
    Node root;
    std::size_t i = 0;
    while (i <= text.size()) {
        // One item runs to the next comma outside parentheses.
        std::size_t end = i;
        int depth = 0;
        while (end < text.size() && (text[end] != ',' || depth > 0)) {
            depth += text[end] == '(' ? 1 : text[end] == ')' ? -1 : 0;
            ++end;
        }
        std::string_view item = text.substr(i, end - i);
        while (!item.empty() && item.front() == ' ') {
            item.remove_prefix(1);
        }
        while (!item.empty() && item.back() == ' ') {
            item.remove_suffix(1);
        }
        if (!item.empty()) {
            std::optional<Excerpt> excerpt;
            if (const auto colon = item.find(":excerpt("); colon != std::string_view::npos) {
                std::string_view args = item.substr(colon + 9);
                if (args.empty() || args.back() != ')') {
                    return MakeError(ErrorCode::kInvalidArgument, "invalid :excerpt modifier", "fields");
                }
                args.remove_suffix(1);
                Excerpt e;
                const auto comma = args.find(',');
                std::string_view len = args.substr(0, comma);
                auto [p, ec] = std::from_chars(len.data(), len.data() + len.size(), e.max);
                if (ec != std::errc() || p != len.data() + len.size() || e.max == 0 || e.max > 100000) {
                    return MakeError(ErrorCode::kInvalidArgument, "invalid :excerpt length", "fields");
                }
                if (comma != std::string_view::npos) {
                    std::string_view flag = args.substr(comma + 1);
                    while (!flag.empty() && flag.front() == ' ') {
                        flag.remove_prefix(1);
                    }
                    e.ellipsis = flag == "true" || flag == "1" || flag == "t";
                }
                excerpt = e;
                item = item.substr(0, colon);
            }
            Node* node = &root;
            std::size_t start = 0;
            for (;;) {
                const auto dot = item.find('.', start);
                const std::string_view key = item.substr(start, dot == std::string_view::npos ? dot : dot - start);
                if (key.empty()) {
                    return MakeError(ErrorCode::kInvalidArgument, "invalid fields list", "fields");
                }
                if (key == "*") {
                    node->all = true;
                    if (dot != std::string_view::npos) {
                        return MakeError(ErrorCode::kInvalidArgument, "'*' must end a path", "fields");
                    }
                    break;
                }
                node = &node->children[std::string(key)];
                if (dot == std::string_view::npos) {
                    if (excerpt) {
                        node->excerpt = excerpt;
                    }
                    break;
                }
                start = dot + 1;
            }
        }
        if (end >= text.size()) {
            break;
        }
        i = end + 1;
    }
    return root;
}

// Text without HTML tags, whitespace collapsed, cut to `max` characters (UTF-8 aware).
std::string MakeExcerpt(std::string_view html, const Excerpt& e) {
    std::string text;
    bool in_tag = false;
    bool space = false;
    for (char c : html) {
        if (c == '<') {
            in_tag = true;
            continue;
        }
        if (c == '>' && in_tag) {
            in_tag = false;
            space = true;
            continue;
        }
        if (in_tag) {
            continue;
        }
        if (c == ' ' || c == '\n' || c == '\t' || c == '\r') {
            space = true;
            continue;
        }
        if (space && !text.empty()) {
            text.push_back(' ');
        }
        space = false;
        text.push_back(c);
    }
    std::size_t chars = 0;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if ((static_cast<unsigned char>(text[i]) & 0xC0U) != 0x80U) {
            if (chars == e.max) {
                text.resize(i);
                if (e.ellipsis) {
                    text += "...";
                }
                return text;
            }
            ++chars;
        }
    }
    return text;
}

json::value Pick(const json::value& v, const Node& node) {
    if (v.is_array()) {
        json::array out;
        for (const auto& item : v.as_array()) {
            out.push_back(Pick(item, node));
        }
        return out;
    }
    if (!v.is_object()) {
        return v;
    }
    json::object out;
    for (const auto& [key, value] : v.as_object()) {
        auto it = node.children.find(std::string_view(key));
        if (it == node.children.end()) {
            if (node.all) {
                out[key] = value;
            }
            continue;
        }
        const Node& child = it->second;
        if (child.excerpt && value.is_string()) {
            out[key] = MakeExcerpt(value.as_string(), *child.excerpt);
        } else if (child.children.empty() && !child.all) {
            out[key] = value;
        } else {
            out[key] = Pick(value, child);
        }
    }
    return out;
}

}  // namespace

Result<json::value> PickFields(const json::value& value, std::string_view fields) {
    BASALT_ASSIGN_OR_RETURN(auto node, ParseFields(fields));
    return Pick(value, node);
}

}  // namespace basalt::records
