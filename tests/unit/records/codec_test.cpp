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
    ASSERT_EQ(errors.size(), 1U);  // PocketBase reports the first problem: not an int (before above max)
    EXPECT_EQ(errors[0].code, "validation_only_int_constraint");
    errors.clear();

    const auto text = MakeField(R"({"name":"t","type":"text","required":true,"max":3})");
    const boost::json::value long_text("abcd");
    (void)NormalizeValue(text, &long_text, errors);
    ASSERT_EQ(errors.size(), 1U);
    EXPECT_EQ(errors[0].code, "validation_max_text_constraint");
    EXPECT_EQ(errors[0].message, "Must be no more than 3 character(s).");
    EXPECT_EQ(errors[0].params_json, R"({"max":3})");
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

// PocketBase's codes, messages and params per field type (core/field_*.go).
TEST(Codec, ReportsPocketBaseCodes) {
    std::vector<FieldError> errors;
    auto one = [&](const char* field, const boost::json::value& v) {
        errors.clear();
        (void)NormalizeValue(MakeField(field), &v, errors);
        return errors.empty() ? FieldError{} : errors.front();
    };
    auto e = one(R"({"name":"t","type":"text","min":3,"max":5})", boost::json::value("ab"));
    EXPECT_EQ(e.code, "validation_min_text_constraint");
    EXPECT_EQ(e.message, "Must be at least 3 character(s).");
    EXPECT_EQ(e.params_json, R"({"min":3})");
    EXPECT_EQ(one(R"({"name":"t","type":"text","min":3})", boost::json::value("äöü")).code, "");  // 3 characters
    EXPECT_EQ(
        one(R"({"name":"t","type":"text"})", boost::json::value(std::string(5001, 'a'))).params_json, R"({"max":5000})"
    );

    e = one(R"({"name":"n","type":"number","min":1.5})", boost::json::value(1));
    EXPECT_EQ(e.code, "validation_min_number_constraint");
    EXPECT_EQ(e.message, "Must be greater or equal than 1.5.");
    EXPECT_EQ(e.params_json, R"({"min":1.5})");
    e = one(R"({"name":"n","type":"number","max":10})", boost::json::value(11));
    EXPECT_EQ(e.message, "Must be less or equal than 10.");
    EXPECT_EQ(e.params_json, R"({"max":10})");
    // What does not read as a number is 0, as PocketBase's cast; a spelled-out NaN is refused.
    errors.clear();
    const boost::json::value abc("abc");
    EXPECT_EQ(std::get<std::int64_t>(NormalizeValue(MakeField(R"({"name":"n","type":"number"})"), &abc, errors)), 0);
    EXPECT_TRUE(errors.empty());
    EXPECT_EQ(one(R"({"name":"n","type":"number"})", boost::json::value("NaN")).code, "validation_not_a_number");
    EXPECT_EQ(one(R"({"name":"n","type":"number","required":true})", abc).code, "validation_required");

    // Dates PocketBase cannot read are no date.
    errors.clear();
    const boost::json::value garbage("garbage");
    EXPECT_EQ(std::get<std::string>(NormalizeValue(MakeField(R"({"name":"d","type":"date"})"), &garbage, errors)), "");
    EXPECT_TRUE(errors.empty());
    EXPECT_EQ(one(R"({"name":"d","type":"date","required":true})", garbage).code, "validation_required");

    EXPECT_EQ(one(R"({"name":"u","type":"url"})", boost::json::value("nope")).code, "validation_invalid_url");
    e = one(R"({"name":"e","type":"editor","maxSize":4})", boost::json::value("<p>x</p>"));
    EXPECT_EQ(e.code, "validation_content_size_limit");
    EXPECT_EQ(e.message, "The maximum allowed content size is 4 bytes.");
    EXPECT_EQ(e.params_json, R"({"maxSize":4})");
    const auto geo = R"({"name":"g","type":"geoPoint"})";
    EXPECT_EQ(one(geo, boost::json::parse(R"({"lon":200,"lat":100})")).code, "validation_invalid_latitude");
    EXPECT_EQ(one(geo, boost::json::parse(R"({"lon":200,"lat":10})")).code, "validation_invalid_longitude");
}

TEST(Codec, ChecksPasswordsAsPocketBase) {
    const auto pw = MakeField(R"({"name":"password","type":"password","min":8,"max":0})");
    auto e = PasswordLengthError(&pw, "short");
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code, "validation_min_text_constraint");
    EXPECT_EQ(e->message, "Must be at least 8 character(s).");
    EXPECT_TRUE(e->params_json.empty());
    EXPECT_FALSE(PasswordLengthError(&pw, "äöüäöüäö"));  // 8 characters, 16 bytes
    e = PasswordLengthError(&pw, std::string(72, 'a'));
    ASSERT_TRUE(e);
    EXPECT_EQ(e->code, "validation_max_text_constraint");
    EXPECT_EQ(e->message, "Must be less than 71 character(s).");
    EXPECT_FALSE(PasswordLengthError(&pw, std::string(71, 'a')));
}

}  // namespace
}  // namespace basalt::records
