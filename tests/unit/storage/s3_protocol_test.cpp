// SPDX-License-Identifier: MIT
// The pure parts of the S3 client: URLs, canonical queries and the XML answers it reads.
#include "storage/s3_protocol.hpp"

#include <gtest/gtest.h>

namespace basalt::storage::s3 {
namespace {

S3Config Config(bool path_style) {
    S3Config c;
    c.bucket = "media";
    c.region = "us-east-1";
    c.endpoint = "https://s3.example.com/";
    c.access_key = "AK";
    c.secret = "SECRET";
    c.force_path_style = path_style;
    return c;
}

TEST(S3UriEncode, KeepsUnreservedAndEncodesTheRestInUpperCaseHex) {
    EXPECT_EQ(UriEncode("aZ09-_.~", false), "aZ09-_.~");
    EXPECT_EQ(UriEncode("a b+c=d&e/f", false), "a%20b%2Bc%3Dd%26e%2Ff");
    EXPECT_EQ(UriEncode("a b/c", true), "a%20b/c");
    EXPECT_EQ(UriEncode("\xC3\xA9", true), "%C3%A9");
    EXPECT_EQ(UriEncode("*()!'", false), "%2A%28%29%21%27");
}

TEST(S3CanonicalQuery, SortsByNameEncodesAndKeepsEmptyValues) {
    EXPECT_EQ(CanonicalQuery({{"uploads", ""}}), "uploads=");
    EXPECT_EQ(
        CanonicalQuery({{"prefix", "abc/def/"}, {"list-type", "2"}, {"delimiter", "/"}}),
        "delimiter=%2F&list-type=2&prefix=abc%2Fdef%2F"
    );
    EXPECT_EQ(CanonicalQuery({{"uploadId", "x y"}, {"partNumber", "3"}}), "partNumber=3&uploadId=x%20y");
    EXPECT_EQ(CanonicalQuery({{"continuation-token", "a+b/c=="}}), "continuation-token=a%2Bb%2Fc%3D%3D");
}

TEST(S3ObjectUrl, PathStyleNamesTheBucketInThePath) {
    EXPECT_EQ(ObjectUrl(Config(true), "c1/r1/a b.png", ""), "https://s3.example.com/media/c1/r1/a%20b.png");
    EXPECT_EQ(ObjectUrl(Config(true), "", "list-type=2"), "https://s3.example.com/media?list-type=2");
}

TEST(S3ObjectUrl, VirtualHostStyleNamesTheBucketInTheHost) {
    EXPECT_EQ(ObjectUrl(Config(false), "c1/r1/f.txt", "uploads="), "https://media.s3.example.com/c1/r1/f.txt?uploads=");
    EXPECT_EQ(ObjectUrl(Config(false), "", ""), "https://media.s3.example.com/");
}

TEST(S3ObjectUrl, KeepsAnHttpSchemeAndDefaultsToHttps) {
    S3Config c = Config(true);
    c.endpoint = "http://127.0.0.1:9000";
    EXPECT_EQ(ObjectUrl(c, "k", ""), "http://127.0.0.1:9000/media/k");
    c.endpoint = "minio.local:9000";
    EXPECT_EQ(ObjectUrl(c, "k", ""), "https://minio.local:9000/media/k");
}

TEST(S3Xml, ParsesElementsTextEntitiesAndCdata) {
    auto doc = ParseXml(
        "\xEF\xBB\xBF<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- hi -->"
        "<a xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\" x='1>2'><b>x &amp; y &lt;&#65;&#x42;&gt;</b>"
        "<s3:c><![CDATA[<raw & text>]]></s3:c><d/></a>\n"
    );
    ASSERT_TRUE(doc) << doc.error().message;
    EXPECT_EQ(doc->name, "a");
    ASSERT_EQ(doc->children.size(), 3U);
    EXPECT_EQ(doc->ChildText("b"), "x & y <AB>");
    EXPECT_EQ(doc->ChildText("c"), "<raw & text>");
    ASSERT_NE(doc->Child("d"), nullptr);
    EXPECT_EQ(doc->Child("d")->text, "");
    EXPECT_EQ(doc->Child("e"), nullptr);
    EXPECT_EQ(doc->ChildText("e"), "");
}

TEST(S3Xml, RefusesMalformedDocuments) {
    for (const char* bad : {
             "",
             "text",
             "<a>",
             "<a></b>",
             "<a><b></a></b>",
             "<a>&unknown;</a>",
             "<a>&amp</a>",
             "<a>&#0;</a>",
             "<a>&#xD800;</a>",
             "<a x=1></a>",
             "<a x=\"1></a>",
             "<a></a><b></b>",
             "<a></a>trailing",
             "<!DOCTYPE a [<!ENTITY e \"boom\">]><a>&e;</a>",
             "<a><![CDATA[never closed</a>",
             "<a><!-- never closed</a>",
             "< a></a>",
         }) {
        EXPECT_FALSE(ParseXml(bad)) << bad;
    }
}

TEST(S3Xml, RefusesDeepNesting) {
    std::string deep;
    for (int i = 0; i < 40; ++i) {
        deep += "<a>";
    }
    for (int i = 0; i < 40; ++i) {
        deep += "</a>";
    }
    EXPECT_FALSE(ParseXml(deep));
    EXPECT_TRUE(ParseXml("<a><a><a></a></a></a>"));
}

TEST(S3ListPage, ReadsKeysPrefixesAndTheContinuationToken) {
    auto page = ParseListPage(R"(<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>media</Name><Prefix>c1/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys>
  <Delimiter>/</Delimiter><IsTruncated>true</IsTruncated>
  <NextContinuationToken>tok+/=</NextContinuationToken>
  <Contents><Key>c1/a&amp;b.txt</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified>
    <ETag>&quot;abc&quot;</ETag><Size>4</Size><StorageClass>STANDARD</StorageClass></Contents>
  <Contents><Key>c1/z.txt</Key><Size>1</Size></Contents>
  <CommonPrefixes><Prefix>c1/r1/</Prefix></CommonPrefixes>
  <CommonPrefixes><Prefix>c1/r2/</Prefix></CommonPrefixes>
</ListBucketResult>)");
    ASSERT_TRUE(page) << page.error().message;
    EXPECT_EQ(page->keys, (std::vector<std::string>{"c1/a&b.txt", "c1/z.txt"}));
    EXPECT_EQ(page->prefixes, (std::vector<std::string>{"c1/r1/", "c1/r2/"}));
    EXPECT_TRUE(page->truncated);
    EXPECT_EQ(page->next_token, "tok+/=");
}

TEST(S3ListPage, AnEmptyLastPageAndBadAnswers) {
    auto empty = ParseListPage("<ListBucketResult><IsTruncated>false</IsTruncated></ListBucketResult>");
    ASSERT_TRUE(empty);
    EXPECT_TRUE(empty->keys.empty());
    EXPECT_FALSE(empty->truncated);
    EXPECT_FALSE(ParseListPage("<Error><Code>AccessDenied</Code></Error>"));
    EXPECT_FALSE(ParseListPage("<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>"));
    EXPECT_FALSE(ParseListPage("<ListBucketResult><Contents><Size>1</Size></Contents></ListBucketResult>"));
}

TEST(S3ErrorInfo, ReadsCodeAndMessageOfAnErrorDocument) {
    const ErrorInfo e = ParseErrorInfo(
        "<?xml version=\"1.0\"?><Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we "
        "calculated does not match</Message><RequestId>1</RequestId></Error>"
    );
    EXPECT_EQ(e.code, "SignatureDoesNotMatch");
    EXPECT_EQ(e.message, "The request signature we calculated does not match");
    EXPECT_TRUE(ParseErrorInfo("<CompleteMultipartUploadResult/>").code.empty());
    EXPECT_TRUE(ParseErrorInfo("not xml").code.empty());
    EXPECT_TRUE(ParseErrorInfo("").code.empty());
}

TEST(S3Multipart, ReadsTheUploadIdAndWritesTheCompleteBody) {
    auto id = ParseUploadId(
        "<InitiateMultipartUploadResult><Bucket>b</Bucket><Key>k</Key><UploadId>abc-123</UploadId>"
        "</InitiateMultipartUploadResult>"
    );
    ASSERT_TRUE(id);
    EXPECT_EQ(*id, "abc-123");
    EXPECT_FALSE(ParseUploadId("<InitiateMultipartUploadResult></InitiateMultipartUploadResult>"));
    EXPECT_FALSE(ParseUploadId("<Error><UploadId>x</UploadId></Error>"));
    EXPECT_EQ(
        CompleteMultipartBody({"\"e1\"", "\"e2\""}),
        "<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>&quot;e1&quot;</ETag></Part>"
        "<Part><PartNumber>2</PartNumber><ETag>&quot;e2&quot;</ETag></Part></CompleteMultipartUpload>"
    );
}

TEST(S3Open, RefusesIncompleteSettings) {
    S3Config c = Config(true);
    EXPECT_TRUE(OpenS3(c));
    for (auto field : {&S3Config::bucket, &S3Config::region, &S3Config::endpoint, &S3Config::access_key}) {
        S3Config missing = c;
        missing.*field = "";
        auto s = OpenS3(missing);
        ASSERT_FALSE(s);
        EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
        EXPECT_EQ(s.error().message.find("SECRET"), std::string::npos);
    }
}

TEST(S3Open, RefusesInvalidKeysWithoutAnyRequest) {
    S3Config c = Config(true);
    c.endpoint = "http://127.0.0.1:1";  // nothing listens: a request would fail with kUnavailable
    auto s = OpenS3(c);
    ASSERT_TRUE(s);
    auto up = (*s)->Create("../x", "text/plain");
    ASSERT_FALSE(up);
    EXPECT_EQ(up.error().code, ErrorCode::kInvalidArgument);
    auto open = (*s)->Open("a/../b");
    ASSERT_FALSE(open);
    EXPECT_EQ(open.error().code, ErrorCode::kNotFound);
    EXPECT_EQ((*s)->Delete("a\\b").error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ((*s)->ListFolders("a//b").error().code, ErrorCode::kInvalidArgument);
}

}  // namespace
}  // namespace basalt::storage::s3
