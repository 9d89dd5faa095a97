// SPDX-License-Identifier: MIT
// The orphaned-file sweep: storage folders walked collection by collection, records looked up in
// batches, and whatever no record names (and is older than the grace period) removed.
#include "records/file_sweep.hpp"

#include <algorithm>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "obs/log.hpp"
#include "query/compiler.hpp"
#include "records/files.hpp"

namespace basalt::records {

namespace {

constexpr std::string_view kThumbsPrefix = "thumbs_";

// The names each live record of `ids` holds in its file fields; a record missing from the map
// does not exist.
using LiveRecords = std::map<std::string, std::vector<std::string>, std::less<>>;

const schema::Collection* FindById(const collections::Snapshot& snapshot, std::string_view id) {
    for (const auto& c : snapshot.All()) {
        if (c.id == id) {  // ids only: a folder named like a collection's name is not that collection's
            return &c;
        }
    }
    return nullptr;
}

Result<LiveRecords> ReadLiveRecords(db::Database& db, const schema::Collection& c, std::span<const std::string> ids) {
    std::vector<const schema::Field*> file_fields;
    std::string sql = "SELECT \"id\"";
    for (const auto& f : c.fields) {
        if (f.type == schema::FieldType::kFile) {
            file_fields.push_back(&f);
            sql += ", " + query::QuoteIdent(f.name);
        }
    }
    sql += " FROM " + query::QuoteIdent(c.name) + " WHERE \"id\" IN (";
    std::vector<db::Value> params;
    params.reserve(ids.size());
    for (const auto& id : ids) {
        sql += params.empty() ? "?" : ", ?";
        params.emplace_back(id);
    }
    sql += ")";
    BASALT_ASSIGN_OR_RETURN(auto rs, db.Read(sql, params));
    LiveRecords live;
    for (const auto& row : rs.rows) {
        std::vector<std::string>& names = live[db::AsString(row[0])];
        for (std::size_t i = 0; i < file_fields.size(); ++i) {
            auto held = FileNamesOf(*file_fields[i], row[i + 1]);
            names.insert(names.end(), held.begin(), held.end());
        }
    }
    return live;
}

// The file of a record folder that `rel` (a key below the folder) belongs to: the file itself, or
// the one a `thumbs_<name>/` thumbnail was made from. Empty for anything else (left alone).
std::string_view OwnerName(std::string_view rel) {
    const auto slash = rel.find('/');
    if (slash == std::string_view::npos) {
        return rel;
    }
    const std::string_view folder = rel.substr(0, slash);
    if (!folder.starts_with(kThumbsPrefix) || rel.find('/', slash + 1) != std::string_view::npos) {
        return {};
    }
    return folder.substr(kThumbsPrefix.size());
}

class Sweep {
public:
    Sweep(db::Database& db, storage::Storage& store, SystemTime now, const SweepOptions& options)
        : db_(db),
          store_(store),
          now_(now),
          options_(options) {}

    // One collection's folder; `c` is null when the collection no longer exists.
    void Collection(const std::string& cid, const schema::Collection* c) {
        auto ids = store_.ListFolders(cid);
        if (!ids) {
            Skip(cid, ids.error());
            return;
        }
        const std::size_t batch = std::max<std::size_t>(options_.batch, 1);
        for (std::size_t at = 0; at < ids->size() && !options_.stop.stop_requested(); at += batch) {
            const std::span<const std::string> part(ids->data() + at, std::min(batch, ids->size() - at));
            LiveRecords live;
            if (c != nullptr) {
                auto read = ReadLiveRecords(db_, *c, part);
                if (!read) {
                    Skip(cid, read.error());
                    return;
                }
                live = std::move(*read);
            }
            for (const auto& rid : part) {
                const auto it = live.find(rid);
                Record(cid + "/" + rid, it == live.end() ? nullptr : &it->second);
            }
        }
    }

    const SweepCounts& Counts() const { return counts_; }

private:
    struct Entry {
        std::string key;
        std::uint64_t size = 0;
    };

    // A record's folder; `names` is null when the record does not exist (everything in it goes).
    // Only files no name holds are looked at (Stat), and of those only the old ones go.
    void Record(const std::string& folder, const std::vector<std::string>* names) {
        auto keys = store_.List(folder);
        if (!keys) {
            return;
        }
        std::vector<Entry> entries;
        bool all_old = !keys->empty();
        for (auto& key : *keys) {
            if (names != nullptr) {
                const std::string_view owner = OwnerName(std::string_view(key).substr(folder.size() + 1));
                if (owner.empty() || std::find(names->begin(), names->end(), owner) != names->end()) {
                    continue;  // still named by the record (or not of the layout): not even looked at
                }
            }
            auto info = store_.Stat(key);
            if (!info) {
                all_old = false;  // gone meanwhile, or not a plain file: nothing to decide on
                continue;
            }
            const bool old = now_ - info->modified >= options_.grace;
            all_old = all_old && old;
            if (old) {
                entries.push_back(Entry{std::move(key), info->size});
            }
        }
        if (names == nullptr && all_old) {
            // The whole folder (side files and thumbnail folders with it).
            if (store_.DeletePrefix(folder)) {
                ++counts_.folders;
                for (const auto& e : entries) {
                    Removed(e);
                }
            }
            return;
        }
        for (const auto& e : entries) {
            if (store_.Delete(e.key)) {
                Removed(e);
            }
        }
    }

    void Removed(const Entry& e) {
        ++counts_.files;
        counts_.bytes += e.size;
        if (options_.on_removed) {
            options_.on_removed(e.key, e.size);
        }
    }

    void Skip(const std::string& cid, const Error& e) {
        ++counts_.skipped;
        obs::Warn("file sweep skipped a collection folder", {{"collection", cid}, {"error", e.message}});
    }

    db::Database& db_;
    storage::Storage& store_;
    SystemTime now_;
    const SweepOptions& options_;
    SweepCounts counts_;
};

}  // namespace

Result<SweepCounts> SweepOrphanedFiles(
    db::Database& db,
    const collections::Snapshot& collections,
    storage::Storage& store,
    SystemTime now,
    const SweepOptions& options
) {
    BASALT_ASSIGN_OR_RETURN(auto top, store.ListFolders(""));
    Sweep sweep(db, store, now, options);
    for (const auto& cid : top) {
        if (options.stop.stop_requested()) {
            break;
        }
        const schema::Collection* c = FindById(collections, cid);
        if (!storage::ValidKey(cid) || (c != nullptr && c->type == schema::CollectionType::kView)) {
            continue;  // not a folder the store made; a view stores nothing of its own
        }
        sweep.Collection(cid, c);
    }
    return sweep.Counts();
}

FileSweeper::FileSweeper(
    db::Database& db,
    const collections::CollectionStore& collections,
    storage::Storage& store,
    const Clock& clock,
    BackgroundLoop::Duration interval,
    SweepOptions options
)
    : db_(db),
      collections_(collections),
      store_(store),
      clock_(clock),
      interval_(interval),
      options_(std::move(options)) {}

FileSweeper::~FileSweeper() {
    Stop();
}

void FileSweeper::Start() {
    if (interval_ <= BackgroundLoop::Duration::zero()) {
        return;
    }
    const BackgroundLoop::Duration first =
        std::min(interval_, std::chrono::duration_cast<BackgroundLoop::Duration>(options_.grace));
    loop_.Start([this, first](const std::stop_token& stop) {
        for (auto wait = first; loop_.SleepFor(stop, wait); wait = interval_) {
            SweepOptions options = options_;
            options.stop = stop;
            auto counts = SweepOrphanedFiles(db_, *collections_.Current(), store_, clock_.Now(), options);
            if (counts) {
                obs::Info(
                    "file sweep",
                    {{"folders", counts->folders},
                     {"files", counts->files},
                     {"bytes", counts->bytes},
                     {"skipped", counts->skipped}}
                );
            } else {
                obs::Warn("file sweep failed", {{"error", counts.error().message}});
            }
            sweeps_.fetch_add(1);
        }
    });
}

void FileSweeper::Stop() {
    loop_.Stop();
}

}  // namespace basalt::records
