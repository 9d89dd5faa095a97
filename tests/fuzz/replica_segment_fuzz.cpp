// SPDX-License-Identifier: MIT
// A replica's segment file is read back by `basalt restore --from` (outside input: a directory that
// may be damaged or forged): any bytes read without a crash, every record handed over lies inside
// the bytes, holds whole frames of its page size and ends on its commit frame, and the offset
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
        const std::size_t frame = 24 + t.page_size;
        if (t.frames.data() < segment.data() || t.frames.data() + t.frames.size() > segment.data() + size ||
            t.frames.empty() || t.frames.size() % frame != 0 || t.db_size == 0) {
            std::abort();
        }
        last_end = t.frames.data() + t.frames.size();
        return true;
    });
    if (segment.data() + end != last_end) {
        std::abort();
    }
    return 0;
}
