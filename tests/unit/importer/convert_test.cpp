// SPDX-License-Identifier: MIT
#include "importer/convert.hpp"

#include <filesystem>
#include <fstream>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "importer/source.hpp"
#include "support/temp_dir.hpp"

namespace basalt::importer {
namespace {

namespace json = boost::json;

const std::filesystem::path kFixtures = std::filesystem::path(BASALT_SOURCE_DIR) / "tests/fixtures/pocketbase";

const json::object* FieldNamed(const json::object& body, std::string_view name) {
    for (const auto& f : body.at("fields").as_array()) {
        if (f.as_object().at("name").as_string() == name) {
            return &f.as_object();
        }
    }
    return nullptr;
}

TEST(ImportSource, DetectsBothErasOfRealDatabases) {
    auto legacy = Source::Open(kFixtures / "todo-pocket-app-pre023");
    ASSERT_TRUE(legacy) << legacy.error().message;
    EXPECT_EQ((*legacy)->GetEra(), Era::kLegacy);
    EXPECT_TRUE((*legacy)->HasTable("_admins"));
    auto oldest = Source::Open(kFixtures / "nextv13-notes-pre023" / "data.db");
    ASSERT_TRUE(oldest) << oldest.error().message;
    EXPECT_EQ((*oldest)->GetEra(), Era::kLegacy);
    auto modern = Source::Open(kFixtures / "todo-practice-023");
    ASSERT_TRUE(modern) << modern.error().message;
    EXPECT_EQ((*modern)->GetEra(), Era::kModern);
    EXPECT_TRUE((*modern)->HasTable("_superusers"));
    auto settings = (*modern)->Param("settings");
    ASSERT_TRUE(settings);
    EXPECT_TRUE(settings->has_value());  // 0.23 keys _params by id
    auto cols = (*modern)->Collections();
    ASSERT_TRUE(cols);
    EXPECT_FALSE(cols->empty());
}

TEST(ImportSource, RefusesWhatIsNotPocketBase) {
    testing::TempDir dir;
    { std::ofstream(dir.Path() / "data.db") << "not a database at all"; }
    auto r = Source::Open(dir.Path());
    ASSERT_FALSE(r);
    EXPECT_NE(r.error().message.find("not an SQLite database"), std::string::npos);
    auto missing = Source::Open(dir.Path() / "nowhere");
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.error().message.find("does not exist"), std::string::npos);
}

TEST(ConvertLegacy, AuthCollectionGetsPocketBases023Shape) {
    SourceCollection c;
    c.id = "_pb_users_auth_";
    c.name = "users";
    c.type = "auth";
    c.list_rule = "id = @request.auth.id && @request.data.x = 1";
    c.fields = json::parse(R"([
        {"id":"f1","name":"age","type":"number","required":true,"unique":true,"options":{"min":1,"max":null,"noDecimal":true}},
        {"id":"f2","name":"team","type":"relation","options":{"collectionId":"abc","cascadeDelete":true,"maxSelect":null}},
        {"id":"f3","name":"body","type":"editor","options":{"convertUrls":true}},
        {"id":"f4","name":"loc","type":"weird","options":{}}
    ])")
                   .as_array();
    c.options =
        json::parse(
            R"({"allowEmailAuth":true,"allowUsernameAuth":true,"onlyVerified":true,"manageRule":"@request.data.a = 1","minPasswordLength":10,"requireEmail":false})"
        )
            .as_object();
    const json::object settings = json::parse(R"({"recordAuthToken":{"secret":"s3cr3t","duration":3600}})").as_object();
    Notes notes;
    const auto body = ConvertLegacyCollection(c, settings, notes);
    EXPECT_EQ(body.at("listRule").as_string(), "id = @request.auth.id && @request.body.x = 1");
    EXPECT_EQ(body.at("manageRule").as_string(), "@request.body.a = 1");
    EXPECT_EQ(body.at("authRule").as_string(), "verified=true");
    EXPECT_EQ(json::serialize(body.at("passwordAuth")), R"({"enabled":true,"identityFields":["email","username"]})");
    EXPECT_EQ(body.at("authToken").as_object().at("duration").as_int64(), 3600);
    const auto& fields = body.at("fields").as_array();
    EXPECT_EQ(fields.front().as_object().at("name").as_string(), "id");
    EXPECT_EQ(fields.back().as_object().at("name").as_string(), "updated");
    ASSERT_NE(FieldNamed(body, "username"), nullptr);
    EXPECT_EQ(FieldNamed(body, "password")->at("min").as_int64(), 10);
    const auto* age = FieldNamed(body, "age");
    ASSERT_NE(age, nullptr);
    EXPECT_TRUE(age->at("onlyInt").as_bool());
    EXPECT_EQ(age->at("min").as_int64(), 1);
    EXPECT_TRUE(age->at("max").is_null());
    const auto* team = FieldNamed(body, "team");
    EXPECT_EQ(team->at("maxSelect").as_int64(), 2147483647);  // null meant no limit
    EXPECT_TRUE(team->at("cascadeDelete").as_bool());
    EXPECT_TRUE(FieldNamed(body, "body")->at("convertURLs").as_bool());
    EXPECT_EQ(FieldNamed(body, "loc"), nullptr);
    ASSERT_EQ(notes.size(), 1U);
    EXPECT_NE(notes[0].find("weird"), std::string::npos);
    // the username index and the legacy `unique` flag's index
    const auto& idx = body.at("indexes").as_array();
    ASSERT_EQ(idx.size(), 2U);
    EXPECT_NE(std::string(idx[0].as_string()).find("username COLLATE NOCASE"), std::string::npos);
    EXPECT_NE(std::string(idx[1].as_string()).find("`age`"), std::string::npos);
}

TEST(ConvertLegacy, ViewTakesItsQuery) {
    SourceCollection c;
    c.id = "v1";
    c.name = "totals";
    c.type = "view";
    c.options = json::parse(R"({"query":"SELECT id, count(*) AS n FROM posts GROUP BY id"})").as_object();
    Notes notes;
    const auto body = ConvertLegacyCollection(c, {}, notes);
    EXPECT_EQ(body.at("viewQuery").as_string(), "SELECT id, count(*) AS n FROM posts GROUP BY id");
    EXPECT_EQ(FieldNamed(body, "created"), nullptr);
}

TEST(ConvertSettings, LegacyMapsMetaSmtpS3AndNotesTheRest) {
    const auto old = json::parse(R"({
        "meta":{"appName":"App","appUrl":"https://a.example/","senderName":"S","senderAddress":"s@a.example"},
        "smtp":{"enabled":true,"host":"mail","port":465,"tls":true,"password":"pw"},
        "s3":{"enabled":false,"bucket":"b"},
        "googleAuth":{"enabled":true},
        "githubAuth":{"enabled":false},
        "recordAuthToken":{"duration":10},
        "somethingElse":{}
    })")
                         .as_object();
    Notes notes;
    const auto patch = ConvertSettings(old, Era::kLegacy, notes);
    EXPECT_EQ(patch.at("meta").as_object().at("appURL").as_string(), "https://a.example");
    EXPECT_EQ(patch.at("smtp").as_object().at("port").as_int64(), 465);
    EXPECT_EQ(patch.at("s3").as_object().at("bucket").as_string(), "b");
    ASSERT_EQ(notes.size(), 2U);  // googleAuth (enabled) and somethingElse
}

schema::Field MakeField(const char* json_text) {
    auto f = schema::FieldFromJson(json::parse(json_text).as_object());
    EXPECT_TRUE(f);
    return *f;
}

TEST(ConvertValue, MapsPocketBaseStorageToBasalts) {
    const auto text = MakeField(R"({"id":"t","name":"t","type":"text"})");
    EXPECT_EQ(ConvertValue(text, nullptr), db::Value(std::string()));
    const auto num = MakeField(R"({"id":"n","name":"n","type":"number"})");
    EXPECT_EQ(ConvertValue(num, nullptr), db::Value(std::int64_t{0}));
    EXPECT_EQ(ConvertValue(num, std::string("2.5")), db::Value(2.5));
    EXPECT_EQ(ConvertValue(num, std::string("x")), db::Value(std::int64_t{0}));
    const auto flag = MakeField(R"({"id":"b","name":"b","type":"bool"})");
    EXPECT_EQ(ConvertValue(flag, std::string("true")), db::Value(std::int64_t{1}));
    EXPECT_EQ(ConvertValue(flag, std::int64_t{0}), db::Value(std::int64_t{0}));
    const auto rel = MakeField(R"({"id":"r","name":"r","type":"relation","collectionId":"c","maxSelect":1})");
    EXPECT_EQ(ConvertValue(rel, std::string()), db::Value(nullptr));
    EXPECT_EQ(ConvertValue(rel, std::string(R"(["a","b"])")), db::Value(std::string("b")));
    const auto multi = MakeField(R"({"id":"m","name":"m","type":"select","values":["a","b"],"maxSelect":2})");
    EXPECT_EQ(ConvertValue(multi, std::string()), db::Value(std::string("[]")));
    EXPECT_EQ(ConvertValue(multi, std::string("a")), db::Value(std::string(R"(["a"])")));
    EXPECT_EQ(ConvertValue(multi, std::string(R"(["a","b"])")), db::Value(std::string(R"(["a","b"])")));
    const auto js = MakeField(R"({"id":"j","name":"j","type":"json"})");
    EXPECT_EQ(ConvertValue(js, std::string()), db::Value(nullptr));
    EXPECT_EQ(ConvertValue(js, std::string(R"({"k":1})")), db::Value(std::string(R"({"k":1})")));
}

}  // namespace
}  // namespace basalt::importer
