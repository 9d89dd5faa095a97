// SPDX-License-Identifier: MIT
// multipart/form-data: the streaming scanner finds the same parts whatever the pieces the body
// arrives in, and a body spooled to a file keeps its file parts there as ranges.
#include "api/multipart.hpp"

#include <string>

#include <gtest/gtest.h>

#include "support/temp_dir.hpp"

namespace basalt::api {
namespace {

std::string Body(const std::string& file_bytes) {
    return "preamble\r\n--XyZ\r\n"
           "Content-Disposition: form-data; name=\"title\"\r\n\r\n"
           "hello\r\n--XyZ\r\n"
           "Content-Disposition: form-data; name=\"doc\"; filename=\"a.bin\"\r\n"
           "Content-Type: application/octet-stream\r\n\r\n" +
           file_bytes +
           "\r\n--XyZ\r\n"
           "Content-Disposition: form-data; name=\"empty\"; filename=\"e.txt\"\r\n\r\n"
           "\r\n--XyZ--\r\nepilogue";
}

// Bytes that look like the delimiter's beginning but are not one.
std::string Tricky() {
    std::string s;
    for (int i = 0; i < 3000; ++i) {
        s += "\r\n--Xy";
        const char c = static_cast<char>(i % 256);
        s += c == 'Z' ? 'z' : c;  // "\r\n--XyZ" would end the part
    }
    return s;
}

TEST(Multipart, WholeBodyGivesEachPart) {
    const std::string file = Tricky();
    auto parts = ParseMultipart(Body(file), "XyZ");
    ASSERT_TRUE(parts) << parts.error().message;
    ASSERT_EQ(parts->size(), 3U);
    EXPECT_EQ((*parts)[0].name, "title");
    EXPECT_EQ((*parts)[0].data, "hello");
    EXPECT_EQ((*parts)[1].filename, "a.bin");
    EXPECT_EQ((*parts)[1].content_type, "application/octet-stream");
    EXPECT_EQ((*parts)[1].data, file);
    EXPECT_EQ((*parts)[2].filename, "e.txt");
    EXPECT_EQ((*parts)[2].data, "");
}

TEST(Multipart, ScannerGivesTheSamePartsInEveryPieceSize) {
    const std::string file = Tricky();
    const std::string body = Body(file);
    for (std::size_t piece : {1U, 2U, 3U, 5U, 7U, 64U, 4096U}) {
        std::vector<std::string> names;
        std::string doc;
        std::uint64_t doc_offset = 0;
        MultipartScanner scanner(
            "XyZ",
            {},
            {.begin = [&](MultipartPart&& p) -> Result<void> {
                 names.push_back(p.name);
                 return {};
             },
             .data = [&](std::string_view bytes, std::uint64_t offset) -> Result<void> {
                 if (names.back() == "doc") {
                     doc_offset = doc.empty() ? offset : doc_offset;
                     doc.append(bytes);
                 }
                 return {};
             },
             .end = []() -> Result<void> {
                 return {};
             }}
        );
        for (std::size_t at = 0; at < body.size(); at += piece) {
            ASSERT_TRUE(scanner.Feed(std::string_view(body).substr(at, piece))) << piece;
        }
        ASSERT_TRUE(scanner.Finish()) << piece;
        EXPECT_EQ(names, (std::vector<std::string>{"title", "doc", "empty"})) << piece;
        EXPECT_EQ(doc, file) << piece;
        EXPECT_EQ(body.substr(doc_offset, file.size()), file) << piece;
    }
}

TEST(Multipart, MalformedBodiesAreRefused) {
    EXPECT_FALSE(ParseMultipart("no delimiter at all", "XyZ"));
    EXPECT_FALSE(ParseMultipart("--XyZ\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\nunterminated", "XyZ"));
    EXPECT_FALSE(ParseMultipart("--XyZ\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZ--", "XyZ"));  // no name
    EXPECT_FALSE(ParseMultipart("--XyZ\r\nno colon\r\n\r\nx\r\n--XyZ--", "XyZ"));
    EXPECT_FALSE(ParseMultipart("--XyZ junk", "XyZ"));
    const std::string huge_header = "--XyZ\r\nX-A: " + std::string(10000, 'a') + "\r\n\r\n";
    EXPECT_FALSE(ParseMultipart(huge_header, "XyZ"));
    std::string many;
    for (int i = 0; i < 3; ++i) {
        many += "--XyZ\r\nContent-Disposition: form-data; name=\"p\"\r\n\r\nv\r\n";
    }
    many += "--XyZ--";
    EXPECT_TRUE(ParseMultipart(many, "XyZ", {.max_parts = 3}));
    EXPECT_FALSE(ParseMultipart(many, "XyZ", {.max_parts = 2}));
}

TEST(Multipart, SpooledBodyKeepsFilePartsAsRangesOfTheFile) {
    testing::TempDir dir;
    auto spool = SpoolFile::Create(dir.Path());
    ASSERT_TRUE(spool);
    std::string file(300 * 1024, '\0');
    for (std::size_t i = 0; i < file.size(); ++i) {
        file[i] = static_cast<char>((i * 7919) % 251);
    }
    ASSERT_TRUE((*spool)->Append(Body(file)));
    auto parts = ParseMultipartFile(*spool, "XyZ");
    ASSERT_TRUE(parts) << parts.error().message;
    ASSERT_EQ(parts->size(), 3U);
    EXPECT_EQ((*parts)[0].data, "hello");
    const ByteSource& bytes = (*parts)[1].file;
    EXPECT_EQ(bytes.Memory(), nullptr);
    EXPECT_TRUE((*parts)[1].data.empty());
    ASSERT_EQ(bytes.Size(), file.size());
    std::string copied;
    ASSERT_TRUE(bytes.ForEachChunk([&](std::string_view chunk) -> Result<void> {
        EXPECT_LE(chunk.size(), 64U * 1024);
        copied.append(chunk);
        return {};
    }));
    EXPECT_EQ(copied, file);
    EXPECT_EQ(*bytes.Prefix(5), file.substr(0, 5));
    EXPECT_EQ((*parts)[2].file.Size(), 0U);
    // No name left in the directory: the spool file was unnamed from the start.
    EXPECT_TRUE(std::filesystem::is_empty(dir.Path()));
}

TEST(Multipart, SpooledTextValuesAreBounded) {
    testing::TempDir dir;
    auto spool = SpoolFile::Create(dir.Path());
    ASSERT_TRUE(spool);
    ASSERT_TRUE((*spool)->Append(
        "--XyZ\r\nContent-Disposition: form-data; name=\"t\"\r\n\r\n" + std::string(2000, 'x') + "\r\n--XyZ--"
    ));
    auto parts = ParseMultipartFile(*spool, "XyZ", {.max_text_bytes = 1000});
    ASSERT_FALSE(parts);
    EXPECT_EQ(parts.error().code, ErrorCode::kTooLarge);
}

}  // namespace
}  // namespace basalt::api
