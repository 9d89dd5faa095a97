// SPDX-License-Identifier: MIT
#include <chrono>
#include <limits>
#include <set>

#include <gtest/gtest.h>

#include "core/api_error.hpp"
#include "core/base64.hpp"
#include "core/clock.hpp"
#include "core/ids.hpp"
#include "core/json_text.hpp"
#include "core/random.hpp"
#include "core/result.hpp"
#include "core/text.hpp"

namespace basalt {
namespace {

TEST(Ids, CollectionIdMatchesPocketBase) {
    EXPECT_EQ(CollectionIdFor("auth", "_superusers"), "pbc_3142635823");
    EXPECT_EQ(FieldIdFor("text", "id"), "text3208210256");
}

TEST(Ids, RecordIdsAreFifteenLowercaseAlphanumerics) {
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        const std::string id = NewRecordId();
        EXPECT_TRUE(IsValidRecordId(id)) << id;
        seen.insert(id);
    }
    EXPECT_EQ(seen.size(), 1000U);
    EXPECT_FALSE(IsValidRecordId("ABCDEFGHIJKLMNO"));
    EXPECT_FALSE(IsValidRecordId("abc"));
    EXPECT_FALSE(IsValidRecordId("abcdefghijklm-o"));
}

TEST(Ids, NewRecordIdsOfOneMomentShareAClockPrefixAndDifferAfterIt) {
    using std::chrono::milliseconds;
    const std::chrono::system_clock::time_point t{milliseconds(1'780'000'000'000)};
    const std::string a = NewRecordId(t);
    const std::string b = NewRecordId(t + milliseconds(10));
    EXPECT_TRUE(IsValidRecordId(a)) << a;
    EXPECT_EQ(a.substr(0, 4), b.substr(0, 4));  // one 64 ms step
    EXPECT_NE(a.substr(4), b.substr(4));
    // the next step sorts after (the prefix is the step count, base 36, in the id's alphabet)
    const std::string later = NewRecordId(t + milliseconds(64 * 37));
    EXPECT_LT(a.substr(0, 4), later.substr(0, 4));
    // the clock turns over after 36^4 steps (~30 hours): the order is locality, not a contract
    EXPECT_EQ(a.substr(0, 4), NewRecordId(t + milliseconds(64LL * 36 * 36 * 36 * 36)).substr(0, 4));
}

TEST(Ids, FastIdsHaveTheRecordShapeAndClockPrefix) {
    const auto now = std::chrono::system_clock::time_point(std::chrono::milliseconds(1700000000000));
    std::set<std::string> seen;
    for (int i = 0; i < 10000; ++i) {
        const std::string id = NewFastId(now);
        ASSERT_TRUE(IsValidRecordId(id)) << id;
        EXPECT_EQ(id.substr(0, 4), NewRecordId(now).substr(0, 4));
        seen.insert(id);
    }
    EXPECT_EQ(seen.size(), 10000U);
    EXPECT_LT(NewFastId(now), NewFastId(now + std::chrono::milliseconds(64)));
}

TEST(Random, SecureStringUsesOnlyTheAlphabet) {
    const std::string s = SecureRandomString(500, "ab");
    EXPECT_EQ(s.size(), 500U);
    EXPECT_EQ(s.find_first_not_of("ab"), std::string::npos);
    EXPECT_NE(s.find('a'), std::string::npos);
    EXPECT_NE(s.find('b'), std::string::npos);
}

TEST(Clock, FormatsPocketBaseDatetimes) {
    const SystemTime t{std::chrono::milliseconds(1656155015163)};
    EXPECT_EQ(FormatDateTime(t), "2022-06-25 11:03:35.163Z");
    EXPECT_EQ(FormatRfc3339(t), "2022-06-25T11:03:35.163Z");
    EXPECT_EQ(FormatDateTime(SystemTime{}), "1970-01-01 00:00:00.000Z");
}

TEST(Base64, RoundTripsEveryLength) {
    std::string data;
    for (int i = 0; i < 40; ++i) {
        const std::string enc = Base64UrlEncode(data);
        EXPECT_EQ(enc.find_first_of("+/="), std::string::npos);
        auto dec = Base64UrlDecode(enc);
        ASSERT_TRUE(dec.has_value());
        EXPECT_EQ(*dec, data);
        data.push_back(static_cast<char>(i * 37 + 250));
    }
    EXPECT_EQ(Base64UrlEncode("{\"alg\":\"HS256\"}"), "eyJhbGciOiJIUzI1NiJ9");
}

TEST(Base64, RejectsInvalidInput) {
    EXPECT_FALSE(Base64UrlDecode("ab+c").has_value());
    EXPECT_FALSE(Base64UrlDecode("a").has_value());
    EXPECT_FALSE(Base64UrlDecode("ab c").has_value());
    EXPECT_FALSE(Base64UrlDecode("ab=c").has_value());  // padding only at the end
}

TEST(Base64, MatchesRfc4648Vectors) {
    EXPECT_EQ(Base64Encode(""), "");
    EXPECT_EQ(Base64Encode("f"), "Zg==");
    EXPECT_EQ(Base64Encode("fo"), "Zm8=");
    EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
    EXPECT_EQ(Base64Encode("\xfb\xff"), "+/8=");
    EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
    EXPECT_EQ(Base64UrlDecode("-_8"), std::string("\xfb\xff"));
    EXPECT_EQ(Base64UrlDecode("-_8="), std::string("\xfb\xff"));  // padding is optional
    EXPECT_EQ(Base64UrlDecode("Zm9vYg"), std::string("foob"));
}

TEST(Crc32, MatchesTheIeeeCheckValue) {
    EXPECT_EQ(Crc32("123456789"), 0xCBF43926U);
    EXPECT_EQ(Crc32(""), 0U);
}

TEST(JsonText, ValidUtf8TextReplacesInvalidBytesAndNul) {
    EXPECT_EQ(ValidUtf8Text("plain ascii"), "plain ascii");
    EXPECT_EQ(ValidUtf8Text("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"), "caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80");
    EXPECT_EQ(ValidUtf8Text(std::string("a\xFF\xFE", 3)), "a\xEF\xBF\xBD\xEF\xBF\xBD");
    EXPECT_EQ(
        ValidUtf8Text(std::string("a\0b", 3)),
        "a\xEF\xBF\xBD"
        "b"
    );
    EXPECT_EQ(ValidUtf8Text("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");                  // overlong
    EXPECT_EQ(ValidUtf8Text("\xE2\x82"), "\xEF\xBF\xBD\xEF\xBF\xBD");                  // cut short
    EXPECT_EQ(ValidUtf8Text("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate
}

TEST(JsonText, EscapesControlAndReplacesInvalidUtf8) {
    std::string out;
    AppendJsonString(out, std::string_view("a\"b\\c\n\x01\xff\xc3\xa9", 10));
    EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\u0001\xEF\xBF\xBD\xC3\xA9\"");
    out.clear();
    AppendJsonString(out, "\xed\xa0\x80");  // a UTF-16 surrogate encoded in UTF-8 is invalid
    EXPECT_EQ(out, "\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"");
}

// The inverse of AppendJsonString's escapes, for checking it.
std::string UnescapeJsonString(std::string_view s) {
    std::string out;
    EXPECT_TRUE(s.size() >= 2 && s.front() == '"' && s.back() == '"');
    for (std::size_t i = 1; i + 1 < s.size(); ++i) {
        const char c = s[i];
        EXPECT_TRUE(c != '"' && static_cast<unsigned char>(c) >= 0x20) << "unescaped byte in " << s;
        if (c != '\\') {
            out.push_back(c);
            continue;
        }
        const char e = s[++i];
        if (e == 'u') {
            out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 4)), nullptr, 16)));
            i += 4;
        } else {
            out.push_back(e == 'n' ? '\n' : e == 'r' ? '\r' : e == 't' ? '\t' : e);
        }
    }
    return out;
}

// Every byte that needs escaping is found wherever it sits in a long run (the fast path reads eight
// bytes at a time): the output parses back to the input.
TEST(JsonText, EscapesAtEveryPositionOfLongStrings) {
    const std::string specials[] = {"\"", "\\", "\n", std::string(1, '\0'), "\x1f", "\x7f", "\xc3\xa9", "\xff", " "};
    for (std::size_t len = 0; len < 40; ++len) {
        for (std::size_t pos = 0; pos < len; ++pos) {
            for (const auto& sp : specials) {
                std::string in(len, 'x');
                in.replace(pos, 1, sp);
                std::string out;
                AppendJsonString(out, in);
                const std::string back = UnescapeJsonString(out);
                const std::string want = sp == "\xff" ? std::string(in).replace(pos, 1, "\xEF\xBF\xBD") : in;
                EXPECT_EQ(back, want) << "len " << len << " pos " << pos;
            }
        }
    }
}

TEST(Text, CountsCharactersAndFormatsFloatsAsGo) {
    EXPECT_EQ(Utf8Length("abc"), 3U);
    EXPECT_EQ(Utf8Length("äöü€"), 4U);
    EXPECT_EQ(Utf8Length(""), 0U);
    // strconv.FormatFloat(v, 'g', -1, 64)
    EXPECT_EQ(FormatGoFloat(0), "0");
    EXPECT_EQ(FormatGoFloat(-0.0), "-0");
    EXPECT_EQ(FormatGoFloat(1), "1");
    EXPECT_EQ(FormatGoFloat(1.5), "1.5");
    EXPECT_EQ(FormatGoFloat(-2.25), "-2.25");
    EXPECT_EQ(FormatGoFloat(100), "100");
    EXPECT_EQ(FormatGoFloat(123456), "123456");
    EXPECT_EQ(FormatGoFloat(1e6), "1e+06");
    EXPECT_EQ(FormatGoFloat(123456789), "1.23456789e+08");
    EXPECT_EQ(FormatGoFloat(0.0001), "0.0001");
    EXPECT_EQ(FormatGoFloat(0.00001), "1e-05");
    EXPECT_EQ(FormatGoFloat(1e21), "1e+21");
    EXPECT_EQ(FormatGoFloat(1.7976931348623157e308), "1.7976931348623157e+308");
    EXPECT_EQ(FormatGoFloat(0.1 + 0.2), "0.30000000000000004");
    EXPECT_EQ(FormatGoFloat(std::numeric_limits<double>::quiet_NaN()), "NaN");
    EXPECT_EQ(FormatGoFloat(-std::numeric_limits<double>::infinity()), "-Inf");
}

TEST(ApiError, SentenizesAndMapsStatuses) {
    EXPECT_EQ(Sentenize("failed to load"), "Failed to load.");
    EXPECT_EQ(Sentenize("Done!"), "Done!");
    EXPECT_EQ(ApiError::FromError(MakeError(ErrorCode::kNotFound, "x")).Status(), 404);
    EXPECT_EQ(ApiError::FromError(MakeError(ErrorCode::kConflict, "dup")).Status(), 400);
    const ApiError internal = ApiError::FromError(MakeError(ErrorCode::kInternal, "disk /secret/path broke"));
    EXPECT_EQ(internal.Status(), 500);
    EXPECT_EQ(internal.Message().find("secret"), std::string::npos);  // no leaked detail
}

TEST(Result, HoldsValueOrError) {
    Result<int> ok = 5;
    ASSERT_TRUE(ok);
    EXPECT_EQ(*ok, 5);
    Result<int> bad = MakeError(ErrorCode::kInvalidArgument, "nope", "field");
    ASSERT_FALSE(bad);
    EXPECT_EQ(bad.error().field, "field");
    Result<void> v = Ok();
    EXPECT_TRUE(v);
}

// Helpers for the TRY/ASSIGN_OR_RETURN test: each counts its calls, so a double evaluation shows.
int g_calls = 0;
Result<int> Parse(int x) {
    ++g_calls;
    if (x < 0) {
        return MakeError(ErrorCode::kInvalidArgument, "negative", "x");
    }
    return x * 2;
}
Result<void> Check(int x) {
    ++g_calls;
    if (x > 100) {
        return MakeError(ErrorCode::kTooLarge, "too big");
    }
    return Ok();
}
Result<int> Pipeline(int x) {
    BASALT_ASSIGN_OR_RETURN(const int doubled, Parse(x));
    BASALT_TRY(Check(doubled));
    int again = 0;
    BASALT_ASSIGN_OR_RETURN(again, Parse(doubled));
    return again + 1;
}

TEST(Result, TryAndAssignOrReturnPassTheFirstFailureUp) {
    g_calls = 0;
    auto ok = Pipeline(5);
    ASSERT_TRUE(ok);
    EXPECT_EQ(*ok, 21);
    EXPECT_EQ(g_calls, 3);  // each expression evaluated once

    g_calls = 0;
    auto negative = Pipeline(-1);
    ASSERT_FALSE(negative);
    EXPECT_EQ(negative.error().code, ErrorCode::kInvalidArgument);
    EXPECT_EQ(negative.error().field, "x");
    EXPECT_EQ(g_calls, 1);  // stopped at the first failure

    g_calls = 0;
    auto big = Pipeline(60);
    ASSERT_FALSE(big);
    EXPECT_EQ(big.error().code, ErrorCode::kTooLarge);
    EXPECT_EQ(g_calls, 2);
}

}  // namespace
}  // namespace basalt
