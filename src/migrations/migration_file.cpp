// SPDX-License-Identifier: MIT
#include "migrations/migration_file.hpp"

#include <algorithm>
#include <charconv>
#include <system_error>

#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>

#include "core/json.hpp"

namespace basalt::migrations {

namespace {

namespace json = boost::json;

Error Invalid(const std::string& where, const std::string& what) {
    return MakeError(ErrorCode::kInvalidArgument, where + ": " + what);
}

Result<Step> ParseStep(const json::value& v, const std::string& where) {
    if (!v.is_object() || v.as_object().size() != 1) {
        return Invalid(where, "a step is an object with one key: create, update, delete, import or sql");
    }
    const auto& [key, body] = *v.as_object().begin();
    const std::string at = where + "." + std::string(key);
    Step step;
    if (key == "create" || key == "update") {
        step.kind = key == "create" ? StepKind::kCreate : StepKind::kUpdate;
        if (!body.is_object()) {
            return Invalid(at, "expected a collection object");
        }
        step.collection = body.as_object();
        const auto* id = step.collection.if_contains("id");
        const auto* name = step.collection.if_contains("name");
        const bool has_id = id != nullptr && id->is_string() && !id->as_string().empty();
        const bool has_name = name != nullptr && name->is_string() && !name->as_string().empty();
        if (step.kind == StepKind::kUpdate && !has_id && !has_name) {
            return Invalid(at, "the collection needs an id or a name");
        }
    } else if (key == "delete") {
        if (!body.is_string() || body.as_string().empty()) {
            return Invalid(at, "expected the id or name of a collection");
        }
        step.kind = StepKind::kDelete;
        step.target = std::string(body.as_string());
    } else if (key == "import") {
        step.kind = StepKind::kImport;
        const auto* o = body.if_object();
        const auto* list = o != nullptr ? o->if_contains("collections") : nullptr;
        if (list == nullptr || !list->is_array() || list->as_array().empty()) {
            return Invalid(
                at, "expected {\"collections\": [...], \"deleteMissing\": false} with at least one collection"
            );
        }
        for (const auto& [k, unused] : *o) {
            if (k != "collections" && k != "deleteMissing") {
                return Invalid(at, "unknown key \"" + std::string(k) + "\"");
            }
        }
        step.collections = list->as_array();
        if (const auto* dm = o->if_contains("deleteMissing"); dm != nullptr) {
            if (!dm->is_bool()) {
                return Invalid(at + ".deleteMissing", "expected true or false");
            }
            step.delete_missing = dm->as_bool();
        }
    } else if (key == "sql") {
        if (!body.is_string() || body.as_string().empty()) {
            return Invalid(at, "expected SQL text");
        }
        step.kind = StepKind::kSql;
        step.sql = std::string(body.as_string());
    } else {
        return Invalid(where, "unknown step \"" + std::string(key) + "\" (create, update, delete, import or sql)");
    }
    return step;
}

Result<std::vector<Step>> ParseSteps(const json::value& v, const std::string& where) {
    if (!v.is_array()) {
        return Invalid(where, "expected an array of steps");
    }
    std::vector<Step> out;
    const auto& arr = v.as_array();
    for (std::size_t i = 0; i < arr.size(); ++i) {
        BASALT_ASSIGN_OR_RETURN(auto step, ParseStep(arr[i], where + "[" + std::to_string(i) + "]"));
        out.push_back(std::move(step));
    }
    return out;
}

json::value StepToJson(const Step& s) {
    switch (s.kind) {
        case StepKind::kCreate:
            return json::object{{"create", s.collection}};
        case StepKind::kUpdate:
            return json::object{{"update", s.collection}};
        case StepKind::kDelete:
            return json::object{{"delete", s.target}};
        case StepKind::kImport:
            return json::object{
                {"import", json::object{{"collections", s.collections}, {"deleteMissing", s.delete_missing}}}};
        case StepKind::kSql:
            return json::object{{"sql", s.sql}};
    }
    return json::object{};
}

// boost::json (1.81) serializes on one line; migration files are read and diffed by people.
void Pretty(const json::value& v, int depth, std::string& out) {
    const std::string pad(static_cast<std::size_t>(depth + 1) * 2, ' ');
    const std::string close_pad(static_cast<std::size_t>(depth) * 2, ' ');
    if (const auto* o = v.if_object(); o != nullptr && !o->empty()) {
        out += "{\n";
        bool first = true;
        for (const auto& [k, item] : *o) {
            out += first ? "" : ",\n";
            first = false;
            out += pad + json::serialize(json::value(k)) + ": ";
            Pretty(item, depth + 1, out);
        }
        out += "\n" + close_pad + "}";
    } else if (const auto* a = v.if_array(); a != nullptr && !a->empty()) {
        out += "[\n";
        for (std::size_t i = 0; i < a->size(); ++i) {
            out += (i == 0 ? "" : ",\n") + pad;
            Pretty((*a)[i], depth + 1, out);
        }
        out += "\n" + close_pad + "]";
    } else {
        out += json::serialize(v);
    }
}

std::string StringOf(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v != nullptr && v->is_string() ? std::string(v->as_string()) : std::string();
}

}  // namespace

Result<MigrationFile> ParseMigration(std::string_view text) {
    // A stream parser, to say where the text stops being JSON (line:column).
    json::parse_options opt;
    opt.max_depth = kMaxJsonDepth;
    json::stream_parser parser({}, opt);
    boost::system::error_code ec;
    const std::size_t used = parser.write(text.data(), text.size(), ec);
    if (!ec) {
        parser.finish(ec);
    }
    if (ec) {
        const std::string_view seen = text.substr(0, std::min(used, text.size()));
        const auto line = std::count(seen.begin(), seen.end(), '\n') + 1;
        const auto last_nl = seen.rfind('\n');
        const auto col = seen.size() - (last_nl == std::string_view::npos ? 0 : last_nl + 1) + 1;
        return MakeError(
            ErrorCode::kInvalidArgument,
            "invalid JSON at line " + std::to_string(line) + ", column " + std::to_string(col) + ": " + ec.message()
        );
    }
    const json::value doc = parser.release();
    if (!doc.is_object()) {
        return MakeError(ErrorCode::kInvalidArgument, "expected a JSON object with \"up\" and \"down\"");
    }
    const auto& o = doc.as_object();
    for (const auto& [k, unused] : o) {
        if (k != "up" && k != "down") {
            return MakeError(ErrorCode::kInvalidArgument, "unknown key \"" + std::string(k) + "\" (expected up, down)");
        }
    }
    const auto* up = o.if_contains("up");
    if (up == nullptr) {
        return MakeError(ErrorCode::kInvalidArgument, "\"up\" is missing");
    }
    MigrationFile file;
    BASALT_ASSIGN_OR_RETURN(file.up, ParseSteps(*up, "up"));
    if (const auto* down = o.if_contains("down"); down != nullptr) {
        BASALT_ASSIGN_OR_RETURN(file.down, ParseSteps(*down, "down"));
    }
    return file;
}

std::string FormatMigration(const MigrationFile& file) {
    json::array up;
    json::array down;
    for (const auto& s : file.up) {
        up.push_back(StepToJson(s));
    }
    for (const auto& s : file.down) {
        down.push_back(StepToJson(s));
    }
    std::string out;
    Pretty(json::object{{"up", std::move(up)}, {"down", std::move(down)}}, 0, out);
    out += "\n";
    return out;
}

std::string DescribeStep(const Step& s) {
    auto ident = [](const json::object& c) {
        std::string name = StringOf(c, "name");
        return name.empty() ? StringOf(c, "id") : name;
    };
    switch (s.kind) {
        case StepKind::kCreate:
            return "create " + ident(s.collection);
        case StepKind::kUpdate:
            return "update " + ident(s.collection);
        case StepKind::kDelete:
            return "delete " + s.target;
        case StepKind::kImport:
            return "import of " + std::to_string(s.collections.size()) + " collection(s)";
        case StepKind::kSql:
            return "sql";
    }
    return "step";
}

bool IsMigrationName(std::string_view name) {
    constexpr std::string_view kExt = ".json";
    if (name.size() <= kExt.size() || name.substr(name.size() - kExt.size()) != kExt) {
        return false;
    }
    if (name.find('/') != std::string_view::npos) {
        return false;
    }
    std::size_t digits = 0;
    while (digits < name.size() && name[digits] >= '0' && name[digits] <= '9') {
        ++digits;
    }
    return digits > 0 && digits < name.size() && name[digits] == '_';
}

Result<std::vector<std::string>> ListMigrations(const std::filesystem::path& dir) {
    std::vector<std::string> out;
    std::error_code ec;
    if (!std::filesystem::exists(dir, ec)) {
        return out;
    }
    std::filesystem::directory_iterator it(dir, ec);
    if (ec) {
        return MakeError(ErrorCode::kUnavailable, "cannot read " + dir.string() + ": " + ec.message());
    }
    for (const auto& entry : it) {
        const std::string name = entry.path().filename().string();
        if (IsMigrationName(name) && entry.is_regular_file(ec)) {
            out.push_back(name);
        }
    }
    std::sort(out.begin(), out.end());
    return out;
}

std::string MigrationFileName(std::int64_t unix_seconds, std::string_view name) {
    std::string stem;
    for (const char ch : name) {
        const bool word = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '_';
        stem += word ? ch : '_';
    }
    if (stem.size() > 100) {
        stem.resize(100);
    }
    return std::to_string(unix_seconds) + "_" + (stem.empty() ? "migration" : stem) + ".json";
}

std::int64_t MigrationTimestamp(std::string_view file_name) {
    std::int64_t value = 0;
    const auto [ptr, ec] = std::from_chars(file_name.data(), file_name.data() + file_name.size(), value);
    (void)ptr;
    return ec == std::errc{} ? value : 0;
}

}  // namespace basalt::migrations
