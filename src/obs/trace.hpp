// SPDX-License-Identifier: MIT
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace basalt::obs {

/// One span of a W3C Trace Context (https://www.w3.org/TR/trace-context/): the trace it belongs
/// to, its own id, the id of the span that caused it (all zero for a root span, or one whose
/// parent is unknown), the trace flags and the `tracestate` list to pass on. A default-constructed
/// context has an all-zero trace id: "no span" (Valid() is false). Copying one allocates only when
/// it carries a tracestate.
struct TraceContext {
    std::array<std::uint8_t, 16> trace_id{};
    std::array<std::uint8_t, 8> span_id{};
    std::array<std::uint8_t, 8> parent_id{};
    std::uint8_t flags = 0;
    std::string tracestate;  // validated list members, joined by ','; empty: none

    bool Valid() const;
    bool HasParent() const;
};

inline constexpr std::size_t kTraceparentSize = 55;  // version 00: "00-<32 hex>-<16 hex>-<2 hex>"
inline constexpr std::size_t kMaxTracestateMembers = 32;
inline constexpr std::size_t kMaxTracestateBytes = 512;
inline constexpr std::uint8_t kSampledFlag = 0x01;

/// Parses a `traceparent` header: the caller's span. The result's `span_id` is the header's
/// parent-id (the caller's span), its `parent_id` is zero, its tracestate empty. Version 00 must be
/// exactly 55 characters; a later version (not ff) must be at least that long, its first four fields
/// are read and anything after them (which must start with '-') is ignored, and of its flags only
/// the sampled bit is kept. Hex must be lowercase; an all-zero trace-id or parent-id is refused.
/// nullopt when the header is malformed (the caller starts a new trace).
std::optional<TraceContext> ParseTraceparent(std::string_view header);

/// Validates a `tracestate` header (several headers joined with ','): list members `key=value`
/// separated by commas with optional spaces and tabs, empty members skipped. Refused (nullopt: the
/// whole header is dropped) when a member is malformed, a key repeats or there are more than 32
/// members. Returns the members joined by ',' in their order, cut to at most 512 bytes: members over
/// 128 bytes go first, then members from the end.
std::optional<std::string> ParseTracestate(std::string_view header);

/// A new root span of a new trace: random trace and span ids (a per-thread generator seeded from the
/// kernel's CSPRNG; never all zero), the sampled flag set (everything basalt traces is logged).
TraceContext NewSpan();
/// A child of `parent`: the same trace, flags and tracestate, a new span id, `parent.span_id` as
/// its parent. A new root span when `parent` is not Valid().
TraceContext NewSpan(const TraceContext& parent);

/// The span a request starts: a child of the caller's span when `traceparent` parses (with
/// `tracestate` when that is valid), else a new trace. Either header may be empty.
TraceContext SpanFromHeaders(std::string_view traceparent, std::string_view tracestate);

/// `ctx` as a version 00 traceparent (55 characters), naming `ctx.span_id` as the parent of whoever
/// receives it.
std::string FormatTraceparent(const TraceContext& ctx);
/// Lowercase hex of an id, written to `out` (2 characters per byte).
void AppendHex(std::string& out, const std::uint8_t* bytes, std::size_t size);
std::string TraceIdHex(const TraceContext& ctx);
std::string SpanIdHex(const TraceContext& ctx);

/// The span the calling thread works for (null when none): log lines made on this thread carry its
/// traceId, spanId and parentId. The pointer is valid until the thread's span changes.
const TraceContext* CurrentSpan();
/// Sets (a copy of `ctx`) or, with null, clears the calling thread's span. For code that cannot
/// nest scopes (a coroutine that suspends: clear before, set again after).
void SetCurrentSpan(const TraceContext* ctx);

/// Makes `ctx` the calling thread's span for the scope's lifetime (none when `ctx` is not Valid());
/// restores the previous one after.
class ScopedSpan {
public:
    explicit ScopedSpan(const TraceContext& ctx);
    ~ScopedSpan();
    ScopedSpan(const ScopedSpan&) = delete;
    ScopedSpan& operator=(const ScopedSpan&) = delete;

private:
    std::optional<TraceContext> previous_;
};

}  // namespace basalt::obs
