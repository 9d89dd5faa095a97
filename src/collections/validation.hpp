// SPDX-License-Identifier: MIT
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <boost/json/object.hpp>

#include "collections/store.hpp"
#include "schema/collection.hpp"

namespace basalt::collections {

/// What a collection definition is checked against.
struct BuildContext {
    const Snapshot& snap;                             // the catalog as the change has made it so far
    const schema::Catalog& targets;                   // also knows collections an import is about to create
    const std::string& now;                           // created/updated of the result
    const schema::Collection* existing = nullptr;     // set for an update: absent keys keep its values
    std::function<bool(std::string_view)> has_table;  // a table or view of that name exists
    bool allow_system = false;                        // the body's `system` flag is honoured (system migrations)
};

/// Builds and validates a collection from PocketBase's collection JSON: a new one, or the next
/// version of `ctx.existing`. Checks run in PocketBase's order with its error codes (name, type, id,
/// fields and their options, rules, indexes, auth options); PocketBase's defaults are filled in.
/// A view's fields and rules are checked once its query has been compiled (ChangeSet::Finish).
/// The result holds the collection, or field errors and a message.
ChangeResult BuildCollection(const boost::json::object& body, const BuildContext& ctx);

}  // namespace basalt::collections
