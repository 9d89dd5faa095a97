// SPDX-License-Identifier: MIT
#pragma once

#include <string>
#include <vector>

#include <boost/json/object.hpp>

#include "db/database.hpp"
#include "schema/collection.hpp"

namespace basalt::importer {

/// The two shapes of a PocketBase database: before 0.23 (`_collections.schema`, `_admins`, field
/// options under `options`, auth columns such as `passwordHash`) and from 0.23 on
/// (`_collections.fields`, `_superusers`, flat field options).
enum class Era { kLegacy, kModern };

/// "pre-0.23" or "0.23+".
const char* EraName(Era era);

/// A `_collections` row of the source, its JSON columns parsed (absent columns empty).
struct SourceCollection {
    std::string id;
    std::string name;
    std::string type;  // base, auth or view
    bool system = false;
    boost::json::array fields;  // `schema` (legacy) or `fields`
    boost::json::array indexes;
    std::optional<std::string> list_rule, view_rule, create_rule, update_rule, delete_rule;
    boost::json::object options;
};

/// What a conversion left behind, one line each ("collection.field: why").
using Notes = std::vector<std::string>;

/// A pre-0.23 collection in the 0.23 collection JSON basalt's import takes, as PocketBase's own
/// v0.23 migration converts it: fields' options flattened with their new names, the `id`,
/// `created` and `updated` fields added, `@request.data` → `@request.body` in rules, auth options
/// (identity fields, manageRule, onlyVerified → authRule, token durations and secrets from the old
/// settings `old_settings`) and the auth `username` field with its unique index; a view's `query` →
/// `viewQuery`. Legacy `unique` field flags become unique indexes. Fields of types basalt does not
/// know are left out (noted).
boost::json::object ConvertLegacyCollection(
    const SourceCollection& c, const boost::json::object& old_settings, Notes& notes
);

/// A 0.23+ collection as the import's JSON: its stored options flattened beside the fields, as the
/// API shows them. Fields of types basalt does not know are left out (noted).
boost::json::object ConvertModernCollection(const SourceCollection& c, Notes& notes);

/// The settings patch for basalt's SettingsStore from the source's `_params` "settings" document of
/// `era`: meta (appName, appURL, senderName, senderAddress, hideControls), logs, smtp, s3, backups
/// and, from 0.23 on, batch, rateLimits and trustedProxy. What does not map is noted.
boost::json::object ConvertSettings(const boost::json::object& settings, Era era, Notes& notes);

/// A source column value as basalt stores field `f` (its ValueShape): text-likes never NULL; numbers
/// and bools as numbers; an empty single relation NULL; a list as a JSON array ('[]' when empty, a
/// lone value wrapped); an empty json value NULL.
db::Value ConvertValue(const schema::Field& f, const db::Value& v);

}  // namespace basalt::importer
