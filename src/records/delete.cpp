// SPDX-License-Identifier: MIT
#include <algorithm>
#include <set>

#include "records/service.hpp"
#include "records/service_internal.hpp"

namespace basalt::records {

namespace json = boost::json;
using schema::FieldType;

namespace {

constexpr std::size_t kMaxCascade = 10000;

// Deletes a record with an event for every record the deletion touches, in one transaction:
// records that cascade (single relations with cascadeDelete, which the foreign key would delete
// silently, and multiple relations with it, which have no foreign key) are deleted first,
// recursively, each with its delete event; records whose relation is cleared (the foreign key's SET
// NULL, or the id dropped from a multiple relation) get an update event after the change.
class CascadingDelete {
public:
    CascadingDelete(
        db::Executor& ex,
        const collections::Snapshot& snap,
        const std::string& now,
        const AuthRecordHooks* hooks,
        storage::Storage* files
    )
        : ex_(ex),
          snap_(snap),
          now_(now),
          hooks_(hooks),
          files_(files) {}

    // Deletes record `id` of `c` and what cascades from it.
    Result<void> Delete(const schema::Collection& c, const std::string& id) {
        if (!seen_.insert(c.id + "/" + id).second) {
            return Ok();  // a cycle: already being deleted
        }
        if (seen_.size() > kMaxCascade) {
            return MakeError(ErrorCode::kInvalidArgument, "Failed to delete record: the cascade is too large.");
        }
        Cleared cleared;
        for (const auto& other : snap_.All()) {
            if (other.type == schema::CollectionType::kView) {
                continue;
            }
            for (const auto& f : other.fields) {
                if (f.type != FieldType::kRelation || f.CollectionId() != c.id) {
                    continue;
                }
                if (auto r = ReleaseRelation(c, id, other, f, cleared); !r) {
                    return r;
                }
            }
        }
        // The event carries the record as it was: written before the delete, in the same savepoint.
        if (auto e = AppendRecordEvent(ex_, c, id, "delete", now_); !e) {
            return e.error().code == ErrorCode::kNotFound ? Result<void>(NotFound()) : e;
        }
        if (hooks_ != nullptr && c.type == schema::CollectionType::kAuth) {
            // Its sessions, keys, external auths, OTPs, MFAs and TOTP go in the same transaction.
            if (auto r = hooks_->OnChange(ex_, c, id, AuthChange::kDeleted, now_); !r) {
                return r;
            }
        }
        if (auto r = DeleteRow(c, id); !r) {
            return r;
        }
        return ReportCleared(cleared);
    }

private:
    // Records whose relation to a deleted record is cleared (not deleted with it).
    using Cleared = std::vector<std::pair<const schema::Collection*, std::string>>;

    // The records of `other` whose relation `f` holds record `id` of `c`: deleted when `f`
    // cascades, else noted in `cleared` (and for a multiple relation, `id` dropped from it here).
    Result<void> ReleaseRelation(
        const schema::Collection& c,
        const std::string& id,
        const schema::Collection& other,
        const schema::Field& f,
        Cleared& cleared
    ) {
        const std::string col = query::QuoteIdent(other.name) + "." + query::QuoteIdent(f.name);
        const std::string holds = f.IsMultiple()
                                      ? "EXISTS (SELECT 1 FROM json_each(" + col + ") WHERE json_each.\"value\" = ?)"
                                      : col + " = ?";
        auto rs = ex_.Query("SELECT \"id\" FROM " + query::QuoteIdent(other.name) + " WHERE " + holds, {id});
        if (!rs) {
            return WriteFailure(rs.error(), c, "Failed to delete record.");
        }
        const bool cascade = f.Options().cascade_delete;
        for (const auto& row : rs->rows) {
            const std::string other_id = db::AsString(row[0]);
            if (cascade) {
                if (auto r = Delete(other, other_id); !r) {
                    return r;
                }
            } else if (!(other.id == c.id && other_id == id)) {
                cleared.emplace_back(&other, other_id);
            }
        }
        if (!cascade && f.IsMultiple() && !rs->rows.empty()) {
            // No foreign key for multiple relations: drop the id here.
            auto n = ex_.Exec(
                "UPDATE " + query::QuoteIdent(other.name) + " SET " + query::QuoteIdent(f.name) +
                    " = (SELECT json_group_array(json_each.\"value\") FROM json_each(" + col +
                    ") WHERE json_each.\"value\" != ?) WHERE " + holds,
                {id, id}
            );
            if (!n) {
                return WriteFailure(n.error(), c, "Failed to delete record.");
            }
        }
        return Ok();
    }

    // The DELETE itself; the record's folder (its files and their thumbs) goes once it is durable.
    Result<void> DeleteRow(const schema::Collection& c, const std::string& id) {
        auto n = ex_.Exec("DELETE FROM " + query::QuoteIdent(c.name) + " WHERE \"id\" = ?", {id});
        if (!n) {
            return WriteFailure(
                n.error(),
                c,
                "Failed to delete record. Make sure that the record is not part of a required relation reference."
            );
        }
        if (*n == 0) {
            return NotFound();
        }
        const bool has_files = std::any_of(c.fields.begin(), c.fields.end(), [](const schema::Field& f) {
            return f.type == FieldType::kFile;
        });
        if (files_ != nullptr && has_files) {
            ex_.AfterCommit([files = files_, folder = c.id + "/" + id] { (void)files->DeletePrefix(folder); });
        }
        return Ok();
    }

    // An update event for each record whose relation was cleared (once; none for deleted ones).
    Result<void> ReportCleared(const Cleared& cleared) {
        std::set<std::string> updated;
        for (const auto& [other, other_id] : cleared) {
            const std::string key = other->id + "/" + other_id;
            if (seen_.count(key) != 0 || !updated.insert(key).second) {
                continue;  // deleted too, or already reported
            }
            if (auto e = AppendRecordEvent(ex_, *other, other_id, "update", now_);
                !e && e.error().code != ErrorCode::kNotFound) {
                return e;
            }
        }
        return Ok();
    }

    db::Executor& ex_;
    const collections::Snapshot& snap_;
    const std::string& now_;
    const AuthRecordHooks* hooks_;
    storage::Storage* files_;
    std::set<std::string> seen_;  // "<collection id>/<record id>" of every record being deleted
};

}  // namespace

Result<PreparedWrite> RecordService::PrepareDelete(
    std::string_view collection, std::string_view id, const Access& access
) const {
    BASALT_ASSIGN_OR_RETURN(auto l, LoadForWrite(collections_, collection, access, &schema::Collection::delete_rule));
    PreparedWrite w;
    auto snapshot = l.snapshot;
    const schema::Collection* cp = l.collection;
    const std::optional<std::string> rule = access.superuser ? std::nullopt : cp->delete_rule;
    const std::string now = FormatDateTime(clock_.Now());
    w.fn =
        [snapshot, cp, id = std::string(id), rule, access, now, hooks = auth_hooks_, files = storage_, &clock = clock_](
            db::Executor& ex
        ) -> Result<void> {
        BASALT_TRY(RequireRuleMatch(ex, *cp, *snapshot, rule, access, clock, id));
        return CascadingDelete(ex, *snapshot, now, hooks, files).Delete(*cp, id);
    };
    AddDataVersionBump(w);
    return w;
}

}  // namespace basalt::records
