// SPDX-License-Identifier: MIT
// Runs tests/golden/query/*.case: filter (and sort) text -> expected joins, SQL and parameters, or
// an expected error, each case reported as a test of its own (GoldenQuery/Cases.Matches/<file>_<case>).
// Adding a case needs no C++. With BASALT_GOLDEN_UPDATE=1 the files are
// rewritten with what the compiler produces now (review the diff before committing).
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include "query/compiler.hpp"
#include "unit/query/test_catalog.hpp"

namespace basalt::query {
namespace {

namespace fs = std::filesystem;

struct Case {
    std::string name;
    std::vector<std::pair<std::string, std::string>> inputs;  // key, value in file order
    std::vector<std::string> joins;
    std::string where;
    std::string params;
    std::string order;
    std::string error;
    bool has_expectation = false;
};

std::string Get(const Case& c, std::string_view key) {
    for (const auto& [k, v] : c.inputs) {
        if (k == key) {
            return v;
        }
    }
    return {};
}

bool Has(const Case& c, std::string_view key) {
    for (const auto& [k, v] : c.inputs) {
        if (k == key) {
            return true;
        }
    }
    return false;
}

std::vector<Case> Load(const fs::path& file, std::vector<std::string>& header) {
    std::ifstream in(file);
    std::vector<Case> cases;
    std::string line;
    bool in_header = true;
    while (std::getline(in, line)) {
        if (line.rfind("== ", 0) == 0) {
            in_header = false;
            cases.push_back({});
            cases.back().name = line.substr(3);
            continue;
        }
        if (in_header) {
            header.push_back(line);
            continue;
        }
        if (line.empty() || line[0] == '#' || cases.empty()) {
            continue;
        }
        const auto colon = line.find(": ");
        const std::string key = line.substr(0, colon == std::string::npos ? line.size() - 1 : colon);
        const std::string value = colon == std::string::npos ? "" : line.substr(colon + 2);
        Case& c = cases.back();
        if (key == "joins") {
            c.joins.push_back(value);
            c.has_expectation = true;
        } else if (key == "where") {
            c.where = value;
            c.has_expectation = true;
        } else if (key == "params") {
            c.params = value;
        } else if (key == "order") {
            c.order = value;
            c.has_expectation = true;
        } else if (key == "error") {
            c.error = value;
            c.has_expectation = true;
        } else {
            c.inputs.emplace_back(key, value);
        }
    }
    return cases;
}

std::string ParamsJson(const std::vector<db::Value>& params) {
    boost::json::array a;
    for (const auto& v : params) {
        if (std::holds_alternative<std::nullptr_t>(v)) {
            a.emplace_back(nullptr);
        } else if (const auto* i = std::get_if<std::int64_t>(&v)) {
            a.emplace_back(*i);
        } else if (const auto* d = std::get_if<double>(&v)) {
            a.emplace_back(*d);
        } else {
            a.emplace_back(std::get<std::string>(v));
        }
    }
    return boost::json::serialize(a);
}

boost::json::object ObjectOf(const std::string& text) {
    return text.empty() ? boost::json::object{} : boost::json::parse(text).as_object();
}

// Compiles one case; fills the "actual" fields.
Case RunCase(const Case& c, const schema::Catalog& catalog) {
    Case out = c;
    out.joins.clear();
    out.where.clear();
    out.params.clear();
    out.order.clear();
    out.error.clear();
    const std::string coll = Has(c, "collection") ? Get(c, "collection") : "posts";
    const schema::Collection* root = catalog.Find(coll);
    if (root == nullptr) {
        out.error = "test: unknown collection " + coll;
        return out;
    }
    RequestInfo req;
    if (Has(c, "auth")) {
        req.auth = std::make_shared<const boost::json::object>(ObjectOf(Get(c, "auth")));
    }
    req.body = ObjectOf(Get(c, "body"));
    req.query = ObjectOf(Get(c, "query"));
    req.headers = ObjectOf(Get(c, "headers"));
    if (Has(c, "context")) {
        req.context = Get(c, "context");
    }
    if (Has(c, "method")) {
        req.method = Get(c, "method");
    }
    CompileOptions opt;
    opt.now = SystemTime{std::chrono::milliseconds(1715768430123)};  // 2024-05-15 10:20:30.123Z
    const std::string mode = Get(c, "mode");
    opt.allow_hidden = mode == "rule" || mode == "superuser";
    opt.allow_request = mode == "rule" || mode == "superuser";
    opt.request = &req;
    Compiler compiler(*root, catalog, opt);
    if (Has(c, "filter")) {
        auto r = compiler.AddFilter(Get(c, "filter"));
        if (!r) {
            out.error = r.error().message;
            return out;
        }
    }
    if (Has(c, "sort")) {
        auto r = compiler.SetSort(Get(c, "sort"));
        if (!r) {
            out.error = r.error().message;
            return out;
        }
    }
    const CompiledFilter f = compiler.Build();
    out.joins = f.joins;
    out.where = f.where;
    std::vector<db::Value> all = f.join_params;
    all.insert(all.end(), f.params.begin(), f.params.end());
    all.insert(all.end(), f.order_params.begin(), f.order_params.end());
    out.params = ParamsJson(all);
    out.order = f.order_by;
    return out;
}

void Write(const fs::path& file, const std::vector<std::string>& header, const std::vector<Case>& cases) {
    std::ofstream o(file);
    for (const auto& h : header) {
        o << h << "\n";
    }
    for (const auto& c : cases) {
        o << "== " << c.name << "\n";
        for (const auto& [k, v] : c.inputs) {
            o << k << ": " << v << "\n";
        }
        if (!c.error.empty()) {
            o << "error: " << c.error << "\n\n";
            continue;
        }
        for (const auto& j : c.joins) {
            o << "joins: " << j << "\n";
        }
        o << "where: " << c.where << "\n";
        o << "params: " << c.params << "\n";
        if (!c.order.empty()) {
            o << "order: " << c.order << "\n";
        }
        o << "\n";
    }
}

fs::path GoldenDir() {
    return fs::path(BASALT_SOURCE_DIR) / "tests/golden/query";
}

std::vector<fs::path> CaseFiles() {
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(GoldenDir())) {
        if (entry.path().extension() == ".case") {
            files.push_back(entry.path());
        }
    }
    std::sort(files.begin(), files.end());
    return files;
}

// One golden case as a test of its own: <file>_<case name>, so ctest and gtest report each.
struct GoldenCase {
    std::string file;
    std::string test_name;
    Case c;
};

// How gtest shows a case (in --gtest_list_tests and failures).
void PrintTo(const GoldenCase& g, std::ostream* os) {
    *os << g.file << ": " << g.c.name;
}

std::vector<GoldenCase> AllCases() {
    std::vector<GoldenCase> out;
    std::set<std::string> names;
    for (const auto& file : CaseFiles()) {
        std::vector<std::string> header;
        for (auto& c : Load(file, header)) {
            std::string name = file.stem().string() + "_" + c.name;
            for (char& ch : name) {
                if (std::isalnum(static_cast<unsigned char>(ch)) == 0) {
                    ch = '_';
                }
            }
            const std::string base = name;
            for (int n = 2; !names.insert(name).second; ++n) {
                name = base + "_" + std::to_string(n);
            }
            out.push_back({file.filename().string(), std::move(name), std::move(c)});
        }
    }
    return out;
}

class GoldenQuery : public ::testing::TestWithParam<GoldenCase> {};

TEST_P(GoldenQuery, Matches) {
    if (std::getenv("BASALT_GOLDEN_UPDATE") != nullptr) {
        GTEST_SKIP() << "BASALT_GOLDEN_UPDATE: GoldenQueryFiles.UpdateWhenAsked rewrites the files";
    }
    static const auto catalog = testing::QueryTestCatalog();
    const Case& c = GetParam().c;
    const std::string where = GetParam().file + ": " + c.name;
    ASSERT_TRUE(c.has_expectation) << where << ": no expectation (run with BASALT_GOLDEN_UPDATE=1)";
    const Case a = RunCase(c, catalog);
    if (!c.error.empty()) {
        EXPECT_NE(a.error.find(c.error), std::string::npos)
            << where << "\n  expected error: " << c.error << "\n  actual: " << (a.error.empty() ? a.where : a.error);
        return;
    }
    EXPECT_EQ(a.error, "") << where;
    EXPECT_EQ(a.joins, c.joins) << where;
    EXPECT_EQ(a.where, c.where) << where;
    EXPECT_EQ(a.params, c.params) << where;
    EXPECT_EQ(a.order, c.order) << where;
}

INSTANTIATE_TEST_SUITE_P(Cases, GoldenQuery, ::testing::ValuesIn(AllCases()), [](const auto& p) {
    return p.param.test_name;
});

TEST(GoldenQueryFiles, HoldEnoughCases) {
    EXPECT_GE(AllCases().size(), 100U) << "the golden suite shrank";
}

TEST(GoldenQueryFiles, UpdateWhenAsked) {
    if (std::getenv("BASALT_GOLDEN_UPDATE") == nullptr) {
        return;  // a normal run: the cases above check the files
    }
    const auto catalog = testing::QueryTestCatalog();
    for (const auto& file : CaseFiles()) {
        std::vector<std::string> header;
        std::vector<Case> actual;
        for (const auto& c : Load(file, header)) {
            actual.push_back(RunCase(c, catalog));
        }
        Write(file, header, actual);
    }
}

}  // namespace
}  // namespace basalt::query
