// SPDX-License-Identifier: MIT
// W3C Trace Context headers: the input up to its first newline is a traceparent, the rest a
// tracestate. A parsed traceparent formats back to a version 00 header that parses to the same ids;
// a kept tracestate is within the limits and parses to itself; a span made from the headers is valid.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "obs/trace.hpp"

namespace obs = basalt::obs;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view input(reinterpret_cast<const char*>(data), size);
    const auto nl = input.find('\n');
    const std::string_view traceparent = input.substr(0, nl);
    const std::string_view tracestate = nl == std::string_view::npos ? std::string_view{} : input.substr(nl + 1);

    if (auto ctx = obs::ParseTraceparent(traceparent)) {
        if (!ctx->Valid()) {
            std::abort();
        }
        const std::string again = obs::FormatTraceparent(*ctx);
        const auto back = obs::ParseTraceparent(again);
        if (again.size() != obs::kTraceparentSize || !back || back->trace_id != ctx->trace_id ||
            back->span_id != ctx->span_id || back->flags != ctx->flags) {
            std::abort();
        }
    }
    if (auto state = obs::ParseTracestate(tracestate)) {
        if (state->size() > obs::kMaxTracestateBytes) {
            std::abort();
        }
        const auto back = obs::ParseTracestate(*state);
        if (!back || *back != *state) {
            std::abort();
        }
    }
    const obs::TraceContext span = obs::SpanFromHeaders(traceparent, tracestate);
    if (!span.Valid() || span.span_id == span.parent_id) {
        std::abort();
    }
    return 0;
}
