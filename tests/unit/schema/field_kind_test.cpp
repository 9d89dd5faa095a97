// SPDX-License-Identifier: MIT
#include "schema/field_kind.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "schema/collection.hpp"

namespace basalt::schema {
namespace {

Field Parse(std::string_view json) {
    auto f = FieldFromJson(boost::json::parse(json).as_object());
    EXPECT_TRUE(f.has_value());
    return *f;
}

TEST(FieldKinds, HaveOneEntryPerTypeFoundByName) {
    std::size_t i = 0;
    for (const FieldKind& k : AllKinds()) {
        EXPECT_EQ(static_cast<std::size_t>(k.type), i++);
        EXPECT_EQ(ParseFieldType(k.name), k.type);
        EXPECT_NE(k.normalize, nullptr) << k.name;
    }
    EXPECT_EQ(ParseFieldType("nope"), std::nullopt);
}

TEST(FieldOptions, AreParsedWithTheirTypes) {
    const Field f = Parse(R"({"name":"r","type":"relation","collectionId":"pbc_1","maxSelect":3.0,"minSelect":1,)"
                          R"("cascadeDelete":true,"required":true})");
    EXPECT_EQ(f.Options().collection_id, "pbc_1");
    EXPECT_EQ(f.MaxSelect(), 3);
    EXPECT_EQ(f.Options().min_select, 1);
    EXPECT_TRUE(f.Options().cascade_delete);
    EXPECT_TRUE(f.Options().required);
    EXPECT_TRUE(f.IsMultiple());
    EXPECT_EQ(f.Shape(), ValueShape::kList);
}

TEST(FieldOptions, OfTheWrongJsonTypeReadAsAbsent) {
    const Field f = Parse(R"({"name":"n","type":"number","min":null,"max":"5","onlyInt":1,"required":"yes"})");
    EXPECT_FALSE(f.Options().min.has_value());
    EXPECT_FALSE(f.Options().max.has_value());
    EXPECT_FALSE(f.Options().only_int);
    EXPECT_FALSE(f.Options().required);
}

TEST(FieldOptions, FollowEveryChangeOfTheJson) {
    Field f = Parse(R"({"name":"s","type":"select","values":["a",1,"b"],"maxSelect":1})");
    EXPECT_EQ(f.Options().values, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(f.Shape(), ValueShape::kText);
    f.SetOption("maxSelect", 2);
    EXPECT_TRUE(f.IsMultiple());
    f.EraseOption("maxSelect");
    EXPECT_EQ(f.MaxSelect(), 0);
}

TEST(FieldOptions, UnknownKeysRoundTripInTheirOrder) {
    const std::string json = R"({"name":"t","type":"text","zeta":{"x":[1,2]},"max":10,"alpha":"keep"})";
    const Field f = Parse(json);
    EXPECT_EQ(
        boost::json::serialize(FieldToJson(f)),
        R"({"id":"","name":"t","type":"text","system":false,"hidden":false,"presentable":false,)"
        R"("zeta":{"x":[1,2]},"max":10,"alpha":"keep"})"
    );
    EXPECT_EQ(f.Options().max, 10);
}

TEST(CollectionOptions, AreParsedWhenSet) {
    auto c = CollectionFromJson(boost::json::parse(R"({"name":"u","type":"auth","options":{"manageRule":"id != ''",)"
                                                   R"("authRule":null,"mfa":{"rule":"x = 1"},)"
                                                   R"("passwordAuth":{"identityFields":["email","name"]}}})")
                                    .as_object());
    ASSERT_TRUE(c.has_value());
    EXPECT_EQ(c->Options().manage_rule, "id != ''");
    EXPECT_FALSE(c->Options().auth_rule.has_value());
    EXPECT_EQ(c->Options().mfa_rule, "x = 1");
    EXPECT_EQ(c->Options().identity_fields, (std::vector<std::string>{"email", "name"}));
    c->SetOptions({{"viewQuery", "select 1"}});
    EXPECT_EQ(c->Options().view_query, "select 1");
    EXPECT_FALSE(c->Options().manage_rule.has_value());
}

TEST(FieldKinds, NormalizeThroughTheTable) {
    const Field f = Parse(R"({"name":"g","type":"geoPoint","required":true})");
    std::vector<FieldError> errors;
    const ColumnValue v = f.Kind().normalize(f, boost::json::parse(R"({"lon":1,"lat":95})"), errors);
    ASSERT_EQ(errors.size(), 1U);
    EXPECT_EQ(errors[0].code, "validation_invalid_latitude");
    EXPECT_EQ(std::get<std::string>(v), R"({"lon":1E0,"lat":9.5E1})");
}

}  // namespace
}  // namespace basalt::schema
