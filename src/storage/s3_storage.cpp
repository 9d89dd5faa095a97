// SPDX-License-Identifier: MIT
// An S3-compatible bucket through libcurl. Every request is signed by libcurl (CURLOPT_AWS_SIGV4):
// no signing code of our own. libcurl 7.88 signs the path and the query exactly as they are in the
// URL, so both are built in SigV4's canonical form (s3_protocol: UriEncode, CanonicalQuery), and
// every header we add is signed with them. The payload is sent as UNSIGNED-PAYLOAD (as PocketBase
// does; TLS protects it on https endpoints), so a part is never hashed nor copied.
#include <algorithm>
#include <cstring>
#include <mutex>

#include <curl/curl.h>

#include "core/text.hpp"
#include "storage/errors.hpp"
#include "storage/s3_protocol.hpp"
#include "storage/storage.hpp"

namespace basalt::storage {

namespace {

constexpr std::size_t kMaxAnswer = std::size_t{4} << 20;  // an XML answer (a listing page is ~300 KB)
constexpr std::size_t kMaxIdleHandles = 16;
constexpr long kLowSpeedSeconds = 30;  // a transfer that moves nothing for this long is dropped

void GlobalInit() {
    static std::once_flag once;
    std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

// Easy handles kept between requests: each keeps its connections (and TLS sessions) alive, so
// consecutive requests to the bucket skip the handshakes.
class HandlePool {
public:
    HandlePool() = default;
    HandlePool(const HandlePool&) = delete;
    HandlePool& operator=(const HandlePool&) = delete;
    ~HandlePool() {
        for (CURL* h : idle_) {
            curl_easy_cleanup(h);
        }
    }

    CURL* Take() {
        {
            std::lock_guard lock(mu_);
            if (!idle_.empty()) {
                CURL* h = idle_.back();
                idle_.pop_back();
                curl_easy_reset(h);
                return h;
            }
        }
        return curl_easy_init();
    }

    void Give(CURL* h) {
        std::unique_lock lock(mu_);
        if (idle_.size() < kMaxIdleHandles) {
            idle_.push_back(h);
            return;
        }
        lock.unlock();
        curl_easy_cleanup(h);
    }

private:
    std::mutex mu_;
    std::vector<CURL*> idle_;
};

// What the service answered.
struct Answer {
    long status = 0;
    std::string body;  // XML answers and errors (bounded)
    std::string etag;
    std::string content_type;
    std::uint64_t content_length = 0;
    std::int64_t modified = -1;  // Last-Modified, seconds since the epoch
    std::size_t filled = 0;      // bytes written into Request::into
};

struct Request {
    const char* method = "GET";  // GET, HEAD, PUT, POST, DELETE
    std::string url;
    std::vector<std::string> headers;  // "Name: value"; all of them are signed
    std::string_view body;             // PUT and POST
    std::string range;                 // "first-last" (GET)
    std::span<char> into;              // a GET's body goes here
    std::uint64_t skip = 0;            // bytes to drop first when the answer is the whole file (200)
};

struct Transfer {
    Answer answer;
    const Request* request = nullptr;
    std::uint64_t to_skip = 0;
    bool overflow = false;
    bool full = false;  // `into` is full: the rest of the body is not wanted
};

bool Success(long status) {
    return status >= 200 && status < 300;
}

std::size_t OnHeader(char* data, std::size_t size, std::size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const std::size_t bytes = size * n;
    const std::string_view line = TrimSpace(std::string_view(data, bytes));
    if (line.starts_with("HTTP/")) {
        // A new response (after a 100 Continue, say): forget the previous one's headers.
        t->answer = Answer{};
        const std::size_t sp = line.find(' ');
        if (sp != std::string_view::npos) {
            long status = 0;
            for (std::size_t i = sp + 1; i < line.size() && line[i] >= '0' && line[i] <= '9'; ++i) {
                status = status * 10 + (line[i] - '0');
            }
            t->answer.status = status;
        }
        // Only a whole file (200, a Range ignored) needs skipping to the range asked for.
        t->to_skip = t->answer.status == 200 ? t->request->skip : 0;
        return bytes;
    }
    const std::size_t colon = line.find(':');
    if (colon == std::string_view::npos) {
        return bytes;
    }
    const std::string name = ToLower(TrimSpace(line.substr(0, colon)));
    const std::string_view value = TrimSpace(line.substr(colon + 1));
    if (name == "etag") {
        t->answer.etag = std::string(value);
    } else if (name == "content-type") {
        t->answer.content_type = std::string(value);
    } else if (name == "content-length") {
        std::uint64_t v = 0;
        for (const char c : value) {
            if (c < '0' || c > '9') {
                break;
            }
            v = v * 10 + static_cast<std::uint64_t>(c - '0');
        }
        t->answer.content_length = v;
    }
    return bytes;
}

std::size_t OnBody(char* data, std::size_t size, std::size_t n, void* user) {
    auto* t = static_cast<Transfer*>(user);
    const std::size_t bytes = size * n;
    const std::span<char> into = t->request->into;
    if (!into.empty() && Success(t->answer.status)) {
        std::string_view rest(data, bytes);
        const auto skipped = static_cast<std::size_t>(std::min<std::uint64_t>(t->to_skip, rest.size()));
        rest.remove_prefix(skipped);
        t->to_skip -= skipped;
        const std::size_t take = std::min(rest.size(), into.size() - t->answer.filled);
        std::memcpy(into.data() + t->answer.filled, rest.data(), take);
        t->answer.filled += take;
        if (t->answer.filled == into.size() && take < rest.size()) {
            t->full = true;  // a server that ignored the Range: enough of it
            return 0;
        }
        return bytes;
    }
    if (t->answer.body.size() + bytes > kMaxAnswer) {
        t->overflow = true;
        return 0;
    }
    t->answer.body.append(data, bytes);
    return bytes;
}

class S3Storage;

class S3Upload final : public Upload {
public:
    S3Upload(S3Storage& store, std::string key, std::string content_type)
        : store_(store),
          key_(std::move(key)),
          content_type_(std::move(content_type)) {}
    ~S3Upload() override;
    S3Upload(const S3Upload&) = delete;
    S3Upload& operator=(const S3Upload&) = delete;

    Result<void> Write(std::string_view bytes) override;
    std::uint64_t Size() const override { return size_; }
    Result<void> Commit() override;

private:
    Result<void> SendPart();

    S3Storage& store_;
    std::string key_;
    std::string content_type_;
    std::string part_;       // at most part_size bytes not sent yet
    std::string upload_id_;  // set once the upload is a multipart one
    std::vector<std::string> etags_;
    std::uint64_t size_ = 0;
    bool done_ = false;
    bool failed_ = false;
};

class S3Reader final : public Reader {
public:
    S3Reader(S3Storage& store, std::string key, ObjectInfo info, std::string etag)
        : store_(store),
          key_(std::move(key)),
          info_(std::move(info)),
          etag_(std::move(etag)) {}

    const ObjectInfo& Info() const override { return info_; }
    Result<std::size_t> ReadAt(std::uint64_t offset, std::span<char> out) override;
    std::optional<Result<std::size_t>> ReadAtIfCached(std::uint64_t offset, std::span<char> out) override;

private:
    // Copies what the read-ahead window holds at `offset`; 0 when it holds none of it. Under mu_.
    std::size_t FromWindow(std::uint64_t offset, std::span<char> out) const;

    S3Storage& store_;
    std::string key_;
    ObjectInfo info_;
    std::string etag_;
    std::mutex mu_;
    std::string window_;  // the bytes at window_at_ read last
    std::uint64_t window_at_ = 0;
};

class S3Storage final : public Storage {
public:
    explicit S3Storage(S3Config config) : config_(std::move(config)) { sigv4_ = "aws:amz:" + config_.region + ":s3"; }

    const S3Config& Config() const { return config_; }

    std::string Url(std::string_view key, std::vector<std::pair<std::string, std::string>> query = {}) const {
        return s3::ObjectUrl(config_, key, query.empty() ? std::string() : s3::CanonicalQuery(std::move(query)));
    }

    // Performs one signed request. kUnavailable when the service cannot be reached or answers more
    // than kMaxAnswer; any HTTP status is returned to the caller (Failure turns it into an error).
    Result<Answer> Perform(const Request& r) {
        GlobalInit();
        CURL* h = pool_.Take();
        if (h == nullptr) {
            return MakeError(ErrorCode::kInternal, "cannot start an HTTP client");
        }
        Transfer t;
        t.request = &r;
        curl_slist* headers = curl_slist_append(nullptr, "x-amz-content-sha256: UNSIGNED-PAYLOAD");
        for (const auto& line : r.headers) {
            headers = curl_slist_append(headers, line.c_str());
        }
        curl_easy_setopt(h, CURLOPT_URL, r.url.c_str());
        curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, static_cast<long>(config_.connect_timeout.count()));
        curl_easy_setopt(h, CURLOPT_TIMEOUT, static_cast<long>(config_.request_timeout.count()));
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, kLowSpeedSeconds);
        curl_easy_setopt(h, CURLOPT_USERAGENT, "basalt");
        curl_easy_setopt(h, CURLOPT_USERNAME, config_.access_key.c_str());
        curl_easy_setopt(h, CURLOPT_PASSWORD, config_.secret.c_str());
        curl_easy_setopt(h, CURLOPT_AWS_SIGV4, sigv4_.c_str());
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
        curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, OnHeader);
        curl_easy_setopt(h, CURLOPT_HEADERDATA, &t);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, OnBody);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, &t);
        curl_easy_setopt(h, CURLOPT_FILETIME, 1L);
        const std::string_view method = r.method;
        if (method == "HEAD") {
            curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
        } else if (method == "GET") {
            curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
            if (!r.range.empty()) {
                curl_easy_setopt(h, CURLOPT_RANGE, r.range.c_str());
            }
        } else if (method == "PUT" || method == "POST") {
            // The body straight from the caller's buffer (no copy), sent with the method asked for.
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(r.body.size()));
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, r.body.data());
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r.method);
        } else {
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, r.method);
        }
        const CURLcode rc = curl_easy_perform(h);
        curl_off_t filetime = -1;
        if (curl_easy_getinfo(h, CURLINFO_FILETIME_T, &filetime) == CURLE_OK) {
            t.answer.modified = static_cast<std::int64_t>(filetime);
        }
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, nullptr);
        curl_slist_free_all(headers);
        pool_.Give(h);
        if (t.overflow) {
            return MakeError(ErrorCode::kUnavailable, "S3: the answer is too large");
        }
        if (rc != CURLE_OK && !(rc == CURLE_WRITE_ERROR && t.full)) {
            return MakeError(ErrorCode::kUnavailable, std::string("S3: ") + curl_easy_strerror(rc));
        }
        return std::move(t.answer);
    }

    // The error of an answer that is not a success: 404 is kNotFound; the rest kUnavailable with
    // the service's code and message (scrubbed of the secret, should a service ever echo it).
    Error Failure(std::string_view what, const Answer& a) const {
        if (a.status == 404) {
            return Missing();
        }
        const s3::ErrorInfo info = s3::ParseErrorInfo(a.body);
        std::string message = "S3 " + std::string(what) + " failed: HTTP " + std::to_string(a.status);
        if (!info.code.empty()) {
            message += " " + info.code;
        }
        if (!info.message.empty()) {
            message += ": " + info.message;
        }
        return MakeError(ErrorCode::kUnavailable, Scrub(std::move(message)));
    }

    Result<std::unique_ptr<Upload>> Create(std::string_view key, std::string_view content_type) override {
        if (!ValidKey(key)) {
            return BadKey();
        }
        return std::unique_ptr<Upload>(std::make_unique<S3Upload>(*this, std::string(key), std::string(content_type)));
    }

    Result<std::unique_ptr<Reader>> Open(std::string_view key) override {
        if (!ValidKey(key)) {
            return Missing();
        }
        std::string etag;
        BASALT_ASSIGN_OR_RETURN(ObjectInfo info, Head(key, &etag));
        return std::unique_ptr<Reader>(
            std::make_unique<S3Reader>(*this, std::string(key), std::move(info), std::move(etag))
        );
    }

    Result<ObjectInfo> Stat(std::string_view key) override {
        if (!ValidKey(key)) {
            return Missing();
        }
        return Head(key, nullptr);
    }

    Result<void> Delete(std::string_view key) override {
        if (!ValidKey(key)) {
            return BadKey();
        }
        Request r;
        r.method = "DELETE";
        r.url = Url(key);
        BASALT_ASSIGN_OR_RETURN(const Answer a, Perform(r));
        if (!Success(a.status) && a.status != 404) {
            return Failure("delete", a);
        }
        return Ok();
    }

    Result<void> DeletePrefix(std::string_view prefix) override {
        BASALT_ASSIGN_OR_RETURN(const std::vector<std::string> keys, List(prefix));
        Result<void> first = Ok();
        for (const auto& key : keys) {
            auto r = Delete(key);
            if (!r && first) {
                first = r;  // the others are still tried
            }
        }
        return first;
    }

    Result<std::vector<std::string>> List(std::string_view prefix) override {
        if (!ValidKey(prefix)) {
            return BadKey();
        }
        std::vector<std::string> keys;
        BASALT_TRY(ListPages(std::string(prefix) + "/", false, [&](s3::ListPage& page) {
            for (auto& k : page.keys) {
                if (ValidKey(k)) {  // "folder" markers (a trailing '/') and odd keys are not ours
                    keys.push_back(std::move(k));
                }
            }
        }));
        std::sort(keys.begin(), keys.end());
        return keys;
    }

    Result<std::vector<std::string>> ListFolders(std::string_view prefix) override {
        if (!prefix.empty() && !ValidKey(prefix)) {
            return BadKey();
        }
        const std::string under = prefix.empty() ? std::string() : std::string(prefix) + "/";
        std::vector<std::string> names;
        BASALT_TRY(ListPages(under, true, [&](s3::ListPage& page) {
            for (const auto& p : page.prefixes) {
                if (p.size() > under.size() + 1 && p.starts_with(under) && p.back() == '/') {
                    names.push_back(p.substr(under.size(), p.size() - under.size() - 1));
                }
            }
        }));
        std::sort(names.begin(), names.end());
        names.erase(std::unique(names.begin(), names.end()), names.end());
        return names;
    }

    Result<std::vector<std::string>> ListFiles(std::string_view prefix) override {
        if (!prefix.empty() && !ValidKey(prefix)) {
            return BadKey();
        }
        const std::string under = prefix.empty() ? std::string() : std::string(prefix) + "/";
        std::vector<std::string> names;
        BASALT_TRY(ListPages(under, true, [&](s3::ListPage& page) {
            for (const auto& k : page.keys) {
                // With the delimiter, only the keys at this level come back; a "folder" marker ends
                // with '/' and is skipped by ValidKey.
                if (k.size() > under.size() && k.starts_with(under) && ValidKey(k)) {
                    names.push_back(k.substr(under.size()));
                }
            }
        }));
        std::sort(names.begin(), names.end());
        return names;
    }

private:
    friend class S3Upload;
    friend class S3Reader;

    Result<ObjectInfo> Head(std::string_view key, std::string* etag) {
        Request r;
        r.method = "HEAD";
        r.url = Url(key);
        BASALT_ASSIGN_OR_RETURN(Answer a, Perform(r));
        if (!Success(a.status)) {
            return Failure("stat", a);
        }
        ObjectInfo info;
        info.size = a.content_length;
        info.content_type = std::move(a.content_type);
        if (a.modified >= 0) {
            info.modified = std::chrono::system_clock::time_point(std::chrono::seconds(a.modified));
        }
        if (etag != nullptr) {
            *etag = std::move(a.etag);
        }
        return info;
    }

    // ListObjectsV2 under `prefix`, page after page (1,000 keys each), each page handed to `fn`.
    template <typename Fn>
    Result<void> ListPages(const std::string& prefix, bool folders, Fn&& fn) {
        std::string token;
        for (;;) {
            std::vector<std::pair<std::string, std::string>> query{{"list-type", "2"}, {"prefix", prefix}};
            if (folders) {
                query.emplace_back("delimiter", "/");
            }
            if (!token.empty()) {
                query.emplace_back("continuation-token", token);
            }
            Request r;
            r.url = Url("", std::move(query));
            BASALT_ASSIGN_OR_RETURN(const Answer a, Perform(r));
            if (!Success(a.status)) {
                if (a.status == 404) {
                    return MakeError(ErrorCode::kUnavailable, "S3 list failed: no such bucket");
                }
                return Failure("list", a);
            }
            auto page = s3::ParseListPage(a.body);
            if (!page) {
                return MakeError(ErrorCode::kUnavailable, page.error().message);
            }
            fn(*page);
            if (!page->truncated) {
                return Ok();
            }
            if (page->next_token == token) {
                return MakeError(ErrorCode::kUnavailable, "S3 list failed: the listing does not advance");
            }
            token = std::move(page->next_token);
        }
    }

    std::string Scrub(std::string message) const {
        if (config_.secret.empty()) {
            return message;
        }
        for (std::size_t at = message.find(config_.secret); at != std::string::npos;
             at = message.find(config_.secret, at)) {
            message.replace(at, config_.secret.size(), "***");
        }
        return message;
    }

    S3Config config_;
    std::string sigv4_;
    HandlePool pool_;
};

// --- S3Upload ---------------------------------------------------------------------------------

S3Upload::~S3Upload() {
    if (!done_ && !upload_id_.empty()) {
        // Best effort: a service that keeps it anyway drops it by its lifecycle rules.
        Request r;
        r.method = "DELETE";
        r.url = store_.Url(key_, {{"uploadId", upload_id_}});
        (void)store_.Perform(r);
    }
}

Result<void> S3Upload::Write(std::string_view bytes) {
    if (done_ || failed_) {
        return MakeError(ErrorCode::kInternal, done_ ? "write after commit" : "write after a failed write");
    }
    const std::size_t part_size = std::max<std::size_t>(store_.Config().part_size, 1);
    while (!bytes.empty()) {
        const std::size_t take = std::min(bytes.size(), part_size - part_.size());
        part_.append(bytes.substr(0, take));
        bytes.remove_prefix(take);
        size_ += take;
        if (part_.size() == part_size) {
            if (auto sent = SendPart(); !sent) {
                failed_ = true;
                return sent;
            }
        }
    }
    return Ok();
}

Result<void> S3Upload::SendPart() {
    if (upload_id_.empty()) {
        Request r;
        r.method = "POST";
        r.url = store_.Url(key_, {{"uploads", ""}});
        if (!content_type_.empty()) {
            r.headers.push_back("Content-Type: " + content_type_);
        }
        BASALT_ASSIGN_OR_RETURN(const Answer a, store_.Perform(r));
        if (!Success(a.status)) {
            return store_.Failure("upload", a);
        }
        auto id = s3::ParseUploadId(a.body);
        if (!id) {
            return MakeError(ErrorCode::kUnavailable, id.error().message);
        }
        upload_id_ = std::move(*id);
    }
    Request r;
    r.method = "PUT";
    r.url = store_.Url(key_, {{"partNumber", std::to_string(etags_.size() + 1)}, {"uploadId", upload_id_}});
    r.headers.emplace_back("Content-Type: application/octet-stream");
    r.body = part_;
    BASALT_ASSIGN_OR_RETURN(const Answer a, store_.Perform(r));
    if (!Success(a.status)) {
        return store_.Failure("upload", a);
    }
    if (a.etag.empty()) {
        return MakeError(ErrorCode::kUnavailable, "S3 upload failed: a part without an ETag");
    }
    etags_.push_back(a.etag);
    part_.clear();
    return Ok();
}

Result<void> S3Upload::Commit() {
    if (done_ || failed_) {
        return MakeError(ErrorCode::kInternal, done_ ? "committed twice" : "commit after a failed write");
    }
    if (upload_id_.empty()) {
        Request r;
        r.method = "PUT";
        r.url = store_.Url(key_);
        r.headers.push_back(
            "Content-Type: " + (content_type_.empty() ? std::string("application/octet-stream") : content_type_)
        );
        r.body = part_;
        BASALT_ASSIGN_OR_RETURN(const Answer a, store_.Perform(r));
        if (!Success(a.status)) {
            failed_ = true;
            return store_.Failure("upload", a);
        }
        done_ = true;
        part_ = std::string();
        return Ok();
    }
    if (!part_.empty()) {
        if (auto sent = SendPart(); !sent) {
            failed_ = true;
            return sent;
        }
    }
    const std::string body = s3::CompleteMultipartBody(etags_);
    Request r;
    r.method = "POST";
    r.url = store_.Url(key_, {{"uploadId", upload_id_}});
    r.headers.emplace_back("Content-Type: application/xml");
    r.body = body;
    BASALT_ASSIGN_OR_RETURN(const Answer a, store_.Perform(r));
    // CompleteMultipartUpload may fail after its 200 has been sent: the error is then in the body.
    if (!Success(a.status) || !s3::ParseErrorInfo(a.body).code.empty()) {
        failed_ = true;
        return store_.Failure("upload", a);
    }
    done_ = true;
    part_ = std::string();
    return Ok();
}

// --- S3Reader ---------------------------------------------------------------------------------

std::size_t S3Reader::FromWindow(std::uint64_t offset, std::span<char> out) const {
    if (offset < window_at_ || offset >= window_at_ + window_.size()) {
        return 0;
    }
    const auto at = static_cast<std::size_t>(offset - window_at_);
    const std::size_t n = std::min(out.size(), window_.size() - at);
    std::memcpy(out.data(), window_.data() + at, n);
    return n;
}

Result<std::size_t> S3Reader::ReadAt(std::uint64_t offset, std::span<char> out) {
    if (offset >= info_.size || out.empty()) {
        return std::size_t{0};
    }
    out = out.first(static_cast<std::size_t>(std::min<std::uint64_t>(out.size(), info_.size - offset)));
    std::lock_guard lock(mu_);
    const std::size_t cached = FromWindow(offset, out);
    if (cached == out.size()) {
        return cached;
    }
    // The rest from the service: straight into `out` when it is large, else a read-ahead window.
    const std::uint64_t from = offset + cached;
    const std::span<char> rest = out.subspan(cached);
    const bool direct = rest.size() >= store_.Config().read_ahead;
    const std::uint64_t length =
        direct ? rest.size()
               : std::min<std::uint64_t>(
                     std::max<std::size_t>(store_.Config().read_ahead, rest.size()), info_.size - from
                 );
    std::string buffer;
    Request r;
    r.url = store_.Url(key_);
    r.range = std::to_string(from) + "-" + std::to_string(from + length - 1);
    if (!etag_.empty()) {
        r.headers.push_back("If-Match: " + etag_);  // a replaced file is refused, never mixed
    }
    if (direct) {
        r.into = rest;
    } else {
        buffer.resize(static_cast<std::size_t>(length));
        r.into = std::span<char>(buffer);
    }
    r.skip = from;  // when a server ignores the Range and sends the whole file
    BASALT_ASSIGN_OR_RETURN(auto answer, store_.Perform(r));
    if (answer.status == 412) {
        return MakeError(ErrorCode::kUnavailable, "the file changed while it was read");
    }
    if (!Success(answer.status)) {
        return store_.Failure("read", answer);
    }
    if (direct) {
        return cached + answer.filled;
    }
    buffer.resize(answer.filled);
    window_ = std::move(buffer);
    window_at_ = from;
    return cached + FromWindow(from, rest);
}

std::optional<Result<std::size_t>> S3Reader::ReadAtIfCached(std::uint64_t offset, std::span<char> out) {
    if (offset >= info_.size || out.empty()) {
        return Result<std::size_t>(std::size_t{0});
    }
    std::unique_lock lock(mu_, std::try_to_lock);
    if (!lock.owns_lock()) {
        return std::nullopt;
    }
    const std::size_t n = FromWindow(offset, out);
    if (n == 0) {
        return std::nullopt;
    }
    return Result<std::size_t>(n);
}

}  // namespace

Result<std::unique_ptr<Storage>> OpenS3(const S3Config& config) {
    const std::pair<std::string_view, const std::string*> required[] = {
        {"bucket", &config.bucket},
        {"region", &config.region},
        {"endpoint", &config.endpoint},
        {"access key", &config.access_key},
    };
    for (const auto& [name, value] : required) {
        if (value->empty()) {
            return MakeError(ErrorCode::kInvalidArgument, "the S3 " + std::string(name) + " is empty");
        }
    }
    if (config.region.find(':') != std::string::npos || config.region.size() > 64) {
        return MakeError(ErrorCode::kInvalidArgument, "the S3 region is invalid");
    }
    return std::unique_ptr<Storage>(std::make_unique<S3Storage>(config));
}

}  // namespace basalt::storage
