// SPDX-License-Identifier: MIT
#include "core/json_text.hpp"
#include "records/codec.hpp"
#include "records/service.hpp"
#include "records/service_internal.hpp"

namespace basalt::records {

namespace json = boost::json;
using schema::FieldType;

namespace {

// Exported unless hidden (superusers see hidden fields); passwords and auth token keys never.
bool Exported(const schema::Collection& c, const schema::Field& f, bool include_hidden) {
    if (f.type == FieldType::kPassword || (c.type == schema::CollectionType::kAuth && f.name == "tokenKey")) {
        return false;
    }
    return include_hidden || !f.hidden;
}

}  // namespace

RecordWriter::RecordWriter(const schema::Collection& c, bool include_hidden, std::string self_id)
    : collection_(c),
      self_id_(std::move(self_id)),
      check_email_(c.type == schema::CollectionType::kAuth && !include_hidden) {
    for (const auto& f : c.fields) {
        if (Exported(c, f, include_hidden)) {
            columns_.emplace_back(&f, -1);
        }
    }
}

void RecordWriter::Append(std::string& out, const db::RowView& row) {
    if (!mapped_) {
        // Columns are found by name once, on the first row.
        for (auto& [field, idx] : columns_) {
            for (int i = 0; i < row.Size(); ++i) {
                if (row.Name(i) == field->name) {
                    idx = i;
                }
            }
        }
        for (int i = 0; i < row.Size(); ++i) {
            if (row.Name(i) == "emailVisibility") {
                visibility_column_ = i;
            } else if (row.Name(i) == "id") {
                id_column_ = i;
            }
        }
        mapped_ = true;
    }
    // An auth record's email: public, the reader's own, or a superuser reading.
    const bool email_shown = !check_email_ ||
                             (visibility_column_ >= 0 && row.TypeOf(visibility_column_) == db::RowView::Type::kInt &&
                              row.Int(visibility_column_) != 0) ||
                             (!self_id_.empty() && id_column_ >= 0 && row.Text(id_column_) == self_id_);
    out += R"({"collectionId":)";
    AppendJsonString(out, collection_.id);
    out += R"(,"collectionName":)";
    AppendJsonString(out, collection_.name);
    for (const auto& [field, idx] : columns_) {
        if (!email_shown && field->name == "email") {
            continue;
        }
        out.push_back(',');
        AppendJsonString(out, field->name);
        out.push_back(':');
        if (idx < 0) {
            out += "null";
        } else {
            AppendColumnJson(out, *field, row, idx);
        }
    }
    out.push_back('}');
}

json::object RecordJson(
    const schema::Collection& c, const db::ResultSet& rs, std::size_t row, bool include_hidden, std::string_view self_id
) {
    json::object o;
    o["collectionId"] = c.id;
    o["collectionName"] = c.name;
    bool email_shown = c.type != schema::CollectionType::kAuth || include_hidden;
    if (!email_shown) {
        const int vis = rs.ColumnIndex("emailVisibility");
        const int id = rs.ColumnIndex("id");
        email_shown =
            (vis >= 0 && db::AsInt(rs.rows[row][static_cast<std::size_t>(vis)]) != 0) ||
            (!self_id.empty() && id >= 0 && db::AsString(rs.rows[row][static_cast<std::size_t>(id)]) == self_id);
    }
    for (const auto& f : c.fields) {
        if (!Exported(c, f, include_hidden) || (!email_shown && f.name == "email")) {
            continue;
        }
        const int idx = rs.ColumnIndex(f.name);
        o[f.name] = idx >= 0 ? ColumnToJson(f, rs.rows[row][static_cast<std::size_t>(idx)]) : json::value(nullptr);
    }
    return o;
}

json::object RecordService::EventRecordFor(
    const schema::Collection& c, const json::object& record, const Access& access
) {
    json::object out = record;
    if (SeesHidden(access)) {
        return out;
    }
    for (const auto& f : c.fields) {
        if (f.hidden) {
            out.erase(f.name);
        }
    }
    if (c.type == schema::CollectionType::kAuth) {
        const auto* vis = record.if_contains("emailVisibility");
        const bool shown =
            (vis != nullptr && vis->is_bool() && vis->as_bool()) ||
            (out.contains("id") && out.at("id").is_string() && out.at("id").as_string() == SelfId(c, access));
        if (!shown) {
            out.erase("email");
        }
    }
    return out;
}

}  // namespace basalt::records
