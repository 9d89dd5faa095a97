// SPDX-License-Identifier: MIT
#include "records/codec.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

namespace basalt::records {
namespace {

schema::Field MakeField(const char* json) {
    return *schema::FieldFromJson(boost::json::parse(json).as_object());
}

TEST(Codec, NormalizesDates) {
    EXPECT_EQ(NormalizeDate("2024-05-01"), "2024-05-01 00:00:00.000Z");
    EXPECT_EQ(NormalizeDate("2024-05-01 10:20:30"), "2024-05-01 10:20:30.000Z");
    EXPECT_EQ(NormalizeDate("2024-05-01T10:20:30.5Z"), "2024-05-01 10:20:30.500Z");
    EXPECT_EQ(NormalizeDate("2024-05-01 10:20:30.123456Z"), "2024-05-01 10:20:30.123Z");
    EXPECT_EQ(NormalizeDate("2024-05-01T10:20:30+02:00"), "2024-05-01 08:20:30.000Z");
    EXPECT_EQ(NormalizeDate("2024-02-31"), std::nullopt);
    EXPECT_EQ(NormalizeDate("yesterday"), std::nullopt);
    EXPECT_EQ(NormalizeDate("2024-05-01X10:20:30"), std::nullopt);
}

TEST(Codec, ValidatesByType) {
    std::vector<FieldError> errors;
    const auto num = MakeField(R"({"name":"n","type":"number","onlyInt":true,"min":0,"max":10})");
    const boost::json::value five(5);
    EXPECT_EQ(std::get<std::int64_t>(NormalizeValue(num, &five, errors)), 5);
    EXPECT_TRUE(errors.empty());
    const boost::json::value big(11.5);
    (void)NormalizeValue(num, &big, errors);
    ASSERT_EQ(errors.size(), 2U);  // not an int, above max
    errors.clear();

    const auto text = MakeField(R"({"name":"t","type":"text","required":true,"max":3})");
    const boost::json::value long_text("abcd");
    (void)NormalizeValue(text, &long_text, errors);
    ASSERT_EQ(errors.size(), 1U);
    EXPECT_EQ(errors[0].code, "validation_length_out_of_range");
    errors.clear();
    const boost::json::value accents("äöü");  // 3 characters, 6 bytes
    (void)NormalizeValue(text, &accents, errors);
    EXPECT_TRUE(errors.empty());
    (void)NormalizeValue(text, nullptr, errors);
    ASSERT_EQ(errors.size(), 1U);
    EXPECT_EQ(errors[0].code, "validation_required");
    errors.clear();

    const auto multi = MakeField(R"({"name":"s","type":"select","values":["a","b"],"maxSelect":2})");
    const boost::json::value dup = boost::json::parse(R"(["a","a","b"])");
    EXPECT_EQ(std::get<std::string>(NormalizeValue(multi, &dup, errors)), R"(["a","b"])");
    EXPECT_TRUE(errors.empty());
}

TEST(Codec, EncodesZeroValuesAsPocketBase) {
    const auto rel = MakeField(R"({"name":"r","type":"relation","collectionId":"x","maxSelect":1})");
    EXPECT_EQ(ColumnToJson(rel, db::Value(nullptr)), boost::json::value(""));
    const auto multi = MakeField(R"({"name":"r","type":"relation","collectionId":"x","maxSelect":5})");
    EXPECT_EQ(ColumnToJson(multi, db::Value(std::string("[\"a\"]"))), boost::json::parse(R"(["a"])"));
    const auto b = MakeField(R"({"name":"b","type":"bool"})");
    EXPECT_EQ(ColumnToJson(b, db::Value(std::int64_t{1})), boost::json::value(true));
}

}  // namespace
}  // namespace basalt::records

namespace basalt::records {
namespace {

TEST(Codec, TextEncodingMatchesTheDom) {
    // Each field with the column values basalt itself stores for it.
    const std::vector<std::pair<const char*, std::vector<db::Value>>> cases = {
        {R"({"name":"t","type":"text"})", {std::string("he said \"hi\"\n\x01"), std::string()}},
        {R"({"name":"n","type":"number"})", {std::int64_t{42}, 2.5, std::int64_t{-1}}},
        {R"({"name":"b","type":"bool"})", {std::int64_t{1}, std::int64_t{0}}},
        {R"({"name":"j","type":"json"})",
         {boost::json::serialize(boost::json::parse(R"({"a":[1,2.5,{"b":null}]})")), nullptr}},
        {R"({"name":"g","type":"geoPoint"})",
         {boost::json::serialize(boost::json::object{{"lon", 23.32}, {"lat", 42.69}})}},
        {R"({"name":"s","type":"select","values":["a"],"maxSelect":3})",
         {std::string(R"(["a","b"])"), std::string("[]")}},
        {R"({"name":"r","type":"relation","collectionId":"x","maxSelect":1})", {nullptr, std::string("abc")}},
    };
    for (const auto& [fj, values] : cases) {
        const auto f = MakeField(fj);
        for (const auto& v : values) {
            std::string text;
            AppendColumnJson(text, f, v);
            EXPECT_EQ(text, boost::json::serialize(ColumnToJson(f, v))) << fj;
        }
    }
}

}  // namespace
}  // namespace basalt::records

namespace basalt::records {
namespace {

TEST(Codec, ModifiersResolveAgainstTheStoredRecord) {
    const auto c = *schema::CollectionFromJson(boost::json::parse(R"({"name":"p","fields":[
        {"name":"id","type":"text"},{"name":"n","type":"number"},
        {"name":"tags","type":"select","values":["a","b","c"],"maxSelect":3},
        {"name":"title","type":"text"}]})")
                                                   .as_object());
    const auto body = boost::json::parse(R"({"n+":2,"n-":0.5,"+tags":"c","tags-":["a"],"title":"x"})").as_object();
    EXPECT_TRUE(HasModifiers(c, body));
    EXPECT_FALSE(HasModifiers(c, boost::json::parse(R"({"title":"x","other+":1})").as_object()));
    const auto current = boost::json::parse(R"({"n":10,"tags":["a","b"],"title":"old"})").as_object();
    std::vector<FieldError> errors;
    const auto out = ApplyModifiers(c, body, &current, errors);
    EXPECT_TRUE(errors.empty());
    EXPECT_EQ(out.at("n"), boost::json::value(11.5));
    EXPECT_EQ(out.at("tags"), boost::json::parse(R"(["c","b"])"));
    EXPECT_EQ(out.at("title"), boost::json::value("x"));
    EXPECT_FALSE(out.contains("n+"));

    // On create there is no stored record: the base is the zero value.
    const auto created =
        ApplyModifiers(c, boost::json::parse(R"({"n+":3,"tags+":["b"]})").as_object(), nullptr, errors);
    EXPECT_EQ(created.at("n"), boost::json::value(3.0));
    EXPECT_EQ(created.at("tags"), boost::json::parse(R"(["b"])"));

    (void)ApplyModifiers(c, boost::json::parse(R"({"n+":"abc"})").as_object(), nullptr, errors);
    ASSERT_EQ(errors.size(), 1U);
    EXPECT_EQ(errors[0].code, "validation_invalid_number");
}

}  // namespace
}  // namespace basalt::records
