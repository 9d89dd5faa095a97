// SPDX-License-Identifier: MIT
// A replica's segment file is read back by `basalt restore --from` (outside input: a directory that
// may be damaged or forged, its points compressed with zstd): any bytes are read without a crash,
// every point handed over holds whole page entries of its page size with a page number each, and
// the offset returned lies inside the bytes.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "backups/replica_format.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace bk = basalt::backups;
    const std::string_view segment(reinterpret_cast<const char*>(data), size);
    std::size_t points = 0;
    const std::size_t end = bk::ReadTxnRecords(segment, [&](const bk::ReplicaTxn& t) {
        const std::size_t entry = bk::kPageEntryHeader + t.page_size;
        if (t.pages.empty() || t.pages.size() % entry != 0 || t.db_size == 0) {
            std::abort();
        }
        for (std::size_t at = 0; at < t.pages.size(); at += entry) {
            if (t.pages[at] == 0 && t.pages[at + 1] == 0 && t.pages[at + 2] == 0 && t.pages[at + 3] == 0) {
                std::abort();  // page 0 does not exist
            }
        }
        ++points;
        return true;
    });
    if (end > size || (points == 0 && end != 0)) {
        std::abort();
    }
    return 0;
}
