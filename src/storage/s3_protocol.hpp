// SPDX-License-Identifier: MIT
// The pure parts of the S3 client: URLs, query strings and the XML the service answers with. No I/O,
// so they are unit-tested on their own (tests/unit/storage/s3_protocol_test.cpp).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.hpp"
#include "storage/storage.hpp"

namespace basalt::storage::s3 {

/// AWS's UriEncode: every byte but A-Z, a-z, 0-9, '-', '_', '.', '~' as %XX (upper-case hex); '/'
/// kept when `keep_slash` (paths), encoded otherwise (query values).
std::string UriEncode(std::string_view s, bool keep_slash);

/// A query string in SigV4's canonical form, which is also what is sent (libcurl signs the query as
/// it is in the URL): sorted by name, names and values UriEncoded, "name=" for an empty value.
std::string CanonicalQuery(std::vector<std::pair<std::string, std::string>> params);

/// The URL of `key` in the bucket ("" for the bucket itself), with `query` (canonical, "" for none):
/// `<scheme>://<endpoint>/<bucket>/<key>` with forcePathStyle, `<scheme>://<bucket>.<endpoint>/<key>`
/// otherwise. The endpoint's scheme is kept (https when it has none); a trailing '/' is dropped.
std::string ObjectUrl(const S3Config& config, std::string_view key, std::string_view query);

/// An XML element: its local name (a namespace prefix dropped), the text directly inside it (entities
/// and CDATA decoded) and its child elements. Attributes are not kept.
struct XmlNode {
    std::string name;
    std::string text;
    std::vector<XmlNode> children;

    /// The first child named `name`, or null.
    const XmlNode* Child(std::string_view child) const;
    /// The text of the first child named `name`, "" when there is none.
    std::string ChildText(std::string_view child) const;
};

/// Parses one XML document (a prolog, comments and CDATA allowed; a DOCTYPE refused, so no entity is
/// ever expanded beyond the five predefined ones and character references). kInvalidArgument for
/// anything malformed, unbalanced or nested deeper than 32 elements.
Result<XmlNode> ParseXml(std::string_view text);

/// One page of ListObjectsV2 (ListBucketResult).
struct ListPage {
    std::vector<std::string> keys;
    std::vector<std::string> prefixes;  // CommonPrefixes, with the delimiter
    bool truncated = false;
    std::string next_token;  // NextContinuationToken
};

/// kInvalidArgument when `xml` is not a ListBucketResult (or is truncated without a token).
Result<ListPage> ParseListPage(std::string_view xml);

/// An <Error> document's code and message; both empty when `xml` is not one.
struct ErrorInfo {
    std::string code;
    std::string message;
};
ErrorInfo ParseErrorInfo(std::string_view xml);

/// The UploadId of an InitiateMultipartUploadResult. kInvalidArgument when there is none.
Result<std::string> ParseUploadId(std::string_view xml);

/// The body of CompleteMultipartUpload for parts 1..N with these ETags (as the service gave them).
std::string CompleteMultipartBody(const std::vector<std::string>& etags);

}  // namespace basalt::storage::s3
