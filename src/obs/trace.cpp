// SPDX-License-Identifier: MIT
#include "obs/trace.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/random.hpp"

namespace basalt::obs {

namespace {

constexpr std::string_view kHexDigits = "0123456789abcdef";

// A lowercase hex digit's value, or -1 (uppercase is not allowed by the spec).
int HexValue(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    return -1;
}

// Decodes 2 * out.size() lowercase hex digits of `text` into `out`.
template <std::size_t N>
bool DecodeHex(std::string_view text, std::array<std::uint8_t, N>& out) {
    for (std::size_t i = 0; i < N; ++i) {
        const int hi = HexValue(text[2 * i]);
        const int lo = HexValue(text[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return false;
        }
        out[i] = static_cast<std::uint8_t>((hi << 4) | lo);
    }
    return true;
}

template <std::size_t N>
bool AllZero(const std::array<std::uint8_t, N>& id) {
    return std::all_of(id.begin(), id.end(), [](std::uint8_t b) { return b == 0; });
}

template <std::size_t N>
void FillRandom(std::array<std::uint8_t, N>& id) {
    do {
        for (std::size_t i = 0; i < N; i += 8) {
            const std::uint64_t r = FastRandom64();
            std::memcpy(id.data() + i, &r, std::min<std::size_t>(8, N - i));
        }
    } while (AllZero(id));
}

bool IsLcAlpha(char c) {
    return c >= 'a' && c <= 'z';
}
bool IsDigit(char c) {
    return c >= '0' && c <= '9';
}
// The characters a key may have after its first.
bool IsKeyChar(char c) {
    return IsLcAlpha(c) || IsDigit(c) || c == '_' || c == '-' || c == '*' || c == '/';
}

bool KeyCharsFrom(std::string_view s, std::size_t from) {
    return std::all_of(s.begin() + static_cast<std::ptrdiff_t>(from), s.end(), IsKeyChar);
}

// simple-key = lcalpha 0*255(keychar); multi-tenant-key = tenant-id "@" system-id with
// tenant-id = (lcalpha / DIGIT) 0*240(keychar) and system-id = lcalpha 0*13(keychar).
bool ValidKey(std::string_view key) {
    const auto at = key.find('@');
    if (at == std::string_view::npos) {
        return !key.empty() && key.size() <= 256 && IsLcAlpha(key[0]) && KeyCharsFrom(key, 1);
    }
    const std::string_view tenant = key.substr(0, at);
    const std::string_view system = key.substr(at + 1);
    return !tenant.empty() && tenant.size() <= 241 && (IsLcAlpha(tenant[0]) || IsDigit(tenant[0])) &&
           KeyCharsFrom(tenant, 1) && !system.empty() && system.size() <= 14 && IsLcAlpha(system[0]) &&
           KeyCharsFrom(system, 1);
}

// value = 0*255(chr) nblk-chr; chr = %x20 / nblk-chr; nblk-chr = %x21-2B / %x2D-3C / %x3E-7E.
bool ValidValue(std::string_view value) {
    if (value.empty() || value.size() > 256 || value.back() == ' ') {
        return false;
    }
    return std::all_of(value.begin(), value.end(), [](char c) {
        return c >= 0x20 && c <= 0x7e && c != ',' && c != '=';
    });
}

std::string_view TrimOws(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

thread_local TraceContext t_span;
thread_local bool t_active = false;

}  // namespace

bool TraceContext::Valid() const {
    return !AllZero(trace_id);
}

bool TraceContext::HasParent() const {
    return !AllZero(parent_id);
}

std::optional<TraceContext> ParseTraceparent(std::string_view h) {
    if (h.size() < kTraceparentSize) {
        return std::nullopt;
    }
    const int v_hi = HexValue(h[0]);
    const int v_lo = HexValue(h[1]);
    if (v_hi < 0 || v_lo < 0 || (v_hi == 0xf && v_lo == 0xf)) {
        return std::nullopt;  // not hex, or version ff (forbidden)
    }
    const bool v00 = v_hi == 0 && v_lo == 0;
    if (v00 && h.size() != kTraceparentSize) {
        return std::nullopt;
    }
    // A later version may add fields after the four known ones, each after a dash.
    if (!v00 && h.size() > kTraceparentSize && h[kTraceparentSize] != '-') {
        return std::nullopt;
    }
    if (h[2] != '-' || h[35] != '-' || h[52] != '-') {
        return std::nullopt;
    }
    TraceContext ctx;
    std::array<std::uint8_t, 1> flags{};
    if (!DecodeHex(h.substr(3, 32), ctx.trace_id) || !DecodeHex(h.substr(36, 16), ctx.span_id) ||
        !DecodeHex(h.substr(53, 2), flags)) {
        return std::nullopt;
    }
    if (AllZero(ctx.trace_id) || AllZero(ctx.span_id)) {
        return std::nullopt;
    }
    // Of a later version's flags only the sampled bit has a meaning we know.
    ctx.flags = v00 ? flags[0] : static_cast<std::uint8_t>(flags[0] & kSampledFlag);
    return ctx;
}

std::optional<std::string> ParseTracestate(std::string_view header) {
    struct Member {
        std::string_view text;  // key=value
        std::string_view key;
    };
    std::vector<Member> members;
    while (!header.empty()) {
        const auto comma = header.find(',');
        const std::string_view raw = header.substr(0, comma);
        header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
        const std::string_view item = TrimOws(raw);
        if (item.empty()) {
            continue;  // empty list members are allowed and skipped
        }
        const auto eq = item.find('=');
        if (eq == std::string_view::npos) {
            return std::nullopt;
        }
        const std::string_view key = item.substr(0, eq);
        if (!ValidKey(key) || !ValidValue(item.substr(eq + 1))) {
            return std::nullopt;
        }
        if (members.size() == kMaxTracestateMembers ||
            std::any_of(members.begin(), members.end(), [&](const Member& m) { return m.key == key; })) {
            return std::nullopt;
        }
        members.push_back({item, key});
    }
    auto total = [&] {
        std::size_t n = members.empty() ? 0 : members.size() - 1;
        for (const Member& m : members) {
            n += m.text.size();
        }
        return n;
    };
    // Over the limit: members longer than 128 bytes go first, then members from the end.
    while (total() > kMaxTracestateBytes) {
        const auto big =
            std::find_if(members.begin(), members.end(), [](const Member& m) { return m.text.size() > 128; });
        if (big != members.end()) {
            members.erase(big);
        } else {
            members.pop_back();
        }
    }
    std::string out;
    out.reserve(total());
    for (const Member& m : members) {
        if (!out.empty()) {
            out.push_back(',');
        }
        out += m.text;
    }
    return out;
}

TraceContext NewSpan() {
    TraceContext ctx;
    FillRandom(ctx.trace_id);
    FillRandom(ctx.span_id);
    ctx.flags = kSampledFlag;
    return ctx;
}

TraceContext NewSpan(const TraceContext& parent) {
    if (!parent.Valid()) {
        return NewSpan();
    }
    TraceContext ctx;
    ctx.trace_id = parent.trace_id;
    ctx.parent_id = parent.span_id;
    ctx.flags = parent.flags;
    ctx.tracestate = parent.tracestate;
    do {
        FillRandom(ctx.span_id);
    } while (ctx.span_id == ctx.parent_id);
    return ctx;
}

TraceContext SpanFromHeaders(std::string_view traceparent, std::string_view tracestate) {
    if (traceparent.empty()) {
        return NewSpan();
    }
    auto caller = ParseTraceparent(traceparent);
    if (!caller) {
        return NewSpan();
    }
    if (!tracestate.empty()) {
        if (auto state = ParseTracestate(tracestate)) {
            caller->tracestate = std::move(*state);
        }
    }
    return NewSpan(*caller);
}

void AppendHex(std::string& out, const std::uint8_t* bytes, std::size_t size) {
    for (std::size_t i = 0; i < size; ++i) {
        out.push_back(kHexDigits[bytes[i] >> 4U]);
        out.push_back(kHexDigits[bytes[i] & 0xfU]);
    }
}

std::string FormatTraceparent(const TraceContext& ctx) {
    std::string out;
    out.reserve(kTraceparentSize);
    out += "00-";
    AppendHex(out, ctx.trace_id.data(), ctx.trace_id.size());
    out.push_back('-');
    AppendHex(out, ctx.span_id.data(), ctx.span_id.size());
    out.push_back('-');
    AppendHex(out, &ctx.flags, 1);
    return out;
}

std::string TraceIdHex(const TraceContext& ctx) {
    std::string out;
    AppendHex(out, ctx.trace_id.data(), ctx.trace_id.size());
    return out;
}

std::string SpanIdHex(const TraceContext& ctx) {
    std::string out;
    AppendHex(out, ctx.span_id.data(), ctx.span_id.size());
    return out;
}

const TraceContext* CurrentSpan() {
    return t_active ? &t_span : nullptr;
}

void SetCurrentSpan(const TraceContext* ctx) {
    if (ctx == nullptr) {
        t_active = false;
        t_span.tracestate.clear();
        return;
    }
    if (ctx != &t_span) {
        t_span = *ctx;
    }
    t_active = true;
}

ScopedSpan::ScopedSpan(const TraceContext& ctx) {
    if (t_active) {
        previous_ = t_span;
    }
    SetCurrentSpan(ctx.Valid() ? &ctx : nullptr);
}

ScopedSpan::~ScopedSpan() {
    SetCurrentSpan(previous_ ? &*previous_ : nullptr);
}

}  // namespace basalt::obs
