// SPDX-License-Identifier: MIT
// A WAL file is read back from a replica (outside input for `basalt restore --from`): any bytes scan
// or fail with kInvalidArgument, and what the scan keeps stays inside the bytes, in order, and ends
// on a commit frame.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "db/sqlite/wal_reader.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    namespace sq = basalt::db::sqlite;
    const std::string_view wal(reinterpret_cast<const char*>(data), size);
    auto scan = sq::ScanWal(wal);
    if (!scan) {
        return 0;
    }
    const std::uint64_t frame = sq::kWalFrameHeaderBytes + scan->header.page_size;
    std::uint64_t next = sq::kWalHeaderBytes;
    for (const auto& f : scan->frames) {
        if (f.offset != next || f.offset + frame > size || f.page == 0) {
            std::abort();
        }
        next += frame;
    }
    if (scan->end != next || (!scan->frames.empty() && scan->frames.back().db_size == 0)) {
        std::abort();
    }
    return 0;
}
