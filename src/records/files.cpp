// SPDX-License-Identifier: MIT
// Uploaded files: PocketBase's stored names and checks, the names a write keeps or drops, and which
// record of a view's sources holds a file the view exposes.
#include "records/files.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <span>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>

#include "core/random.hpp"
#include "core/text.hpp"
#include "query/compiler.hpp"
#include "records/service_internal.hpp"

namespace basalt::records {

namespace json = boost::json;

namespace {

constexpr double kDefaultMaxFileSize = 5.0 * 1024 * 1024;  // PocketBase's DefaultFileFieldMaxSize
constexpr std::string_view kRandomAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789";

bool IsWordChar(char ch) {
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
}

// The last one or two dot-separated parts ("a.tar.gz" → ".tar.gz"), empty without a dot.
std::string_view Extension(std::string_view name) {
    const auto last = name.rfind('.');
    if (last == std::string_view::npos) {
        return {};
    }
    const auto second = name.substr(0, last).rfind('.');
    return name.substr(second == std::string_view::npos ? last : second);
}

// An extension keeping only word characters and . * - + = #, without leading or trailing dots.
std::string CleanExtension(std::string_view ext) {
    std::string kept;
    for (const char ch : ext) {
        if (IsWordChar(ch) || ch == '.' || ch == '*' || ch == '-' || ch == '+' || ch == '=' || ch == '#') {
            kept += ch;
        }
    }
    const auto first = kept.find_first_not_of('.');
    if (first == std::string::npos) {
        return {};
    }
    kept = kept.substr(first, kept.find_last_not_of('.') - first + 1);
    std::string out = "." + kept;
    if (out.size() > 20) {
        std::string tail = out.substr(out.size() - 20);
        const auto f = tail.find_first_not_of('.');
        out = "." + (f == std::string::npos ? std::string() : tail.substr(f));
    }
    return out;
}

// snake_case: word boundaries (a lower-case letter or digit before an upper-case one, anything
// that is not a letter or digit) become single underscores; letters are lower-cased.
std::string SnakeCase(std::string_view s) {
    std::string out;
    bool gap = false;
    char prev = '\0';
    for (const char ch : s) {
        const bool alnum = IsWordChar(ch) && ch != '_';
        if (!alnum) {
            gap = !out.empty();
            prev = ch;
            continue;
        }
        const bool upper = ch >= 'A' && ch <= 'Z';
        if (upper && ((prev >= 'a' && prev <= 'z') || (prev >= '0' && prev <= '9'))) {
            gap = true;
        }
        if (gap && !out.empty()) {
            out += '_';
        }
        gap = false;
        out += upper ? static_cast<char>(ch - 'A' + 'a') : ch;
        prev = ch;
    }
    return out;
}

std::string_view ExtensionOfType(std::string_view type) {
    static constexpr std::array<std::pair<std::string_view, std::string_view>, 14> kExt{{
        {"image/png", ".png"},
        {"image/jpeg", ".jpg"},
        {"image/gif", ".gif"},
        {"image/webp", ".webp"},
        {"application/pdf", ".pdf"},
        {"application/zip", ".zip"},
        {"application/gzip", ".gz"},
        {"video/mp4", ".mp4"},
        {"video/webm", ".webm"},
        {"audio/mpeg", ".mp3"},
        {"audio/wav", ".wav"},
        {"image/svg+xml", ".svg"},
        {"text/html; charset=utf-8", ".html"},
        {"text/plain; charset=utf-8", ".txt"},
    }};
    for (const auto& [t, e] : kExt) {
        if (t == type) {
            return e;
        }
    }
    return {};
}

// Types by extension for containers a signature cannot tell apart (Office files are zips).
std::string_view TypeOfExtension(std::string_view ext) {
    static constexpr std::array<std::pair<std::string_view, std::string_view>, 6> kTypes{{
        {".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
        {".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
        {".pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
        {".odt", "application/vnd.oasis.opendocument.text"},
        {".csv", "text/csv"},
        {".md", "text/markdown"},
    }};
    for (const auto& [e, t] : kTypes) {
        if (e == ext) {
            return t;
        }
    }
    return {};
}

// Whether the sniff window reads as text: valid UTF-8 without control bytes (a sequence cut at the
// window's end counts as valid).
bool ValidUtf8(std::string_view s) {
    std::size_t i = 0;
    while (i < s.size()) {
        const auto c = static_cast<unsigned char>(s[i]);
        if (c < 0x80) {
            if (c < 0x20 && c != '\t' && c != '\n' && c != '\r' && c != '\f') {
                return false;
            }
            ++i;
            continue;
        }
        std::size_t n = 0;
        if ((c & 0xE0) == 0xC0) {
            n = 1;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3;
        } else {
            return false;
        }
        if (i + n >= s.size()) {
            return true;
        }
        for (std::size_t k = 1; k <= n; ++k) {
            if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) {
                return false;
            }
        }
        i += n + 1;
    }
    return true;
}

std::string Bare(std::string_view type) {
    return std::string(type.substr(0, type.find(';')));
}

// How much of a file the type is sniffed from (as PocketBase's detector reads).
constexpr std::size_t kSniffBytes = 3072;

// Streams `bytes` into the storage under `key` (a spooled upload is copied a chunk at a time).
Result<void> Store(storage::Storage& store, const std::string& key, const std::string& type, const ByteSource& bytes) {
    BASALT_ASSIGN_OR_RETURN(auto up, store.Create(key, type));
    if (auto r = bytes.ForEachChunk([&](std::string_view chunk) { return up->Write(chunk); }); !r) {
        return r;
    }
    return up->Commit();
}

FieldError SizeError(const schema::Field& f, const UploadedFile& u, double max) {
    const auto limit = static_cast<long long>(max);
    return FieldError{
        f.name,
        "validation_file_size_limit",
        "Failed to upload " + u.original_name.substr(0, 300) + " - the maximum allowed file size is " +
            std::to_string(limit) + " bytes.",
        {},
        json::serialize(json::object{{"file", u.original_name.substr(0, 300)}, {"maxSize", limit}})};
}

bool TypeAllowed(const schema::Field& f, const std::string& sniffed, std::string_view original) {
    const auto& allowed = f.Options().mime_types;
    if (allowed.empty()) {
        return true;
    }
    const std::string bare = Bare(sniffed);
    const auto dot = original.rfind('.');
    std::string last = dot == std::string_view::npos ? std::string() : std::string(original.substr(dot));
    std::transform(last.begin(), last.end(), last.begin(), [](char ch) {
        return ch >= 'A' && ch <= 'Z' ? static_cast<char>(ch - 'A' + 'a') : ch;
    });
    const std::string_view by_ext = TypeOfExtension(last);
    // A zip that names itself an Office file, text that names itself CSV or Markdown.
    const bool container = bare == "application/zip" || bare == "text/plain";
    for (const auto& t : allowed) {
        if (t == bare || (container && !by_ext.empty() && t == by_ext)) {
            return true;
        }
    }
    return false;
}

void AddNames(json::object& body, const std::string& key, const std::vector<std::string>& names) {
    json::array list;
    if (const auto* v = body.if_contains(key)) {
        if (v->is_array()) {
            for (const auto& item : v->as_array()) {
                if (item.is_string() && !item.as_string().empty()) {
                    list.push_back(item);
                }
            }
        } else if (v->is_string() && !v->as_string().empty()) {
            list.push_back(*v);
        }
    }
    for (const auto& n : names) {
        list.emplace_back(n);
    }
    body[key] = std::move(list);
}

// Whether `name` appears in `sql` as a whole identifier (not inside a longer word).
bool MentionsIdentifier(std::string_view sql, std::string_view name) {
    const auto word = [](char ch) {
        return std::isalnum(static_cast<unsigned char>(ch)) != 0 || ch == '_';
    };
    for (auto at = sql.find(name); at != std::string_view::npos; at = sql.find(name, at + 1)) {
        const bool starts = at == 0 || !word(sql[at - 1]);
        const bool ends = at + name.size() == sql.size() || !word(sql[at + name.size()]);
        if (starts && ends) {
            return true;
        }
    }
    return false;
}

// ViewFileFolder for `view`, reached through `depth` views (1: the one asked about).
Result<std::string> ViewFileFolderAt(
    db::Database& db,
    const collections::Snapshot& snap,
    const schema::Collection& view,
    const std::string& filename,
    int depth
) {
    if (depth > 5) {
        return NotFound();
    }
    const std::string query = ToLower(view.Options().view_query);
    for (const schema::Collection& source : snap.All()) {
        if (source.id == view.id || !MentionsIdentifier(query, ToLower(source.name))) {
            continue;
        }
        if (source.type == schema::CollectionType::kView) {
            if (auto folder = ViewFileFolderAt(db, snap, source, filename, depth + 1)) {
                return folder;
            }
            continue;
        }
        for (const schema::Field& f : source.fields) {
            if (f.type != schema::FieldType::kFile) {
                continue;
            }
            const std::string table = query::QuoteIdent(source.name);
            const std::string column = query::QuoteIdent(f.name);
            const std::string sql = f.IsMultiple()
                                        ? "SELECT id FROM " + table + " WHERE EXISTS (SELECT 1 FROM json_each(" +
                                              column + ") WHERE value = ?) LIMIT 1"
                                        : "SELECT id FROM " + table + " WHERE " + column + " = ? LIMIT 1";
            const db::Value name(filename);
            auto rows = db.Read(sql, std::span<const db::Value>(&name, 1));
            if (rows && !rows->rows.empty()) {
                return source.id + "/" + db::AsString(rows->rows.front().front());
            }
        }
    }
    return NotFound();
}

}  // namespace

std::string SniffContentType(std::string_view b, bool complete) {
    const auto starts = [&](std::string_view sig, std::size_t at = 0) {
        return b.size() >= at + sig.size() && b.substr(at, sig.size()) == sig;
    };
    if (starts("\x89PNG\r\n\x1a\n")) {
        return "image/png";
    }
    if (starts("\xff\xd8\xff")) {
        return "image/jpeg";
    }
    if (starts("GIF87a") || starts("GIF89a")) {
        return "image/gif";
    }
    if (starts("RIFF") && starts("WEBP", 8)) {
        return "image/webp";
    }
    if (starts("RIFF") && starts("WAVE", 8)) {
        return "audio/wav";
    }
    if (starts("%PDF-")) {
        return "application/pdf";
    }
    if (starts(std::string_view("PK\x03\x04", 4))) {
        return "application/zip";
    }
    if (starts("\x1f\x8b")) {
        return "application/gzip";
    }
    if (starts("ftyp", 4)) {
        return "video/mp4";
    }
    if (starts("\x1a\x45\xdf\xa3")) {
        return "video/webm";
    }
    if (starts("ID3") || (b.size() >= 2 && static_cast<unsigned char>(b[0]) == 0xff &&
                          (static_cast<unsigned char>(b[1]) & 0xe0) == 0xe0)) {
        return "audio/mpeg";
    }
    const std::string_view head = b.substr(0, 512);
    if (!ValidUtf8(head)) {
        return "application/octet-stream";
    }
    std::string lower;
    for (const char ch : head.substr(0, 256)) {
        lower += (ch >= 'A' && ch <= 'Z') ? static_cast<char>(ch - 'A' + 'a') : ch;
    }
    const auto first = lower.find_first_not_of(" \t\r\n");
    const std::string_view trimmed =
        first == std::string::npos ? std::string_view() : std::string_view(lower).substr(first);
    if (trimmed.find("<svg") != std::string_view::npos &&
        (trimmed.starts_with("<svg") || trimmed.starts_with("<?xml"))) {
        return "image/svg+xml";
    }
    if (trimmed.starts_with("<!doctype html") || trimmed.starts_with("<html") || trimmed.starts_with("<script") ||
        trimmed.starts_with("<head") || trimmed.starts_with("<body") || trimmed.starts_with("<iframe")) {
        return "text/html; charset=utf-8";
    }
    if (trimmed.starts_with("{") || trimmed.starts_with("[")) {
        // JSON when it parses; a window cut from a larger file only has to parse as far as it goes.
        json::stream_parser parser;
        boost::system::error_code ec;
        parser.write_some(b.data(), b.size(), ec);
        if (!ec && complete) {
            parser.finish(ec);
        }
        if (!ec) {
            return "application/json";
        }
    }
    return "text/plain; charset=utf-8";
}

std::string StoredFileName(std::string_view original, std::string_view bytes) {
    if (original.size() > 300) {
        original = original.substr(original.size() - 300);
    }
    const std::string_view ext = Extension(original);
    std::string clean_ext = CleanExtension(ext);
    // ".attrs" names the storage's side files: such an upload keeps only its sniffed extension.
    if (clean_ext.empty() || clean_ext.ends_with(".attrs")) {
        clean_ext = std::string(ExtensionOfType(SniffContentType(bytes)));
    }
    std::string_view stem = original.substr(0, original.size() - ext.size());
    while (!stem.empty() && stem.front() == '.') {
        stem.remove_prefix(1);
    }
    while (!stem.empty() && stem.back() == '.') {
        stem.remove_suffix(1);
    }
    std::string name = SnakeCase(stem);
    if (name.size() < 3) {
        name += SecureRandomString(10, kRandomAlphabet);
    } else if (name.size() > 100) {
        name.resize(100);
    }
    return name + "_" + SecureRandomString(10, kRandomAlphabet) + clean_ext;
}

Result<StagedFiles> StageUploads(
    const schema::Collection& c,
    const std::string& record_id,
    json::object& body,
    const std::vector<UploadedFile>& files,
    storage::Storage& store
) {
    StagedFiles staged;
    std::vector<FieldError> errors;
    std::vector<std::pair<std::string, std::vector<std::string>>> by_key;
    for (const auto& u : files) {
        std::string name = u.field;
        if (name.ends_with('+')) {
            name.pop_back();
        } else if (name.starts_with('+')) {
            name.erase(0, 1);
        }
        const schema::Field* f = c.FindField(name);
        if (f == nullptr || f->type != schema::FieldType::kFile) {
            continue;  // as PocketBase: files under other names are not stored
        }
        const double max = f->Options().max_size > 0 ? f->Options().max_size : kDefaultMaxFileSize;
        if (static_cast<double>(u.bytes.Size()) > max) {
            errors.push_back(SizeError(*f, u, max));
            continue;
        }
        auto head = u.bytes.Prefix(kSniffBytes);
        if (!head) {
            DiscardStaged(store, staged);
            return head.error();
        }
        const std::string type = SniffContentType(*head, u.bytes.Size() <= kSniffBytes);
        if (!TypeAllowed(*f, type, u.original_name)) {
            errors.push_back(
                {f->name,
                 "validation_invalid_mime_type",
                 "Failed to upload \"" + u.original_name.substr(0, 300) + "\" due to unsupported file type."}
            );
            continue;
        }
        if (!errors.empty()) {
            continue;  // nothing more is stored once one failed
        }
        const std::string stored = StoredFileName(u.original_name, *head);
        const std::string key = c.id + "/" + record_id + "/" + stored;
        if (auto written = Store(store, key, type, u.bytes); !written) {
            DiscardStaged(store, staged);
            return written.error();
        }
        staged.names.push_back(stored);
        staged.keys.push_back(key);
        auto it = std::find_if(by_key.begin(), by_key.end(), [&](const auto& p) { return p.first == u.field; });
        if (it == by_key.end()) {
            by_key.emplace_back(u.field, std::vector<std::string>{stored});
        } else {
            it->second.push_back(stored);
        }
    }
    if (!errors.empty()) {
        DiscardStaged(store, staged);
        return ValidationError("Failed to load the submitted data due to invalid formatting.", std::move(errors));
    }
    for (const auto& [key, names] : by_key) {
        AddNames(body, key, names);
    }
    return staged;
}

void DiscardStaged(storage::Storage& store, const StagedFiles& staged) {
    for (const auto& key : staged.keys) {
        (void)store.Delete(key);
    }
}

std::vector<std::string> FileNamesOf(const schema::Field& f, const db::Value& column) {
    std::vector<std::string> out;
    const auto* text = std::get_if<std::string>(&column);
    if (text == nullptr || text->empty()) {
        return out;
    }
    if (!f.IsMultiple()) {
        out.push_back(*text);
        return out;
    }
    boost::system::error_code ec;
    const json::value v = json::parse(*text, ec);
    if (!ec && v.is_array()) {
        for (const auto& item : v.as_array()) {
            if (item.is_string()) {
                out.emplace_back(item.as_string());
            }
        }
    }
    return out;
}

std::vector<std::string> FileNamesIn(const json::object& record, const schema::Field& f) {
    std::vector<std::string> out;
    const auto* v = record.if_contains(f.name);
    if (v == nullptr) {
        return out;
    }
    if (v->is_string() && !v->as_string().empty()) {
        out.emplace_back(v->as_string());
    } else if (v->is_array()) {
        for (const auto& item : v->as_array()) {
            if (item.is_string() && !item.as_string().empty()) {
                out.emplace_back(item.as_string());
            }
        }
    }
    return out;
}

Result<std::string> ViewFileFolder(
    db::Database& db, const collections::Snapshot& snap, const schema::Collection& view, const std::string& filename
) {
    return ViewFileFolderAt(db, snap, view, filename, 1);
}

void CheckFileNames(
    const std::vector<std::pair<const schema::Field*, db::Value>>& values,
    const json::object* previous,
    const std::vector<std::string>& uploaded,
    std::vector<FieldError>& errors,
    std::vector<std::string>& dropped
) {
    for (const auto& [f, value] : values) {
        if (f->type != schema::FieldType::kFile) {
            continue;
        }
        const std::vector<std::string> next = FileNamesOf(*f, value);
        const std::vector<std::string> before =
            previous != nullptr ? FileNamesIn(*previous, *f) : std::vector<std::string>{};
        std::vector<std::string> invalid;
        for (const auto& n : next) {
            const bool kept = std::find(before.begin(), before.end(), n) != before.end();
            const bool fresh = std::find(uploaded.begin(), uploaded.end(), n) != uploaded.end();
            if (!kept && !fresh) {
                invalid.push_back(n.substr(0, 250));
            }
        }
        if (!invalid.empty()) {
            std::string list;
            json::array params;
            for (const auto& n : invalid) {
                list += (list.empty() ? "" : " ") + n;
                params.emplace_back(n);
            }
            errors.push_back(
                {f->name,
                 "validation_invalid_file",
                 "Invalid new files: [" + list + "].",
                 {},
                 json::serialize(json::object{{"invalidFiles", std::move(params)}})}
            );
        }
        for (const auto& n : before) {
            if (std::find(next.begin(), next.end(), n) == next.end()) {
                dropped.push_back(n);
            }
        }
    }
}

}  // namespace basalt::records
