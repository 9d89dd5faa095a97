// SPDX-License-Identifier: MIT
#include "records/codec.hpp"

#include <algorithm>
#include <cmath>
#include <set>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include "core/ids.hpp"
#include "core/json.hpp"
#include "core/json_text.hpp"
#include "core/text.hpp"
#include "schema/field_values.hpp"

namespace basalt::records {

namespace {

namespace json = boost::json;
using schema::ValueShape;

static_assert(std::is_same_v<schema::ColumnValue, db::Value>, "the schema's column values are db values");

void Add(std::vector<FieldError>& errors, const schema::Field& f, std::string code, std::string message) {
    errors.push_back({f.name, std::move(code), std::move(message)});
}

}  // namespace

db::Value NormalizeValue(const schema::Field& f, const json::value* in, std::vector<FieldError>& errors) {
    static const json::value kNull;
    return f.Kind().normalize(f, in != nullptr ? *in : kNull, errors);
}

std::string OutboxJsonExpr(const schema::Field& f, const std::string& col) {
    switch (f.Shape()) {
        case ValueShape::kList:
            return "CASE WHEN json_valid(" + col + ") THEN json(" + col + ") ELSE json('[]') END";
        case ValueShape::kJson:
            return "CASE WHEN " + col + " IS NULL THEN NULL WHEN json_valid(" + col + ") THEN json(" + col + ") ELSE " +
                   col + " END";
        case ValueShape::kGeoPoint:
            return "CASE WHEN json_valid(" + col + ") THEN json(" + col + ") ELSE json('{\"lon\":0,\"lat\":0}') END";
        case ValueShape::kBool:
            return "json(CASE WHEN " + col + " THEN 'true' ELSE 'false' END)";
        case ValueShape::kNumber:
            return "COALESCE(" + col + ", 0)";
        case ValueShape::kText:
        case ValueShape::kRelation:
            break;
    }
    return "COALESCE(" + col + ", '')";
}

namespace {

// A stored number as JSON: integral values as integers (2, not 2E0), others as doubles.
json::value NumberJson(double d) {
    if (!std::isfinite(d)) {
        return nullptr;
    }
    const db::Value v = schema::NumberColumn(d);
    if (const auto* i = std::get_if<std::int64_t>(&v)) {
        return *i;
    }
    return d;
}

}  // namespace

json::value ColumnToJson(const schema::Field& f, const db::Value& c) {
    switch (f.Shape()) {
        case ValueShape::kList: {
            boost::system::error_code ec;
            auto v = json::parse(db::AsString(c, "[]"), ec);
            return !ec && v.is_array() ? v : json::value(json::array{});
        }
        case ValueShape::kNumber:
            if (const auto* i = std::get_if<std::int64_t>(&c)) {
                return *i;
            }
            if (const auto* d = std::get_if<double>(&c)) {
                return NumberJson(*d);
            }
            return 0;
        case ValueShape::kBool:
            return db::AsInt(c) != 0;
        case ValueShape::kJson: {
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
        case ValueShape::kGeoPoint: {
            boost::system::error_code ec;
            auto v = json::parse(db::AsString(c, R"({"lon":0,"lat":0})"), ec);
            return !ec && v.is_object() ? v : json::value(json::object{{"lon", 0}, {"lat", 0}});
        }
        case ValueShape::kText:
        case ValueShape::kRelation:
            break;
    }
    return json::value(db::AsString(c));
}

void AppendColumnJson(std::string& out, const schema::Field& f, const db::Value& c) {
    const ValueShape shape = f.Shape();
    switch (shape) {
        case ValueShape::kList:
        case ValueShape::kGeoPoint:
            // JSON text written by basalt, copied as it is.
            if (const auto* s = std::get_if<std::string>(&c); s != nullptr && !s->empty()) {
                out += *s;
                return;
            }
            out += json::serialize(ColumnToJson(f, c));
            return;
        case ValueShape::kJson:
            out += json::serialize(ColumnToJson(f, c));
            return;
        case ValueShape::kNumber:
            if (const auto* i = std::get_if<std::int64_t>(&c)) {
                out += std::to_string(*i);
            } else {
                out += json::serialize(ColumnToJson(f, c));
            }
            return;
        case ValueShape::kBool:
            out += db::AsInt(c) != 0 ? "true" : "false";
            return;
        case ValueShape::kText:
        case ValueShape::kRelation:
            break;
    }
    if (const auto* s = std::get_if<std::string>(&c)) {
        AppendJsonString(out, *s);
    } else {
        AppendJsonString(out, db::AsString(c));
    }
}

void AppendColumnJson(std::string& out, const schema::Field& f, const db::RowView& row, int column) {
    using T = db::RowView::Type;
    const T type = row.TypeOf(column);
    const ValueShape shape = f.Shape();
    if (type == T::kText) {
        if ((shape == ValueShape::kList || shape == ValueShape::kGeoPoint) && !row.Text(column).empty()) {
            out += row.Text(column);  // JSON text written by basalt
            return;
        }
        if (shape == ValueShape::kText || shape == ValueShape::kRelation) {
            AppendJsonString(out, row.Text(column));
            return;
        }
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

namespace {

// "field+", "field-" or "+field" for a field of `c`.
bool IsModifierKey(const schema::Collection& c, std::string_view k) {
    if (k.size() > 1 && (k.back() == '+' || k.back() == '-') && c.FindField(k.substr(0, k.size() - 1)) != nullptr) {
        return true;
    }
    return k.size() > 1 && k.front() == '+' && c.FindField(k.substr(1)) != nullptr;
}

// A number field's `base` plus `plus` minus `minus` (either may be absent).
json::value NumberModified(
    const schema::Field& f,
    const json::value* base,
    const json::value* plus,
    const json::value* minus,
    std::vector<FieldError>& errors
) {
    double n = base != nullptr ? schema::ValueAsNumber(*base).value_or(0) : 0;
    auto apply = [&](const json::value* delta, double sign) {
        if (delta == nullptr) {
            return;
        }
        auto d = schema::ValueAsNumber(*delta);
        if (!d || !std::isfinite(*d)) {
            Add(errors, f, "validation_invalid_number", "Must be a number.");
            return;
        }
        n += sign * *d;
    };
    apply(plus, 1.0);
    apply(minus, -1.0);
    return n;
}

// The values of a list modifier: a string or a list of strings (none when absent).
std::vector<std::string> ModifierValues(const schema::Field& f, const json::value* v, std::vector<FieldError>& errors) {
    if (v == nullptr) {
        return {};
    }
    auto list = schema::ValueAsList(*v);
    if (!list) {
        Add(errors, f, "validation_invalid_value", "Must be a string or a list of strings.");
        return {};
    }
    return std::move(*list);
}

// A list field's `base` with `prepend` put in front, `plus` appended and every value of `minus`
// removed (each may be absent).
json::value ListModified(
    const schema::Field& f,
    const json::value* base,
    const json::value* prepend,
    const json::value* plus,
    const json::value* minus,
    std::vector<FieldError>& errors
) {
    std::vector<std::string> items;
    if (base != nullptr) {
        auto list = schema::ValueAsList(*base);
        if (list) {
            items = std::move(*list);
        }
    }
    std::vector<std::string> front = ModifierValues(f, prepend, errors);
    front.insert(front.end(), items.begin(), items.end());
    items = std::move(front);
    for (auto& v : ModifierValues(f, plus, errors)) {
        items.push_back(std::move(v));
    }
    for (const auto& v : ModifierValues(f, minus, errors)) {
        items.erase(std::remove(items.begin(), items.end(), v), items.end());
    }
    json::array a;
    for (auto& v : items) {
        a.emplace_back(v);
    }
    return a;
}

}  // namespace

bool HasModifiers(const schema::Collection& c, const json::object& body) {
    for (const auto& [key, value] : body) {
        if (IsModifierKey(c, key)) {
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
        if (!IsModifierKey(c, key)) {
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
        const schema::Modifiers modifiers = f.Kind().modifiers;
        if (modifiers == schema::Modifiers::kNumber) {
            out[f.name] = NumberModified(f, base, plus, minus, errors);
        } else if (modifiers == schema::Modifiers::kList) {
            out[f.name] = ListModified(f, base, prepend, plus, minus, errors);
        } else {
            Add(errors, f, "validation_invalid_modifier", "This field has no +/- modifiers.");
        }
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
