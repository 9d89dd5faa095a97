// SPDX-License-Identifier: MIT
#pragma once

#include <boost/json/parse.hpp>

#include "schema/collection.hpp"

namespace basalt::testing {

/// The collections the query tests compile against: users (auth), teams, posts, tags, comments
/// (public list rules), notes (listed by their owner only) and vault (no list rule: superusers only).
inline schema::StaticCatalog QueryTestCatalog() {
    const char* defs[] = {
        R"({"id":"_pb_users_auth_","name":"users","type":"auth","listRule":"","fields":[
            {"name":"id","type":"text"},{"name":"email","type":"email"},{"name":"emailVisibility","type":"bool"},
            {"name":"name","type":"text"},
            {"name":"role","type":"select","maxSelect":1,"values":["admin","member"]},
            {"name":"verified","type":"bool"},{"name":"password","type":"password","hidden":true},
            {"name":"tokenKey","type":"text","hidden":true},
            {"name":"team","type":"relation","collectionId":"pbc_teams","maxSelect":1},
            {"name":"created","type":"autodate"},{"name":"updated","type":"autodate"}]})",
        R"({"id":"pbc_teams","name":"teams","listRule":"","fields":[
            {"name":"id","type":"text"},{"name":"name","type":"text"},
            {"name":"owner","type":"relation","collectionId":"_pb_users_auth_","maxSelect":1}]})",
        R"({"id":"pbc_posts","name":"posts","listRule":"","fields":[
            {"name":"id","type":"text"},{"name":"title","type":"text"},{"name":"body","type":"editor"},
            {"name":"views","type":"number"},{"name":"published","type":"bool"},
            {"name":"author","type":"relation","collectionId":"_pb_users_auth_","maxSelect":1},
            {"name":"tags","type":"relation","collectionId":"pbc_tags","maxSelect":5},
            {"name":"categories","type":"select","maxSelect":3,"values":["a","b","c"]},
            {"name":"status","type":"select","maxSelect":1,"values":["draft","live"]},
            {"name":"meta","type":"json"},{"name":"location","type":"geoPoint"},
            {"name":"secret","type":"text","hidden":true},
            {"name":"created","type":"autodate"},{"name":"updated","type":"autodate"}]})",
        R"({"id":"pbc_tags","name":"tags","listRule":"","fields":[{"name":"id","type":"text"},{"name":"name","type":"text"}]})",
        R"({"id":"pbc_comments","name":"comments","listRule":"","fields":[
            {"name":"id","type":"text"},{"name":"message","type":"text"},
            {"name":"post","type":"relation","collectionId":"pbc_posts","maxSelect":1},
            {"name":"likes","type":"relation","collectionId":"_pb_users_auth_","maxSelect":99}]})",
        R"({"id":"pbc_vault","name":"vault","listRule":null,"fields":[
            {"name":"id","type":"text"},{"name":"code","type":"text"}]})",
        R"({"id":"pbc_notes","name":"notes","listRule":"owner = @request.auth.id","fields":[
            {"name":"id","type":"text"},{"name":"text","type":"text"},
            {"name":"owner","type":"relation","collectionId":"_pb_users_auth_","maxSelect":1},
            {"name":"vault","type":"relation","collectionId":"pbc_vault","maxSelect":1}]})",
    };
    std::vector<schema::Collection> out;
    for (const char* d : defs) {
        out.push_back(*schema::CollectionFromJson(boost::json::parse(d).as_object()));
    }
    return schema::StaticCatalog(std::move(out));
}

}  // namespace basalt::testing
