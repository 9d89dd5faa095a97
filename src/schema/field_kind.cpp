// SPDX-License-Identifier: MIT
// The table of field kinds and what differs between them: PocketBase's options of a new field, the
// checks of a definition's options, and the normalisation of submitted values (checks with
// PocketBase's codes, messages and params; conversion to the column value).
#include "schema/field_kind.hpp"

#include <array>
#include <cmath>

#include <boost/json/serialize.hpp>

#include "core/text.hpp"
#include "schema/collection.hpp"
#include "schema/field_values.hpp"
#include "schema/pattern.hpp"

namespace basalt::schema {

namespace {

namespace json = boost::json;

// PocketBase's limits when an option is 0: text max (characters), editor and json sizes (bytes).
constexpr std::int64_t kDefaultTextMax = 5000;
constexpr std::int64_t kDefaultEditorMaxSize = 5 << 20;
constexpr double kDefaultJsonMaxSize = 1 << 20;

void Add(std::vector<FieldError>& errors, const Field& f, std::string code, std::string message) {
    errors.push_back({f.name, std::move(code), std::move(message)});
}

void AddRequired(std::vector<FieldError>& errors, const Field& f) {
    Add(errors, f, "validation_required", "Cannot be blank.");
}

// An error with PocketBase's `params` (one number: {"min":3}); the message has it filled in.
void AddWithParam(
    std::vector<FieldError>& errors,
    const Field& f,
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

// ---- normalisation, one function per kind (or family of kinds) ----

// Text-like kinds read any scalar as text; `required` refuses "".
std::optional<std::string> TextOf(const Field& f, const json::value& v, std::vector<FieldError>& errors) {
    auto text = AsText(v);
    if (!text) {
        Add(errors, f, "validation_invalid_value", "Must be a string.");
        return std::nullopt;
    }
    if (f.Options().required && text->empty()) {
        AddRequired(errors, f);
    }
    return text;
}

// Lengths count characters (UTF-8 code points), as PocketBase does; min only when set; the pattern
// only when the lengths are right.
void CheckTextConstraints(const Field& f, const std::string& text, std::vector<FieldError>& errors) {
    const std::size_t before = errors.size();
    const auto min = static_cast<std::int64_t>(f.Options().min.value_or(0));
    auto max = static_cast<std::int64_t>(f.Options().max.value_or(0));
    if (max <= 0) {
        max = kDefaultTextMax;
    }
    const auto n = static_cast<std::int64_t>(Utf8Length(text));
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
    const std::string& pattern = f.Options().pattern;
    if (!pattern.empty() && errors.size() == before) {
        if (!PatternMatches(pattern, text)) {
            Add(errors, f, "validation_invalid_format", "Invalid value format.");
        }
    }
}

ColumnValue NormalizeText(const Field& f, const json::value& v, std::vector<FieldError>& errors) {
    auto text = TextOf(f, v, errors);
    if (!text) {
        return std::string();
    }
    if (!text->empty()) {
        CheckTextConstraints(f, *text, errors);
    }
    return std::move(*text);
}

ColumnValue NormalizeEditor(const Field& f, const json::value& v, std::vector<FieldError>& errors) {
    auto text = TextOf(f, v, errors);
    if (!text) {
        return std::string();
    }
    auto max = static_cast<std::int64_t>(f.Options().max_size);
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
    return std::move(*text);
}

ColumnValue NormalizeEmail(const Field& f, const json::value& v, std::vector<FieldError>& errors) {
    auto text = TextOf(f, v, errors);
    if (!text) {
        return std::string();
    }
    if (!text->empty() && !IsEmail(*text)) {
        Add(errors, f, "validation_is_email", "Must be a valid email address.");
    }
    return std::move(*text);
}

ColumnValue NormalizeUrl(const Field& f, const json::value& v, std::vector<FieldError>& errors) {
    auto text = TextOf(f, v, errors);
    if (!text) {
        return std::string();
    }
    if (!text->empty() && !IsUrl(*text)) {
        Add(errors, f, "validation_invalid_url", "Must be a valid url.");
    }
    return std::move(*text);
}

// As PocketBase's cast.ToFloat64: what does not read as a number is 0; only a NaN or an infinity
// (spelled out in a string) is refused.
ColumnValue NormalizeNumber(const Field& f, const json::value& v, std::vector<FieldError>& errors) {
    const double d = ValueAsNumber(v).value_or(0.0);
    if (!std::isfinite(d)) {
        Add(errors, f, "validation_not_a_number", "The submitted number is not properly formatted.");
        return static_cast<std::int64_t>(0);
    }
    const FieldOptions& o = f.Options();
    if (d == 0) {
        if (o.required) {
            AddRequired(errors, f);
        }
        return NumberColumn(d);
    }
    if (o.only_int && std::floor(d) != d) {
        Add(errors, f, "validation_only_int_constraint", "Decimal numbers are not allowed.");
    } else if (o.min && d < *o.min) {
        AddWithParam(
            errors,
            f,
            "validation_min_number_constraint",
            "Must be greater or equal than " + FormatGoFloat(*o.min) + ".",
            "min",
            *o.min
        );
    } else if (o.max && d > *o.max) {
        AddWithParam(
            errors,
            f,
            "validation_max_number_constraint",
            "Must be less or equal than " + FormatGoFloat(*o.max) + ".",
            "max",
            *o.max
        );
    }
    return NumberColumn(d);
}

ColumnValue NormalizeBool(const Field& f, const json::value& v, std::vector<FieldError>& errors) {
    bool b = false;
    if (v.is_bool()) {
        b = v.as_bool();
    } else if (v.is_string()) {
        const std::string s(v.as_string());
        b = s == "true" || s == "1" || s == "TRUE" || s == "True" || s == "t";
    } else if (v.is_number()) {
        b = v.to_number<double>() != 0;
    }
    if (f.Options().required && !b) {
        AddRequired(errors, f);
    }
    return static_cast<std::int64_t>(b ? 1 : 0);
}

// As PocketBase: a value that does not parse as a date is no date ("").
ColumnValue NormalizeDateValue(const Field& f, const json::value& v, std::vector<FieldError>& errors) {
    const auto text = v.is_string() ? std::optional<std::string>(std::string(v.as_string())) : std::nullopt;
    auto d = text && !text->empty() ? NormalizeDate(*text) : std::nullopt;
    if (!d) {
        if (f.Options().required) {
            AddRequired(errors, f);
        }
        return std::string();
    }
    return std::move(*d);
}

// Set by the records service, never by clients.
ColumnValue NormalizeAutodate(const Field& /*f*/, const json::value& /*v*/, std::vector<FieldError>& /*errors*/) {
    return std::string();
}

// Common to select and relation: required, maxSelect, minSelect; the column value.
ColumnValue ListColumn(const Field& f, const std::vector<std::string>& list, std::vector<FieldError>& errors) {
    const bool many = f.IsMultiple();
    const std::int64_t max = many ? f.MaxSelect() : 1;
    if (f.Options().required && list.empty()) {
        AddRequired(errors, f);
    }
    if (static_cast<std::int64_t>(list.size()) > max) {
        Add(errors, f, "validation_too_many_values", "Select no more than " + std::to_string(max) + ".");
    }
    const double min_select = f.Options().min_select;
    if (!list.empty() && static_cast<double>(list.size()) < min_select) {
        Add(errors,
            f,
            "validation_not_enough_values",
            "Select at least " + std::to_string(static_cast<long long>(min_select)) + ".");
    }
    if (many) {
        return JsonList(list);
    }
    if (list.empty()) {
        return f.Kind().shape == ValueShape::kRelation ? ColumnValue(nullptr) : ColumnValue(std::string());
    }
    return list.front();
}

std::vector<std::string> ListOf(const Field& f, const json::value& v, std::vector<FieldError>& errors) {
    auto list = ValueAsList(v);
    if (!list) {
        Add(errors, f, "validation_invalid_value", "Must be a string or a list of strings.");
        return {};
    }
    return std::move(*list);
}

ColumnValue NormalizeSelect(const Field& f, const json::value& v, std::vector<FieldError>& errors) {
    const std::vector<std::string> list = ListOf(f, v, errors);
    const std::vector<std::string>& allowed = f.Options().values;
    for (const auto& item : list) {
        if (std::find(allowed.begin(), allowed.end(), item) == allowed.end()) {
            Add(errors, f, "validation_invalid_value", "Invalid value " + item + ".");
            break;
        }
    }
    return ListColumn(f, list, errors);
}

// Relation ids are only checked for shape here; their existence is checked in the write.
ColumnValue NormalizeRelation(const Field& f, const json::value& v, std::vector<FieldError>& errors) {
    const std::vector<std::string> list = ListOf(f, v, errors);
    for (const auto& id : list) {
        if (id.size() > 255) {
            Add(errors, f, "validation_invalid_value", "Invalid record id.");
            break;
        }
    }
    return ListColumn(f, list, errors);
}

ColumnValue NormalizeJson(const Field& f, const json::value& v, std::vector<FieldError>& errors) {
    if (v.is_null()) {
        if (f.Options().required) {
            AddRequired(errors, f);
        }
        return nullptr;
    }
    std::string text = json::serialize(v);
    double max = f.Options().max_size;
    if (max <= 0) {
        max = kDefaultJsonMaxSize;
    }
    if (static_cast<double>(text.size()) > max) {
        Add(errors,
            f,
            "validation_json_size_limit",
            "The maximum allowed JSON size is " + std::to_string(static_cast<long long>(max)) + " bytes.");
    }
    return text;
}

ColumnValue NormalizeGeoPoint(const Field& f, const json::value& v, std::vector<FieldError>& errors) {
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
                Add(errors, f, "validation_invalid_longitude", "Longitude must be between -180 and 180 degrees.");
            }
        }
    } else if (!v.is_null()) {
        Add(errors, f, "validation_invalid_value", "Must be {\"lon\": number, \"lat\": number}.");
    }
    if (f.Options().required && lon == 0 && lat == 0) {
        AddRequired(errors, f);
    }
    return json::serialize(json::object{{"lon", lon}, {"lat", lat}});
}

// A password field outside an auth collection (`_otps`): checked as PocketBase checks it; the
// service stores its digest, never the text (auth collections' passwords are hashed by the API
// layer and never come here).
ColumnValue NormalizePassword(const Field& f, const json::value& v, std::vector<FieldError>& errors) {
    auto text = AsText(v);
    if (!text || text->empty()) {
        if (f.Options().required) {
            AddRequired(errors, f);
        }
        return std::string();
    }
    if (auto e = PasswordLengthError(&f, *text, f.name)) {
        errors.push_back(std::move(*e));
    }
    return std::move(*text);
}

// A stored file name as the column keeps it: one path segment (the record's folder holds it).
bool PlausibleFileName(std::string_view name) {
    return !name.empty() && name.size() <= 255 && name != "." && name != ".." &&
           name.find_first_of(std::string_view("/\\\0", 3)) == std::string_view::npos;
}

// The names of a file field (uploads become names before this: the records layer stores the
// bytes and checks that no name is new). Duplicates collapse, as PocketBase's uniqueFiles.
ColumnValue NormalizeFile(const Field& f, const json::value& v, std::vector<FieldError>& errors) {
    std::vector<std::string> list;
    for (auto& name : ListOf(f, v, errors)) {
        if (std::find(list.begin(), list.end(), name) == list.end()) {
            list.push_back(std::move(name));
        }
    }
    if (f.Options().required && list.empty()) {
        AddRequired(errors, f);
    }
    const std::int64_t max = f.IsMultiple() ? f.MaxSelect() : 1;
    if (static_cast<std::int64_t>(list.size()) > max) {
        AddWithParam(
            errors,
            f,
            "validation_too_many_files",
            "The maximum allowed files is " + std::to_string(max),
            "maxSelect",
            static_cast<double>(max)
        );
    }
    for (const auto& name : list) {
        if (!PlausibleFileName(name)) {
            Add(errors, f, "validation_invalid_file", "Invalid new files: " + name.substr(0, 250) + ".");
            break;
        }
    }
    if (f.IsMultiple()) {
        return JsonList(list);
    }
    return list.empty() ? std::string() : list.back();
}

// ---- checks of a definition's options ----

constexpr std::int64_t kMaxSelectLimit = 2147483647;

void ValidateMaxSelect(const Field& f, const std::string& at, std::vector<FieldError>& errors) {
    // PocketBase sets no upper bound; its v0.23 migration writes 2147483647 for an unlimited
    // relation, so databases carry that value. It only bounds how many values a record may hold.
    if (f.MaxSelect() < 0 || f.MaxSelect() > kMaxSelectLimit) {
        errors.push_back({at + "maxSelect", "validation_invalid_value", "Must be between 0 and 2147483647."});
    }
}

// At least one value, every one a non-empty string (the JSON, since the typed list keeps strings only).
void ValidateSelectOptions(const Field& f, const std::string& at, std::vector<FieldError>& errors) {
    const auto* values = f.OptionsJson().if_contains("values");
    bool ok = values != nullptr && values->is_array() && !values->as_array().empty();
    if (ok) {
        for (const auto& v : values->as_array()) {
            ok = ok && v.is_string() && !v.as_string().empty();
        }
    }
    if (!ok) {
        errors.push_back({at + "values", "validation_required", "Add at least one value."});
    }
    ValidateMaxSelect(f, at, errors);
}

constexpr double kMaxSafeJsonInt = 9007199254740991.0;  // 2^53 - 1, PocketBase's maxSafeJSONInt

// Thumb sizes as PocketBase accepts them: WxH with an optional t/b/f, never 0x0.
bool ValidThumbSize(std::string_view s) {
    std::size_t i = 0;
    const auto digits = [&] {
        const std::size_t start = i;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
            ++i;
        }
        return s.substr(start, i - start);
    };
    const std::string_view w = digits();
    if (w.empty() || i >= s.size() || s[i] != 'x') {
        return false;
    }
    ++i;
    const std::string_view h = digits();
    if (h.empty() ||
        (i < s.size() && (i + 1 != s.size() || std::string_view("tbf").find(s[i]) == std::string_view::npos))) {
        return false;
    }
    const auto zero = [](std::string_view d) {
        return d.find_first_not_of('0') == std::string_view::npos;
    };
    return !(zero(w) && zero(h));
}

void ValidateFileOptions(const Field& f, const std::string& at, std::vector<FieldError>& errors) {
    ValidateMaxSelect(f, at, errors);
    if (f.Options().max_size < 0 || f.Options().max_size > kMaxSafeJsonInt) {
        errors.push_back({at + "maxSize", "validation_min_greater_equal_than_required", "Must be no less than 0."});
    }
    const auto& thumbs = f.Options().thumbs;
    for (std::size_t i = 0; i < thumbs.size(); ++i) {
        if (!ValidThumbSize(thumbs[i])) {
            errors.push_back(
                {at + "thumbs." + std::to_string(i), "validation_match_invalid", "Must be in a valid format."}
            );
        }
    }
}

// `pattern` and `autogeneratePattern` must compile (PocketBase's validators.IsRegex: its code, the
// engine's message).
void ValidateTextOptions(const Field& f, const std::string& at, std::vector<FieldError>& errors) {
    for (const std::string_view key : {std::string_view("pattern"), std::string_view("autogeneratePattern")}) {
        const auto* value = f.OptionsJson().if_contains(key);
        if (value == nullptr || !value->is_string() || value->as_string().empty()) {
            continue;
        }
        if (auto why = PatternError(std::string_view(value->as_string()))) {
            errors.push_back({at + std::string(key), "validation_invalid_regex", std::move(*why)});
        }
    }
}

// ---- the table ----

using D = OptionDefault::Kind;
constexpr OptionDefault kTextDefaults[] = {
    {"min", D::kZero},
    {"max", D::kZero},
    {"pattern", D::kEmptyText},
    {"autogeneratePattern", D::kEmptyText},
    {"primaryKey", D::kFalse}};
constexpr OptionDefault kNumberDefaults[] = {{"min", D::kNull}, {"max", D::kNull}, {"onlyInt", D::kFalse}};
constexpr OptionDefault kDomainDefaults[] = {{"exceptDomains", D::kNull}, {"onlyDomains", D::kNull}};
constexpr OptionDefault kEditorDefaults[] = {{"maxSize", D::kZero}, {"convertURLs", D::kFalse}};
constexpr OptionDefault kDateDefaults[] = {{"min", D::kEmptyText}, {"max", D::kEmptyText}};
constexpr OptionDefault kAutodateDefaults[] = {{"onCreate", D::kTrue}, {"onUpdate", D::kFalse}};
constexpr OptionDefault kSelectDefaults[] = {{"values", D::kEmptyList}, {"maxSelect", D::kOne}};
constexpr OptionDefault kRelationDefaults[] = {
    {"cascadeDelete", D::kFalse}, {"minSelect", D::kZero}, {"maxSelect", D::kOne}};
constexpr OptionDefault kJsonDefaults[] = {{"maxSize", D::kZero}};
constexpr OptionDefault kFileDefaults[] = {
    {"maxSelect", D::kZero},
    {"maxSize", D::kZero},
    {"mimeTypes", D::kNull},
    {"thumbs", D::kNull},
    {"protected", D::kFalse}};

using S = ValueShape;
using M = Modifiers;
// clang-format off
constexpr std::array<FieldKind, 14> kKinds{{
    //  type                  name        shape         multi  definable modifiers  defaults          required normalize           validate_options
    {FieldType::kText,     "text",     S::kText,     false, true,  M::kNone,   kTextDefaults,     true,  NormalizeText,      ValidateTextOptions},
    {FieldType::kNumber,   "number",   S::kNumber,   false, true,  M::kNumber, kNumberDefaults,   true,  NormalizeNumber,    nullptr},
    {FieldType::kBool,     "bool",     S::kBool,     false, true,  M::kNone,   {},                true,  NormalizeBool,      nullptr},
    {FieldType::kEmail,    "email",    S::kText,     false, true,  M::kNone,   kDomainDefaults,   true,  NormalizeEmail,     nullptr},
    {FieldType::kUrl,      "url",      S::kText,     false, true,  M::kNone,   kDomainDefaults,   true,  NormalizeUrl,       nullptr},
    {FieldType::kEditor,   "editor",   S::kText,     false, true,  M::kNone,   kEditorDefaults,   true,  NormalizeEditor,    nullptr},
    {FieldType::kDate,     "date",     S::kText,     false, true,  M::kNone,   kDateDefaults,     true,  NormalizeDateValue, nullptr},
    {FieldType::kAutodate, "autodate", S::kText,     false, true,  M::kNone,   kAutodateDefaults, false, NormalizeAutodate,  nullptr},
    {FieldType::kSelect,   "select",   S::kText,     true,  true,  M::kList,   kSelectDefaults,   true,  NormalizeSelect,    ValidateSelectOptions},
    {FieldType::kJson,     "json",     S::kJson,     false, true,  M::kNone,   kJsonDefaults,     true,  NormalizeJson,      nullptr},
    {FieldType::kRelation, "relation", S::kRelation, true,  true,  M::kList,   kRelationDefaults, true,  NormalizeRelation,  ValidateMaxSelect},
    {FieldType::kFile,     "file",     S::kText,     true,  true,  M::kList,   kFileDefaults,     true,  NormalizeFile,      ValidateFileOptions},
    {FieldType::kPassword, "password", S::kText,     false, false, M::kNone,   {},                true,  NormalizePassword,  nullptr},
    {FieldType::kGeoPoint, "geoPoint", S::kGeoPoint, false, true,  M::kNone,   {},                true,  NormalizeGeoPoint,  nullptr},
}};
// clang-format on

constexpr bool TableInFieldTypeOrder() {
    for (std::size_t i = 0; i < kKinds.size(); ++i) {
        if (static_cast<std::size_t>(kKinds[i].type) != i) {
            return false;
        }
    }
    return true;
}
static_assert(TableInFieldTypeOrder(), "kKinds is indexed by FieldType: one entry per kind, in order");

}  // namespace

const FieldKind& KindOf(FieldType type) {
    return kKinds[static_cast<std::size_t>(type)];
}

std::span<const FieldKind> AllKinds() {
    return kKinds;
}

std::string_view FieldTypeName(FieldType type) {
    return KindOf(type).name;
}

std::optional<FieldType> ParseFieldType(std::string_view name) {
    for (const auto& k : kKinds) {
        if (k.name == name) {
            return k.type;
        }
    }
    return std::nullopt;
}

}  // namespace basalt::schema
