// SPDX-License-Identifier: MIT
#include "records/codec.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <regex>
#include <set>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "core/ids.hpp"
#include "core/json.hpp"
#include "core/json_text.hpp"
#include "core/text.hpp"

namespace basalt::records {

namespace {

namespace json = boost::json;
using schema::FieldType;

// PocketBase's editor field limit when maxSize is 0 (DefaultEditorFieldMaxSize).
constexpr std::int64_t kDefaultEditorMaxSize = 5 << 20;

double NumberOption(const schema::Field& f, std::string_view key, double fallback) {
    const auto* v = f.options.if_contains(key);
    if (v == nullptr || v->is_null()) {
        return fallback;
    }
    if (v->is_int64()) {
        return static_cast<double>(v->as_int64());
    }
    if (v->is_uint64()) {
        return static_cast<double>(v->as_uint64());
    }
    if (v->is_double()) {
        return v->as_double();
    }
    return fallback;
}

bool HasNumberOption(const schema::Field& f, std::string_view key) {
    const auto* v = f.options.if_contains(key);
    return v != nullptr && v->is_number();
}

void Add(std::vector<FieldError>& errors, const schema::Field& f, std::string code, std::string message) {
    errors.push_back({f.name, std::move(code), std::move(message)});
}

// An error with PocketBase's `params` (one number: {"min":3}); the message has it filled in.
void AddWithParam(
    std::vector<FieldError>& errors,
    const schema::Field& f,
    std::string code,
    std::string message,
    std::string_view param,
    double value
) {
    // Go's JSON and text/template both print a float64 this way (5 -> 5, 1.5 -> 1.5).
    errors.push_back(
        {f.name,
         std::move(code),
         std::move(message),
         {},
         "{\"" + std::string(param) + "\":" + FormatGoFloat(value) + "}"}
    );
}

// Any scalar as text, as PocketBase's cast.ToString does.
std::optional<std::string> AsText(const json::value& v) {
    if (v.is_string()) {
        return std::string(v.as_string());
    }
    if (v.is_null()) {
        return std::string();
    }
    if (v.is_bool()) {
        return std::string(v.as_bool() ? "true" : "false");
    }
    if (v.is_number()) {
        return json::serialize(v);
    }
    return std::nullopt;
}

std::optional<double> AsNumber(const json::value& v) {
    if (v.is_number()) {
        const double d = v.to_number<double>();
        return std::isfinite(d) ? std::optional<double>(d) : std::nullopt;
    }
    if (v.is_string()) {
        // Go's strconv.ParseFloat: an optional sign, decimal or exponent form, "NaN"/"Inf" spelled
        // out (returned as they are: the caller refuses them).
        std::string_view s = v.as_string();
        if (s.empty()) {
            return 0.0;
        }
        if (s.front() == '+' && s.size() > 1 && s[1] != '-') {
            s.remove_prefix(1);
        }
        double d = 0;
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
        if (ec == std::errc() && p == s.data() + s.size()) {
            return d;
        }
        return std::nullopt;
    }
    if (v.is_bool()) {
        return v.as_bool() ? 1.0 : 0.0;
    }
    if (v.is_null()) {
        return 0.0;
    }
    return std::nullopt;
}

db::Value NumberValue(double d) {
    if (std::floor(d) == d && std::fabs(d) < 9.0e15) {
        return static_cast<std::int64_t>(d);
    }
    return d;
}

// The submitted values of a select/relation field as a list (a single string becomes one item).
std::optional<std::vector<std::string>> AsList(const json::value& v) {
    std::vector<std::string> out;
    if (v.is_null()) {
        return out;
    }
    if (v.is_string()) {
        if (!v.as_string().empty()) {
            out.emplace_back(v.as_string());
        }
        return out;
    }
    if (!v.is_array()) {
        return std::nullopt;
    }
    std::set<std::string> seen;
    for (const auto& item : v.as_array()) {
        if (!item.is_string()) {
            return std::nullopt;
        }
        std::string s(item.as_string());
        if (!s.empty() && seen.insert(s).second) {
            out.push_back(std::move(s));
        }
    }
    return out;
}

bool IsUrl(std::string_view u) {
    std::string_view rest;
    if (u.rfind("http://", 0) == 0) {
        rest = u.substr(7);
    } else if (u.rfind("https://", 0) == 0) {
        rest = u.substr(8);
    } else {
        return false;
    }
    if (rest.empty() || rest.front() == '/' || u.size() > 2048) {
        return false;
    }
    for (char c : u) {
        if (static_cast<unsigned char>(c) <= 0x20) {
            return false;
        }
    }
    return true;
}

std::string JsonList(const std::vector<std::string>& items) {
    json::array a;
    for (const auto& s : items) {
        a.emplace_back(s);
    }
    return json::serialize(a);
}

}  // namespace

std::optional<std::string> NormalizeDate(std::string_view t) {
    if (t.size() < 10 || t.size() > 40) {
        return std::nullopt;
    }
    auto num = [&](std::size_t pos, std::size_t len, int& out) {
        if (pos + len > t.size()) {
            return false;
        }
        out = 0;
        for (std::size_t i = pos; i < pos + len; ++i) {
            if (t[i] < '0' || t[i] > '9') {
                return false;
            }
            out = out * 10 + (t[i] - '0');
        }
        return true;
    };
    int y = 0, mo = 0, d = 0, h = 0, mi = 0, s = 0, ms = 0;
    if (!num(0, 4, y) || t[4] != '-' || !num(5, 2, mo) || t[7] != '-' || !num(8, 2, d)) {
        return std::nullopt;
    }
    std::size_t i = 10;
    long offset_minutes = 0;
    if (i < t.size()) {
        if (t[i] != ' ' && t[i] != 'T') {
            return std::nullopt;
        }
        if (!num(i + 1, 2, h) || t.size() < i + 9 || t[i + 3] != ':' || !num(i + 4, 2, mi) || t[i + 6] != ':' ||
            !num(i + 7, 2, s)) {
            return std::nullopt;
        }
        i += 9;
        if (i < t.size() && t[i] == '.') {
            ++i;
            int digits = 0;
            int frac = 0;
            while (i < t.size() && t[i] >= '0' && t[i] <= '9') {
                if (digits < 3) {
                    frac = frac * 10 + (t[i] - '0');
                }
                ++digits;
                ++i;
            }
            if (digits == 0) {
                return std::nullopt;
            }
            for (int k = digits; k < 3; ++k) {
                frac *= 10;
            }
            ms = frac;
        }
        if (i < t.size()) {
            if (t[i] == 'Z' && i + 1 == t.size()) {
                ++i;
            } else if ((t[i] == '+' || t[i] == '-') && t.size() == i + 6 && t[i + 3] == ':') {
                int oh = 0, om = 0;
                if (!num(i + 1, 2, oh) || !num(i + 4, 2, om)) {
                    return std::nullopt;
                }
                offset_minutes = (t[i] == '+' ? 1 : -1) * (oh * 60L + om);
            } else {
                return std::nullopt;
            }
        }
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60) {
        return std::nullopt;
    }
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    std::time_t secs = timegm(&tm) - offset_minutes * 60;
    std::tm out{};
    gmtime_r(&secs, &out);
    if (offset_minutes == 0 && out.tm_mday != d) {
        return std::nullopt;  // 2024-02-31 and the like
    }
    char buf[64];
    std::snprintf(
        buf,
        sizeof(buf),
        "%04d-%02d-%02d %02d:%02d:%02d.%03dZ",
        out.tm_year + 1900,
        out.tm_mon + 1,
        out.tm_mday,
        out.tm_hour,
        out.tm_min,
        out.tm_sec,
        ms
    );
    return std::string(buf);
}

std::optional<FieldError> PasswordLengthError(
    const schema::Field* field, std::string_view plain, std::string_view name
) {
    std::int64_t min = 0;
    std::int64_t max = 0;
    if (field != nullptr) {
        min = static_cast<std::int64_t>(NumberOption(*field, "min", 0));
        max = static_cast<std::int64_t>(NumberOption(*field, "max", 0));
    }
    if (max <= 0) {
        max = kDefaultPasswordMax;
    }
    const auto n = static_cast<std::int64_t>(Utf8Length(plain));
    if (n < min) {
        return FieldError{
            std::string(name),
            "validation_min_text_constraint",
            "Must be at least " + std::to_string(min) + " character(s)."};
    }
    if (n > max) {
        return FieldError{
            std::string(name),
            "validation_max_text_constraint",
            "Must be less than " + std::to_string(max) + " character(s)."};
    }
    return std::nullopt;
}

db::Value NormalizeValue(const schema::Field& f, const json::value* in, std::vector<FieldError>& errors) {
    static const json::value kNull;
    const json::value& v = in != nullptr ? *in : kNull;
    const bool required = f.BoolOption("required");
    const std::size_t before = errors.size();
    switch (f.type) {
        case FieldType::kText:
        case FieldType::kEditor:
        case FieldType::kEmail:
        case FieldType::kUrl: {
            auto text = AsText(v);
            if (!text) {
                Add(errors, f, "validation_invalid_value", "Must be a string.");
                return std::string();
            }
            if (required && text->empty()) {
                Add(errors, f, "validation_required", "Cannot be blank.");
            }
            if (f.type == FieldType::kText && !text->empty()) {
                // Lengths count characters (UTF-8 code points), as PocketBase does; min only when set.
                const auto min = static_cast<std::int64_t>(NumberOption(f, "min", 0));
                auto max = static_cast<std::int64_t>(NumberOption(f, "max", 0));
                if (max <= 0) {
                    max = 5000;
                }
                const auto n = static_cast<std::int64_t>(Utf8Length(*text));
                if (min > 0 && n < min) {
                    AddWithParam(
                        errors,
                        f,
                        "validation_min_text_constraint",
                        "Must be at least " + std::to_string(min) + " character(s).",
                        "min",
                        static_cast<double>(min)
                    );
                } else if (n > max) {
                    AddWithParam(
                        errors,
                        f,
                        "validation_max_text_constraint",
                        "Must be no more than " + std::to_string(max) + " character(s).",
                        "max",
                        static_cast<double>(max)
                    );
                }
                const std::string pattern = f.StringOption("pattern");
                if (!pattern.empty() && errors.size() == before) {
                    try {
                        if (!std::regex_search(*text, std::regex(pattern))) {
                            Add(errors, f, "validation_invalid_format", "Invalid value format.");
                        }
                    } catch (const std::regex_error&) {
                        Add(errors, f, "validation_invalid_format", "Invalid value format.");
                    }
                }
            }
            if (f.type == FieldType::kEditor) {
                auto max = static_cast<std::int64_t>(NumberOption(f, "maxSize", 0));
                if (max <= 0) {
                    max = kDefaultEditorMaxSize;
                }
                if (static_cast<std::int64_t>(text->size()) > max) {
                    AddWithParam(
                        errors,
                        f,
                        "validation_content_size_limit",
                        "The maximum allowed content size is " + std::to_string(max) + " bytes.",
                        "maxSize",
                        static_cast<double>(max)
                    );
                }
            }
            if (f.type == FieldType::kEmail && !text->empty() && !IsEmail(*text)) {
                Add(errors, f, "validation_is_email", "Must be a valid email address.");
            }
            if (f.type == FieldType::kUrl && !text->empty() && !IsUrl(*text)) {
                Add(errors, f, "validation_invalid_url", "Must be a valid url.");
            }
            return std::move(*text);
        }
        case FieldType::kNumber: {
            // As PocketBase's cast.ToFloat64: what does not read as a number is 0; only a NaN or an
            // infinity (spelled out in a string) is refused.
            const double d = AsNumber(v).value_or(0.0);
            if (!std::isfinite(d)) {
                Add(errors, f, "validation_not_a_number", "The submitted number is not properly formatted.");
                return static_cast<std::int64_t>(0);
            }
            if (d == 0) {
                if (required) {
                    Add(errors, f, "validation_required", "Cannot be blank.");
                }
                return NumberValue(d);
            }
            if (f.BoolOption("onlyInt") && std::floor(d) != d) {
                Add(errors, f, "validation_only_int_constraint", "Decimal numbers are not allowed.");
            } else if (HasNumberOption(f, "min") && d < NumberOption(f, "min", 0)) {
                const double min = NumberOption(f, "min", 0);
                AddWithParam(
                    errors,
                    f,
                    "validation_min_number_constraint",
                    "Must be greater or equal than " + FormatGoFloat(min) + ".",
                    "min",
                    min
                );
            } else if (HasNumberOption(f, "max") && d > NumberOption(f, "max", 0)) {
                const double max = NumberOption(f, "max", 0);
                AddWithParam(
                    errors,
                    f,
                    "validation_max_number_constraint",
                    "Must be less or equal than " + FormatGoFloat(max) + ".",
                    "max",
                    max
                );
            }
            return NumberValue(d);
        }
        case FieldType::kBool: {
            bool b = false;
            if (v.is_bool()) {
                b = v.as_bool();
            } else if (v.is_string()) {
                const std::string s(v.as_string());
                b = s == "true" || s == "1" || s == "TRUE" || s == "True" || s == "t";
            } else if (v.is_number()) {
                b = v.to_number<double>() != 0;
            }
            if (required && !b) {
                Add(errors, f, "validation_required", "Cannot be blank.");
            }
            return static_cast<std::int64_t>(b ? 1 : 0);
        }
        case FieldType::kDate: {
            // As PocketBase: a value that does not parse as a date is no date ("").
            const auto text = v.is_string() ? std::optional<std::string>(std::string(v.as_string())) : std::nullopt;
            auto d = text && !text->empty() ? NormalizeDate(*text) : std::nullopt;
            if (!d) {
                if (required) {
                    Add(errors, f, "validation_required", "Cannot be blank.");
                }
                return std::string();
            }
            return std::move(*d);
        }
        case FieldType::kAutodate:
            return std::string();  // set by the service, never by clients
        case FieldType::kSelect:
        case FieldType::kRelation: {
            auto list = AsList(v);
            if (!list) {
                Add(errors, f, "validation_invalid_value", "Must be a string or a list of strings.");
                list.emplace();
            }
            if (f.type == FieldType::kSelect) {
                std::set<std::string> allowed;
                if (const auto* vals = f.options.if_contains("values"); vals != nullptr && vals->is_array()) {
                    for (const auto& a : vals->as_array()) {
                        if (a.is_string()) {
                            allowed.emplace(a.as_string());
                        }
                    }
                }
                for (const auto& item : *list) {
                    if (!allowed.contains(item)) {
                        Add(errors, f, "validation_invalid_value", "Invalid value " + item + ".");
                        break;
                    }
                }
            } else {
                for (const auto& id : *list) {
                    if (id.size() > 255) {
                        Add(errors, f, "validation_invalid_value", "Invalid record id.");
                        break;
                    }
                }
            }
            const bool many = f.IsMultiple();
            const std::int64_t max = many ? f.MaxSelect() : 1;
            if (required && list->empty()) {
                Add(errors, f, "validation_required", "Cannot be blank.");
            }
            if (static_cast<std::int64_t>(list->size()) > max) {
                Add(errors, f, "validation_too_many_values", "Select no more than " + std::to_string(max) + ".");
            }
            const double min_select = NumberOption(f, "minSelect", 0);
            if (!list->empty() && static_cast<double>(list->size()) < min_select) {
                Add(errors,
                    f,
                    "validation_not_enough_values",
                    "Select at least " + std::to_string(static_cast<long long>(min_select)) + ".");
            }
            if (many) {
                return JsonList(*list);
            }
            if (list->empty()) {
                return f.type == FieldType::kRelation ? db::Value(nullptr) : db::Value(std::string());
            }
            return list->front();
        }
        case FieldType::kJson: {
            if (v.is_null()) {
                if (required) {
                    Add(errors, f, "validation_required", "Cannot be blank.");
                }
                return nullptr;
            }
            std::string text = json::serialize(v);
            double max = NumberOption(f, "maxSize", 0);
            if (max <= 0) {
                max = 1 << 20;
            }
            if (static_cast<double>(text.size()) > max) {
                Add(errors,
                    f,
                    "validation_json_size_limit",
                    "The maximum allowed JSON size is " + std::to_string(static_cast<long long>(max)) + " bytes.");
            }
            return text;
        }
        case FieldType::kGeoPoint: {
            double lon = 0;
            double lat = 0;
            if (v.is_object()) {
                const auto* lo = v.as_object().if_contains("lon");
                const auto* la = v.as_object().if_contains("lat");
                if (lo == nullptr || la == nullptr || !lo->is_number() || !la->is_number()) {
                    Add(errors, f, "validation_invalid_value", "Must be {\"lon\": number, \"lat\": number}.");
                } else {
                    lon = lo->to_number<double>();
                    lat = la->to_number<double>();
                    if (lat < -90 || lat > 90) {
                        Add(errors, f, "validation_invalid_latitude", "Latitude must be between -90 and 90 degrees.");
                    } else if (lon < -180 || lon > 180) {
                        Add(errors, f, "validation_invalid_longitude", "Longitude must be between -180 and 180 degrees."
                        );
                    }
                }
            } else if (!v.is_null()) {
                Add(errors, f, "validation_invalid_value", "Must be {\"lon\": number, \"lat\": number}.");
            }
            if (required && lon == 0 && lat == 0) {
                Add(errors, f, "validation_required", "Cannot be blank.");
            }
            return json::serialize(json::object{{"lon", lon}, {"lat", lat}});
        }
        case FieldType::kPassword: {
            // A password field outside an auth collection (`_otps`): checked as PocketBase checks it;
            // the service stores its digest, never the text (auth collections' passwords are hashed
            // by the API layer and never come here).
            auto text = AsText(v);
            if (!text || text->empty()) {
                if (required) {
                    Add(errors, f, "validation_required", "Cannot be blank.");
                }
                return std::string();
            }
            if (auto e = PasswordLengthError(&f, *text, f.name)) {
                errors.push_back(std::move(*e));
            }
            return std::move(*text);
        }
        case FieldType::kFile:
            break;
    }
    return std::string();
}

namespace {

// A stored number as JSON: integral values as integers (2, not 2E0), others as doubles.
json::value NumberJson(double d) {
    if (!std::isfinite(d)) {
        return nullptr;
    }
    const db::Value v = NumberValue(d);
    if (const auto* i = std::get_if<std::int64_t>(&v)) {
        return *i;
    }
    return d;
}

}  // namespace

json::value ColumnToJson(const schema::Field& f, const db::Value& c) {
    if (f.IsMultiple()) {
        boost::system::error_code ec;
        auto v = json::parse(db::AsString(c, "[]"), ec);
        return !ec && v.is_array() ? v : json::value(json::array{});
    }
    switch (f.type) {
        case FieldType::kNumber:
            if (const auto* i = std::get_if<std::int64_t>(&c)) {
                return *i;
            }
            if (const auto* d = std::get_if<double>(&c)) {
                return NumberJson(*d);
            }
            return 0;
        case FieldType::kBool:
            return db::AsInt(c) != 0;
        case FieldType::kJson: {
            if (const auto* i = std::get_if<std::int64_t>(&c)) {
                return *i;
            }
            if (const auto* d = std::get_if<double>(&c)) {
                return NumberJson(*d);
            }
            const auto* s = std::get_if<std::string>(&c);
            if (s == nullptr) {
                return nullptr;
            }
            // basalt writes valid JSON; a view's expression may yield plain text, kept as a string.
            boost::system::error_code ec;
            auto v = ParseJson(*s, ec);
            return ec ? json::value(*s) : v;
        }
        case FieldType::kGeoPoint: {
            boost::system::error_code ec;
            auto v = json::parse(db::AsString(c, R"({"lon":0,"lat":0})"), ec);
            return !ec && v.is_object() ? v : json::value(json::object{{"lon", 0}, {"lat", 0}});
        }
        default:
            return json::value(db::AsString(c));
    }
}

void AppendColumnJson(std::string& out, const schema::Field& f, const db::Value& c) {
    const bool json_text = f.IsMultiple() || f.type == FieldType::kJson || f.type == FieldType::kGeoPoint;
    if (json_text) {
        const auto* s = std::get_if<std::string>(&c);
        if (s != nullptr && !s->empty() && f.type != FieldType::kJson) {
            out += *s;
            return;
        }
        out += json::serialize(ColumnToJson(f, c));
        return;
    }
    switch (f.type) {
        case FieldType::kNumber:
            if (const auto* i = std::get_if<std::int64_t>(&c)) {
                out += std::to_string(*i);
            } else {
                out += json::serialize(ColumnToJson(f, c));
            }
            return;
        case FieldType::kBool:
            out += db::AsInt(c) != 0 ? "true" : "false";
            return;
        default:
            if (const auto* s = std::get_if<std::string>(&c)) {
                AppendJsonString(out, *s);
            } else {
                AppendJsonString(out, db::AsString(c));
            }
    }
}

void AppendColumnJson(std::string& out, const schema::Field& f, const db::RowView& row, int column) {
    using T = db::RowView::Type;
    const T type = row.TypeOf(column);
    const bool json_text = f.IsMultiple() || f.type == FieldType::kJson || f.type == FieldType::kGeoPoint;
    if (json_text && type == T::kText && !row.Text(column).empty() && f.type != FieldType::kJson) {
        out += row.Text(column);  // JSON text written by basalt
        return;
    }
    if (type == T::kText && !json_text && f.type != FieldType::kNumber && f.type != FieldType::kBool) {
        AppendJsonString(out, row.Text(column));
        return;
    }
    // Rare shapes (NULLs, numbers stored as text, ...) take the DOM path.
    db::Value v = nullptr;
    switch (type) {
        case T::kInt:
            v = row.Int(column);
            break;
        case T::kFloat:
            v = row.Float(column);
            break;
        case T::kText:
            v = std::string(row.Text(column));
            break;
        case T::kNull:
            break;
    }
    AppendColumnJson(out, f, v);
}

bool HasModifiers(const schema::Collection& c, const json::object& body) {
    for (const auto& [key, value] : body) {
        const std::string_view k = key;
        if (k.size() > 1 && (k.back() == '+' || k.back() == '-') && c.FindField(k.substr(0, k.size() - 1)) != nullptr) {
            return true;
        }
        if (k.size() > 1 && k.front() == '+' && c.FindField(k.substr(1)) != nullptr) {
            return true;
        }
    }
    return false;
}

json::object ApplyModifiers(
    const schema::Collection& c, const json::object& body, const json::object* current, std::vector<FieldError>& errors
) {
    json::object out;
    for (const auto& [key, value] : body) {
        const std::string_view k = key;
        const bool modifier = (k.size() > 1 && (k.back() == '+' || k.back() == '-') &&
                               c.FindField(k.substr(0, k.size() - 1)) != nullptr) ||
                              (k.size() > 1 && k.front() == '+' && c.FindField(k.substr(1)) != nullptr);
        if (!modifier) {
            out[key] = value;
        }
    }
    for (const auto& f : c.fields) {
        const json::value* plus = body.if_contains(f.name + "+");
        const json::value* minus = body.if_contains(f.name + "-");
        const json::value* prepend = body.if_contains("+" + f.name);
        if (plus == nullptr && minus == nullptr && prepend == nullptr) {
            continue;
        }
        // The base: the submitted plain value, else the stored one, else the zero value.
        const json::value* base = out.if_contains(f.name);
        if (base == nullptr && current != nullptr) {
            base = current->if_contains(f.name);
        }
        if (f.type == FieldType::kNumber) {
            double n = base != nullptr ? AsNumber(*base).value_or(0) : 0;
            auto apply = [&](const json::value* delta, double sign) {
                if (delta == nullptr) {
                    return;
                }
                auto d = AsNumber(*delta);
                if (!d || !std::isfinite(*d)) {
                    Add(errors, f, "validation_invalid_number", "Must be a number.");
                    return;
                }
                n += sign * *d;
            };
            apply(plus, 1.0);
            apply(minus, -1.0);
            out[f.name] = n;
            continue;
        }
        if (f.type != FieldType::kSelect && f.type != FieldType::kRelation) {
            Add(errors, f, "validation_invalid_modifier", "This field has no +/- modifiers.");
            continue;
        }
        std::vector<std::string> items;
        if (base != nullptr) {
            auto list = AsList(*base);
            if (list) {
                items = std::move(*list);
            }
        }
        auto values_of = [&](const json::value* v) -> std::vector<std::string> {
            if (v == nullptr) {
                return {};
            }
            auto list = AsList(*v);
            if (!list) {
                Add(errors, f, "validation_invalid_value", "Must be a string or a list of strings.");
                return {};
            }
            return std::move(*list);
        };
        std::vector<std::string> front = values_of(prepend);
        front.insert(front.end(), items.begin(), items.end());
        items = std::move(front);
        for (auto& v : values_of(plus)) {
            items.push_back(std::move(v));
        }
        for (const auto& v : values_of(minus)) {
            items.erase(std::remove(items.begin(), items.end(), v), items.end());
        }
        json::array a;
        for (auto& v : items) {
            a.emplace_back(v);
        }
        out[f.name] = std::move(a);
    }
    return out;
}

std::vector<std::string> RelationIds(const schema::Field& f, const db::Value& c) {
    std::vector<std::string> out;
    if (f.IsMultiple()) {
        boost::system::error_code ec;
        auto v = json::parse(db::AsString(c, "[]"), ec);
        if (!ec && v.is_array()) {
            for (const auto& item : v.as_array()) {
                if (item.is_string() && !item.as_string().empty()) {
                    out.emplace_back(item.as_string());
                }
            }
        }
    } else if (!db::IsNull(c) && !db::AsString(c).empty()) {
        out.push_back(db::AsString(c));
    }
    return out;
}

}  // namespace basalt::records
