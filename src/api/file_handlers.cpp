// SPDX-License-Identifier: MIT
// The files API (PocketBase's apis/file.go). The record is looked up on the blocking pool; the file's
// bytes are streamed by the connection (http::BodyReader), never read whole into memory. A `thumb`
// of an image is served from `thumbs_<name>/`, made there by the thumbnailer on first request; when
// it cannot be made the original is served, as PocketBase does.
#include "api/file_handlers.hpp"

#include <array>
#include <charconv>
#include <cstdint>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>

#include <boost/json/serialize.hpp>

#include "api/auth_common.hpp"
#include "api/data_handlers.hpp"
#include "collections/store.hpp"
#include "core/text.hpp"
#include "obs/log.hpp"
#include "obs/trace.hpp"
#include "records/files.hpp"
#include "storage/storage.hpp"
#include "thumbs/thumb_spec.hpp"

namespace basalt::api {

namespace {

namespace json = boost::json;
using http::Request;
using http::Response;

// The types PocketBase serves inline; everything else is an attachment, so that an uploaded HTML or
// SVG file never runs in the app's origin.
constexpr std::array<std::string_view, 25> kInlineTypes{
    "image/png",       "image/jpg",      "image/jpeg",  "image/gif",       "image/webp",
    "image/x-icon",    "image/bmp",      "video/webm",  "video/mp4",       "video/3gpp",
    "video/quicktime", "video/x-ms-wmv", "audio/basic", "audio/aiff",      "audio/mpeg",
    "audio/midi",      "audio/mp3",      "audio/wave",  "audio/wav",       "audio/x-wav",
    "audio/x-mpeg",    "audio/x-m4a",    "audio/aac",   "application/pdf", "application/x-pdf"};

// Content types by extension, for files stored without one (and the exceptions PocketBase makes
// whatever the stored type says: SVG, CSS and JavaScript must carry their own type to load).
struct ExtensionType {
    std::string_view ext;
    std::string_view type;
    bool always;
};
constexpr std::array<ExtensionType, 22> kExtensionTypes{{
    {".svg", "image/svg+xml", true},
    {".css", "text/css", true},
    {".js", "text/javascript", true},
    {".mjs", "text/javascript", true},
    {".xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", true},
    {".docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document", true},
    {".pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation", true},
    {".png", "image/png", false},
    {".jpg", "image/jpeg", false},
    {".jpeg", "image/jpeg", false},
    {".gif", "image/gif", false},
    {".webp", "image/webp", false},
    {".ico", "image/x-icon", false},
    {".bmp", "image/bmp", false},
    {".pdf", "application/pdf", false},
    {".mp4", "video/mp4", false},
    {".webm", "video/webm", false},
    {".mp3", "audio/mpeg", false},
    {".wav", "audio/wav", false},
    {".txt", "text/plain; charset=utf-8", false},
    {".html", "text/html; charset=utf-8", false},
    {".json", "application/json", false},
}};

std::string ContentTypeOf(std::string_view filename, const std::string& stored) {
    const auto dot = filename.rfind('.');
    const std::string ext = dot == std::string_view::npos ? std::string() : ToLower(filename.substr(dot));
    for (const auto& e : kExtensionTypes) {
        if (e.ext == ext && (e.always || stored.empty())) {
            return std::string(e.type);
        }
    }
    return stored.empty() ? "application/octet-stream" : stored;
}

bool ServedInline(std::string_view content_type) {
    const std::string_view bare = content_type.substr(0, content_type.find(';'));
    return std::find(kInlineTypes.begin(), kInlineTypes.end(), bare) != kInlineTypes.end();
}

std::string HttpDate(std::chrono::system_clock::time_point t) {
    const std::time_t secs = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    std::array<char, 64> buf{};
    const std::size_t n = std::strftime(buf.data(), buf.size(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    return std::string(buf.data(), n);
}

std::optional<std::time_t> ParseHttpDate(std::string_view text) {
    std::tm tm{};
    const std::string s(text);
    const char* end = strptime(s.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    if (end == nullptr || *end != '\0') {
        return std::nullopt;
    }
    return timegm(&tm);
}

// A strong validator from what changes when a file is replaced: its size and modification time.
std::string ETagOf(const storage::ObjectInfo& info) {
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(info.modified.time_since_epoch()).count();
    char buf[64];
    const int n = std::snprintf(
        buf,
        sizeof(buf),
        "\"%llx-%llx\"",
        static_cast<unsigned long long>(info.size),
        static_cast<unsigned long long>(ns)
    );
    return std::string(buf, static_cast<std::size_t>(n));
}

bool NotModified(const Request& req, const storage::ObjectInfo& info, const std::string& etag) {
    if (const std::string_view inm = req.Header("If-None-Match"); !inm.empty()) {
        return TrimSpace(inm) == "*" || inm.find(etag) != std::string_view::npos;
    }
    if (const std::string_view ims = req.Header("If-Modified-Since"); !ims.empty()) {
        const auto since = ParseHttpDate(ims);
        return since && std::chrono::system_clock::to_time_t(info.modified) <= *since;
    }
    return false;
}

Error NotFound() {
    return MakeError(ErrorCode::kNotFound, "The requested resource wasn't found.");
}

// The names a record holds in `field` (a string, or a list when the field takes several).
bool HoldsFile(const json::object& record, const schema::Field& field, std::string_view filename) {
    const auto* v = record.if_contains(field.name);
    if (v == nullptr) {
        return false;
    }
    if (v->is_string()) {
        return v->as_string() == filename;
    }
    if (v->is_array()) {
        for (const auto& item : v->as_array()) {
            if (item.is_string() && item.as_string() == filename) {
                return true;
            }
        }
    }
    return false;
}

// A byte range of a stored file as a response body: the connection reads it a piece at a time
// (from the page cache on its own thread when it can, else on its disk pool), never whole.
class StoredRange final : public http::BodyReader {
public:
    StoredRange(std::unique_ptr<storage::Reader> reader, std::uint64_t first, std::uint64_t length)
        : reader_(std::move(reader)),
          first_(first),
          length_(length) {}
    std::uint64_t Size() const override { return length_; }
    Result<std::size_t> ReadAt(std::uint64_t offset, std::span<char> out) override {
        return reader_->ReadAt(first_ + offset, Clamp(offset, out));
    }
    std::optional<Result<std::size_t>> ReadAtIfReady(std::uint64_t offset, std::span<char> out) override {
        return reader_->ReadAtIfCached(first_ + offset, Clamp(offset, out));
    }

private:
    std::span<char> Clamp(std::uint64_t offset, std::span<char> out) const {
        return out.first(
            static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), length_ - std::min(offset, length_)))
        );
    }
    std::unique_ptr<storage::Reader> reader_;
    std::uint64_t first_;
    std::uint64_t length_;
};

// What a download serves: the file's key and the field it belongs to.
struct Located {
    std::string key;
    bool is_protected = false;
    std::vector<std::string> thumbs;  // the field's thumb sizes
};

// A `thumb` request's state between the read that finds its thumb missing and the read after the
// thumbnailer made it (or failed to: then the original is served).
struct ThumbPlan {
    std::string size;  // the `thumb` query parameter
    std::string served_name;
    std::string original_key;
    std::string thumb_key;
    thumbs::ThumbSpec spec;
    bool missing = false;
    bool failed = false;
};

// Whether `size` is a thumb PocketBase serves for this field: 100x100, or one the field lists.
bool ThumbAllowed(const std::string& size, const Located& at) {
    return !size.empty() &&
           (size == "100x100" || std::find(at.thumbs.begin(), at.thumbs.end(), size) != at.thumbs.end());
}

// Which file field of a record holds a name, remembered while no record can have changed (the
// collections' data version moves before and after every commit) and the schema snapshot is the
// same: a hot download (an avatar, a thumb on a list page) then reads no row. Bounded: cleared when
// full, like the list totals.
class HolderCache {
public:
    static constexpr int kNotHeld = -1;

    // The index in the collection's fields of the field holding the name, kNotHeld, or nullopt when
    // not known for this version and snapshot.
    std::optional<int> Find(const std::string& key, std::uint64_t version, const collections::Snapshot* snap) const {
        std::lock_guard lock(mu_);
        const auto it = entries_.find(key);
        if (it == entries_.end() || it->second.version != version || it->second.snapshot.get() != snap) {
            return std::nullopt;
        }
        return it->second.field;
    }

    void Store(std::string key, std::uint64_t version, std::shared_ptr<const collections::Snapshot> snap, int field)
        const {
        std::lock_guard lock(mu_);
        if (entries_.size() >= kMaxEntries) {
            entries_.clear();
        }
        entries_.insert_or_assign(std::move(key), Entry{version, std::move(snap), field});
    }

private:
    static constexpr std::size_t kMaxEntries = 4096;
    struct Entry {
        std::uint64_t version;
        std::shared_ptr<const collections::Snapshot> snapshot;  // kept alive: its address is the key
        int field;
    };
    mutable std::mutex mu_;
    mutable std::unordered_map<std::string, Entry> entries_;
};

class FileApi {
public:
    explicit FileApi(const Deps& deps) : d_(deps) {}

    Response Token(Request& req) const {
        const auth::Principal& who = authapi::RequireAuth(req);
        auto token = d_.tokens.IssueFile(who);
        if (!token) {
            ThrowApiError(req, token.error());
        }
        return JsonResponse(json::object{{"token", *token}});
    }

    net::awaitable<Response> Download(Request& req) const {
        const std::string collection(req.Param("collection"));
        const std::string record_id(req.Param("recordId"));
        const std::string filename(req.Param("filename"));
        const std::string token = req.QueryParam("token").value_or("");
        const bool force_attachment = IsTrue(req.QueryParam("download").value_or(""));
        ThumbPlan thumb;
        thumb.size = req.QueryParam("thumb").value_or("");
        thumb.served_name = filename;
        using Served = std::pair<storage::ObjectInfo, std::shared_ptr<http::BodyReader>>;
        // What an opened file answers: its range, or nothing to send (304, 416).
        const auto body = [&](std::unique_ptr<storage::Reader> reader) -> Served {
            const storage::ObjectInfo info = reader->Info();
            const auto range = ParseRange(req.Header("Range"), info.size);
            const std::string etag = ETagOf(info);
            if (NotModified(req, info, etag) || (range && !range->satisfiable)) {
                return Served(info, nullptr);
            }
            const std::uint64_t first = range ? range->first : 0;
            const std::uint64_t length = range ? range->length : info.size;
            return Served(info, std::make_shared<StoredRange>(std::move(reader), first, length));
        };
        std::optional<Result<Located>> known;  // the lookup the I/O thread already made, if any
        if (auto reader = OpenIfCached(collection, record_id, filename, thumb, known)) {
            Served served = body(std::move(reader));
            co_return Answer(req, thumb.served_name, served.first, std::move(served.second), force_attachment);
        }
        if (known && !*known) {
            throw ApiError::NotFound();
        }
        const auto read = [&]() -> Result<Served> {
            BASALT_ASSIGN_OR_RETURN(const Located at, known ? *known : Locate(collection, record_id, filename, token));
            BASALT_ASSIGN_OR_RETURN(auto reader, OpenServed(at, filename, thumb));
            if (thumb.missing) {
                return Served(storage::ObjectInfo{}, nullptr);
            }
            return body(std::move(reader));
        };
        auto served = co_await d_.blocking.Call(read);
        for (int attempt = 0; served && thumb.missing; ++attempt) {
            // Made (or not) while this request waited; a thumb gone again at once gets the original.
            Result<void> made = MakeError(ErrorCode::kNotFound, "the thumb vanished");
            if (attempt == 0) {
                obs::SetCurrentSpan(nullptr);  // this I/O thread serves other requests while it waits
                made = co_await d_.thumbs.Ensure(thumb.original_key, thumb.thumb_key, thumb.spec);
                obs::SetCurrentSpan(req.trace.Valid() ? &req.trace : nullptr);
            }
            if (!made) {
                obs::Warn(
                    "thumb failed, the original is served", {{"key", thumb.thumb_key}, {"error", made.error().message}}
                );
            }
            thumb.missing = false;
            thumb.failed = !made;
            served = co_await d_.blocking.Call(read);
        }
        if (!served) {
            if (served.error().code == ErrorCode::kNotFound || served.error().code == ErrorCode::kInvalidArgument) {
                throw ApiError::NotFound();
            }
            ThrowApiError(req, served.error());
        }
        co_return Answer(req, thumb.served_name, served->first, std::move(served->second), force_attachment);
    }

private:
    static bool IsTrue(std::string_view v) { return v == "1" || v == "true" || v == "t" || v == "TRUE" || v == "True"; }

    // The storage key of `filename` when the record holds it in a file field and, for a protected
    // field, the file token's record passes the collection's viewRule. kNotFound otherwise.
    Result<Located> Locate(
        const std::string& collection,
        const std::string& record_id,
        const std::string& filename,
        const std::string& token
    ) const {
        const auto snap = d_.collections.Current();
        const schema::Collection* c = snap->Find(collection);
        if (c == nullptr || record_id.empty() || !storage::ValidKey(filename)) {
            return NotFound();
        }
        BASALT_ASSIGN_OR_RETURN(const schema::Field* field, HolderOf(*c, record_id, filename));
        if (field->Options().protected_files) {
            BASALT_TRY(CheckFileAccess(*c, record_id, token));
        }
        if (c->type == schema::CollectionType::kView) {
            // A view has no storage of its own: the file is in the folder of the source record.
            BASALT_ASSIGN_OR_RETURN(const std::string folder, records::ViewFileFolder(d_.db, *snap, *c, filename));
            return Located{folder + "/" + filename, field->Options().protected_files, field->Options().thumbs};
        }
        return Located{
            c->id + "/" + record_id + "/" + filename, field->Options().protected_files, field->Options().thumbs};
    }

    // The file field of collection `c` whose value in record `record_id` holds `filename`.
    Result<const schema::Field*> HolderOf(
        const schema::Collection& c, const std::string& record_id, const std::string& filename
    ) const {
        BASALT_ASSIGN_OR_RETURN(const json::object record, d_.records.View(c.id, record_id, Everything(), ""));
        for (const auto& f : c.fields) {
            if (f.type == schema::FieldType::kFile && HoldsFile(record, f, filename)) {
                return &f;
            }
        }
        return NotFound();
    }

    static records::Access Everything() {
        records::Access all;
        all.superuser = true;
        return all;
    }

    // A download opened on the I/O thread, when nothing in it waits: the record of a table (not a
    // view) read by its id, as the records API reads one inline; a field that is not protected; and
    // the file (or the made thumb asked for) with its path and content type in the kernel's caches.
    // nullptr otherwise: the blocking pool serves it (and makes a missing thumb), from `known` when
    // the record was read here (where the file is, or that the record holds no such name).
    std::unique_ptr<storage::Reader> OpenIfCached(
        const std::string& collection,
        const std::string& record_id,
        const std::string& filename,
        ThumbPlan& thumb,
        std::optional<Result<Located>>& known
    ) const {
        const auto snap = d_.collections.Current();
        const schema::Collection* c = snap->Find(collection);
        if (c == nullptr || c->IsView() || record_id.empty() || !storage::ValidKey(filename) ||
            d_.records.ViewMayScan(c->id, Everything(), "")) {
            return nullptr;
        }
        const std::string folder = c->id + "/" + record_id;
        std::string held_key = folder + "/" + filename;
        const std::uint64_t version = d_.collections.DataVersion();  // before the read, as list totals
        std::optional<int> held = holders_.Find(held_key, version, snap.get());
        if (!held) {
            const auto field = HolderOf(*c, record_id, filename);
            if (!field && field.error().code != ErrorCode::kNotFound) {
                return nullptr;
            }
            held = field ? static_cast<int>(*field - c->fields.data()) : HolderCache::kNotHeld;
            holders_.Store(held_key, version, snap, *held);
        }
        if (*held == HolderCache::kNotHeld) {
            known.emplace(NotFound());
            return nullptr;
        }
        const schema::Field& field = c->fields[static_cast<std::size_t>(*held)];
        if (field.Options().protected_files) {
            return nullptr;  // the file token and the viewRule are checked on the pool
        }
        const Located at{std::move(held_key), false, field.Options().thumbs};
        known.emplace(at);
        const auto spec = ThumbAllowed(thumb.size, at) ? thumbs::ParseThumbSpec(thumb.size) : std::nullopt;
        if (!spec) {
            return d_.storage.OpenIfCached(at.key);
        }
        auto reader = d_.storage.OpenIfCached(thumbs::ThumbKey(folder, filename, thumb.size));
        if (reader) {
            thumb.served_name = thumb.size + "_" + filename;
        }
        return reader;
    }

    // Opens what a download serves: the original, or its thumb when `thumb.size` asks for one that
    // this image may have. A thumb not made yet sets `thumb.missing` (and answers no reader). A
    // stored thumb is served without opening the original: thumbs are only made of images, and a
    // replaced file has a new name.
    Result<std::unique_ptr<storage::Reader>> OpenServed(
        const Located& at, const std::string& filename, ThumbPlan& thumb
    ) const {
        const auto spec =
            thumb.failed || !ThumbAllowed(thumb.size, at) ? std::nullopt : thumbs::ParseThumbSpec(thumb.size);
        if (!spec) {
            return d_.storage.Open(at.key);
        }
        const std::string folder = at.key.substr(0, at.key.size() - filename.size() - 1);
        std::string key = thumbs::ThumbKey(folder, filename, thumb.size);
        if (auto served = d_.storage.Open(key); served) {
            thumb.served_name = thumb.size + "_" + filename;
            return served;
        } else if (served.error().code != ErrorCode::kNotFound) {
            return d_.storage.Open(at.key);  // an unusable thumb key (a long name): the original
        }
        BASALT_ASSIGN_OR_RETURN(auto original, d_.storage.Open(at.key));
        if (!thumbs::IsThumbable(original->Info().content_type)) {
            return original;
        }
        thumb.original_key = at.key;
        thumb.thumb_key = std::move(key);
        thumb.spec = *spec;
        thumb.missing = true;
        return std::unique_ptr<storage::Reader>();
    }

    // PocketBase's protected files: the file token's record (or a guest without one) must pass the
    // viewRule with @request.context "protectedFile".
    Result<void> CheckFileAccess(const schema::Collection& c, const std::string& record_id, const std::string& token)
        const {
        records::Access access;
        access.request.context = "protectedFile";
        if (!token.empty()) {
            if (auto who = d_.tokens.AuthenticateFile(token); who) {
                access.superuser = (*who)->superuser;
                access.request.auth = (*who)->auth_json;
            }
        }
        auto seen = d_.records.View(c.id, record_id, access, "");
        if (!seen) {
            return NotFound();
        }
        return Ok();
    }

    static Response Answer(
        const Request& req,
        const std::string& filename,
        const storage::ObjectInfo& info,
        std::shared_ptr<http::BodyReader> body,
        bool force_attachment
    ) {
        Response res;
        const std::string type = ContentTypeOf(filename, info.content_type);
        const std::string etag = ETagOf(info);
        res.SetHeader("Content-Type", type);
        res.SetHeader(
            "Content-Disposition",
            std::string(!force_attachment && ServedInline(type) ? "inline" : "attachment") + "; filename=" + filename
        );
        res.SetHeader(
            "Content-Security-Policy", "default-src 'none'; media-src 'self'; style-src 'unsafe-inline'; sandbox"
        );
        res.SetHeader("Cache-Control", "max-age=2592000, stale-while-revalidate=86400");
        res.SetHeader("Accept-Ranges", "bytes");
        res.SetHeader("ETag", etag);
        res.SetHeader("Last-Modified", HttpDate(info.modified));
        if (NotModified(req, info, etag)) {
            res.status = 304;
            return res;
        }
        const auto range = ParseRange(req.Header("Range"), info.size);
        if (range && !range->satisfiable) {
            res.status = 416;
            res.SetHeader("Content-Range", "bytes */" + std::to_string(info.size));
            return res;
        }
        if (range) {
            res.status = 206;
            res.SetHeader(
                "Content-Range",
                "bytes " + std::to_string(range->first) + "-" + std::to_string(range->first + range->length - 1) + "/" +
                    std::to_string(info.size)
            );
        }
        res.body_reader = std::move(body);
        return res;
    }

    Deps d_;
    HolderCache holders_;
};

std::optional<std::uint64_t> ParseUnsigned(std::string_view s) {
    std::uint64_t v = 0;
    if (s.empty() || s.size() > 19) {
        return std::nullopt;
    }
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) {
        return std::nullopt;
    }
    return v;
}

}  // namespace

std::optional<ByteRange> ParseRange(std::string_view header, std::uint64_t size) {
    header = TrimSpace(header);
    if (!header.starts_with("bytes=") || header.find(',') != std::string_view::npos) {
        return std::nullopt;
    }
    const std::string_view spec = TrimSpace(header.substr(6));
    const auto dash = spec.find('-');
    if (dash == std::string_view::npos) {
        return std::nullopt;
    }
    const std::string_view a = TrimSpace(spec.substr(0, dash));
    const std::string_view b = TrimSpace(spec.substr(dash + 1));
    if (a.empty()) {  // the last N bytes
        const auto n = ParseUnsigned(b);
        if (!n || *n == 0) {
            return n ? std::optional<ByteRange>(ByteRange{0, 0, false}) : std::nullopt;
        }
        const std::uint64_t length = std::min(*n, size);
        return size == 0 ? ByteRange{0, 0, false} : ByteRange{size - length, length, true};
    }
    const auto first = ParseUnsigned(a);
    if (!first) {
        return std::nullopt;
    }
    std::uint64_t last = size == 0 ? 0 : size - 1;
    if (!b.empty()) {
        const auto l = ParseUnsigned(b);
        if (!l || *l < *first) {
            return std::nullopt;
        }
        last = std::min(*l, last);
    }
    if (*first >= size) {
        return ByteRange{0, 0, false};
    }
    return ByteRange{*first, last - *first + 1, true};
}

void RegisterFileRoutes(http::Router& router, const Deps& deps) {
    auto api = std::make_shared<const FileApi>(deps);
    router.Add(http::Method::kPost, "/api/files/token", http::SyncHandler([api](Request& req) {
                   return api->Token(req);
               }));
    router.Add(
        http::Method::kGet, "/api/files/{collection}/{recordId}/{filename}", http::AsyncHandler([api](Request& req) {
            return api->Download(req);
        })
    );
}

}  // namespace basalt::api
