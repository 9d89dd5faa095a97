// SPDX-License-Identifier: MIT
// A replica's segment file is read back by `basalt restore --from` (outside input: a directory that
// may be damaged or forged): any bytes read without a crash, every record handed over lies inside
// the bytes and holds whole page entries of its page size, and the offset
// returned is the end of the last one.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "backups/replica_format.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace bk = basalt::backups;
    const std::string_view segment(reinterpret_cast<const char*>(data), size);
    const char* last_end = segment.data();
    const std::size_t end = bk::ReadTxnRecords(segment, [&](const bk::ReplicaTxn& t) {
        const std::size_t entry = bk::kPageEntryHeader + t.page_size;
        if (t.pages.data() < segment.data() || t.pages.data() + t.pages.size() > segment.data() + size ||
            t.pages.empty() || t.pages.size() % entry != 0 || t.db_size == 0) {
            std::abort();
        }
        last_end = t.pages.data() + t.pages.size();
        return true;
    });
    if (segment.data() + end != last_end) {
        std::abort();
    }
    return 0;
}
