// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.hpp"
#include "core/spool_file.hpp"

namespace basalt::api {

/// One part of a multipart/form-data body. `data` holds a text part's value, and a file part's bytes
/// when the body was parsed from memory (ParseMultipart); a file part of a spooled body
/// (ParseMultipartFile) is a range of that file in `file`, with `data` empty.
struct MultipartPart {
    std::string name;
    std::string filename;  // set for file parts
    std::string content_type;
    std::string data;
    ByteSource file;
};

struct MultipartLimits {
    std::size_t max_parts = 1000;
    std::size_t max_part_header_bytes = 8192;
    std::uint64_t max_text_bytes = 32ULL * 1024 * 1024;  // all parts without a filename together
};

/// The boundary of a `multipart/form-data; boundary=...` content type, or empty.
std::string MultipartBoundary(std::string_view content_type);

/// A multipart/form-data reader (RFC 7578) that takes the body in pieces as they come and reports
/// each part's headers, its bytes (with their offset in the body, so a spooled body's parts can be
/// kept as ranges) and its end. Holds at most one part header and one boundary's length of bytes.
class MultipartScanner {
public:
    struct Events {
        std::function<Result<void>(MultipartPart&& headers)> begin;  // name, filename, content_type
        std::function<Result<void>(std::string_view bytes, std::uint64_t offset)> data;
        std::function<Result<void>()> end;
    };

    MultipartScanner(std::string_view boundary, const MultipartLimits& limits, Events events);

    /// The next piece of the body. kInvalidArgument on a malformed body (missing boundary lines, a
    /// part without a name, headers over the limit, too many parts) or what an event returned.
    Result<void> Feed(std::string_view piece);
    /// The body is complete: kInvalidArgument when it ended before the closing boundary.
    Result<void> Finish();

private:
    enum class State { kPreamble, kAfterDelimiter, kHeaders, kBody, kDone };
    Result<void> Step(bool& progressed);
    Result<void> ReadHeaders(std::string_view headers);

    std::string delimiter_;  // "--" + boundary
    std::string next_;       // "\r\n--" + boundary
    MultipartLimits limits_;
    Events events_;
    State state_ = State::kPreamble;
    std::string buf_;           // bytes received and not yet dropped
    std::size_t pos_ = 0;       // buf_[pos_..] is not consumed yet
    std::uint64_t buf_at_ = 0;  // the body offset of buf_[0]
    std::size_t parts_ = 0;
};

/// Parses a whole multipart/form-data body held in memory; every part's bytes are in `data`. Fails with
/// kInvalidArgument on a malformed body.
Result<std::vector<MultipartPart>> ParseMultipart(
    std::string_view body, std::string_view boundary, const MultipartLimits& limits = {}
);

/// Parses a body spooled to `file`: text parts are read into `data` (at most limits.max_text_bytes
/// together, kTooLarge beyond), file parts stay in the file as ranges (`file`). Reads in chunks:
/// memory stays bounded whatever the body's size. Blocks on disk: not for an I/O thread.
Result<std::vector<MultipartPart>> ParseMultipartFile(
    const std::shared_ptr<const SpoolFile>& file, std::string_view boundary, const MultipartLimits& limits = {}
);

}  // namespace basalt::api
