// SPDX-License-Identifier: MIT
#include "obs/trace.hpp"

#include <cstdio>
#include <set>
#include <string>

#include <gtest/gtest.h>
#include <unistd.h>

#include "obs/log.hpp"

namespace basalt::obs {
namespace {

// The example of the W3C Trace Context recommendation.
constexpr std::string_view kSpecExample = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(Traceparent, ParsesTheSpecExample) {
    const auto ctx = ParseTraceparent(kSpecExample);
    ASSERT_TRUE(ctx.has_value());
    EXPECT_EQ(TraceIdHex(*ctx), "4bf92f3577b34da6a3ce929d0e0e4736");
    EXPECT_EQ(SpanIdHex(*ctx), "00f067aa0ba902b7");
    EXPECT_EQ(ctx->flags, 0x01);
    EXPECT_FALSE(ctx->HasParent());
    EXPECT_TRUE(ctx->tracestate.empty());
    EXPECT_EQ(FormatTraceparent(*ctx), kSpecExample);
}

TEST(Traceparent, KeepsVersion00FlagsAsSent) {
    const auto ctx = ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00");
    ASSERT_TRUE(ctx.has_value());
    EXPECT_EQ(ctx->flags, 0x00);
    const auto other = ParseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-03");
    ASSERT_TRUE(other.has_value());
    EXPECT_EQ(other->flags, 0x03);
}

TEST(Traceparent, RefusesMalformedVersion00Headers) {
    const std::string_view bad[] = {
        "",
        "00",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0",    // short
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",  // version 00 is exactly 55
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01 ",  // trailing space
        " 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // leading space
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",   // uppercase trace-id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",   // uppercase parent-id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",   // uppercase flags
        "0A-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   // uppercase version
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",   // all-zero trace-id
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",   // all-zero parent-id
        "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",   // not hex
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",   // wrong separator
        "00-4bf92f3577b34da6a3ce929d0e0e4736_00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7_01",
        "00-4bf92f3577b34da6a3ce929d0e0e47-3600f067aa0ba902b7-01",  // dashes in the wrong place
        "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",  // version ff is forbidden
        "zz-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
    };
    for (std::string_view h : bad) {
        EXPECT_FALSE(ParseTraceparent(h).has_value()) << "'" << h << "'";
    }
}

TEST(Traceparent, ReadsTheKnownFieldsOfALaterVersion) {
    // A later version may be longer: its first four fields are read, the rest ignored.
    const auto longer =
        ParseTraceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-the-future-holds");
    ASSERT_TRUE(longer.has_value());
    EXPECT_EQ(TraceIdHex(*longer), "4bf92f3577b34da6a3ce929d0e0e4736");
    EXPECT_EQ(SpanIdHex(*longer), "00f067aa0ba902b7");
    EXPECT_EQ(longer->flags, 0x01);
    // Exactly 55 characters is fine too; only the sampled flag is kept.
    const auto same = ParseTraceparent("01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0b");
    ASSERT_TRUE(same.has_value());
    EXPECT_EQ(same->flags, 0x01);
    // What is passed on is version 00.
    EXPECT_EQ(FormatTraceparent(*longer), kSpecExample);
}

TEST(Traceparent, RefusesALaterVersionThatBreaksTheKnownFields) {
    // After the flags a later version must continue with a dash.
    EXPECT_FALSE(ParseTraceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01.what").has_value());
    EXPECT_FALSE(ParseTraceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-011").has_value());
    // Shorter than version 00 is not parsed whatever the version.
    EXPECT_FALSE(ParseTraceparent("cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1").has_value());
    EXPECT_FALSE(ParseTraceparent("cc-00000000000000000000000000000000-00f067aa0ba902b7-01").has_value());
}

TEST(Tracestate, KeepsValidMembersInOrder) {
    EXPECT_EQ(ParseTracestate("rojo=00f067aa0ba902b7,congo=t61rcWkgMzE"), "rojo=00f067aa0ba902b7,congo=t61rcWkgMzE");
    // Optional whitespace around members and empty members are dropped.
    EXPECT_EQ(ParseTracestate(" rojo=1 ,\t, congo=2\t,"), "rojo=1,congo=2");
    // Multi-tenant keys and the characters a key and a value may have.
    EXPECT_EQ(
        ParseTracestate("fw529a3039@dt=-2ax8#!/Z~,0tenant@vendor_1=a b"),
        "fw529a3039@dt=-2ax8#!/Z~,0tenant@vendor_1=a b"
    );
    EXPECT_EQ(ParseTracestate("a_-*/9=x"), "a_-*/9=x");
    EXPECT_EQ(ParseTracestate(""), "");
    EXPECT_EQ(ParseTracestate(" , "), "");
    EXPECT_EQ(ParseTracestate("rojo=a "), "rojo=a");  // trailing whitespace is around the member
}

TEST(Tracestate, RefusesMalformedLists) {
    const std::string_view bad[] = {
        "rojo",                 // no '='
        "rojo=",                // empty value
        "=1",                   // empty key
        "Rojo=1",               // uppercase key
        "1rojo=1",              // a simple key starts with a letter
        "rojo=a=b",             // '=' in a value
        "rojo=a\tb",            // no tab inside a value (around a member it is whitespace)
        "rojo=\x7f",            // not printable
        "rojo=1,rojo=2",        // duplicate key
        "@v=1",                 // empty tenant
        "t@=1",                 // empty system
        "t@1v=1",               // a system id starts with a letter
        "t@abcdefghijklmno=1",  // a system id is at most 14 characters
        "ro jo=1",
    };
    for (std::string_view h : bad) {
        EXPECT_FALSE(ParseTracestate(h).has_value()) << "'" << h << "'";
    }
}

TEST(Tracestate, AllowsThirtyTwoMembersAndNoMore) {
    std::string list;
    for (int i = 0; i < 32; ++i) {
        list += (i > 0 ? "," : "") + std::string("k") + std::to_string(i) + "=v";
    }
    EXPECT_EQ(ParseTracestate(list), list);
    EXPECT_FALSE(ParseTracestate(list + ",k32=v").has_value());
}

TEST(Tracestate, CutsToFiveHundredTwelveBytesDroppingLongMembersFirst) {
    const std::string long_member = "big=" + std::string(200, 'x');
    std::string list = "a=" + std::string(100, '1') + "," + long_member + ",b=" + std::string(100, '2');
    for (int i = 0; i < 3; ++i) {
        list += ",c" + std::to_string(i) + "=" + std::string(100, '3');
    }
    const auto kept = ParseTracestate(list);
    ASSERT_TRUE(kept.has_value());
    EXPECT_LE(kept->size(), kMaxTracestateBytes);
    EXPECT_EQ(kept->find("big="), std::string::npos);  // the long one went first
    EXPECT_EQ(kept->rfind("a=", 0), 0U);
    EXPECT_NE(kept->find("c1="), std::string::npos);
    EXPECT_EQ(kept->find("c2="), std::string::npos);  // then from the end
}

TEST(NewSpan, MakesRandomNonZeroIdsWithTheSampledFlag) {
    std::set<std::string> traces;
    std::set<std::string> spans;
    for (int i = 0; i < 1000; ++i) {
        const TraceContext ctx = NewSpan();
        EXPECT_TRUE(ctx.Valid());
        EXPECT_FALSE(ctx.HasParent());
        EXPECT_EQ(ctx.flags, kSampledFlag);
        const std::string tp = FormatTraceparent(ctx);
        EXPECT_EQ(tp.size(), kTraceparentSize);
        ASSERT_TRUE(ParseTraceparent(tp).has_value()) << tp;
        traces.insert(TraceIdHex(ctx));
        spans.insert(SpanIdHex(ctx));
    }
    EXPECT_EQ(traces.size(), 1000U);
    EXPECT_EQ(spans.size(), 1000U);
}

TEST(NewSpan, AChildKeepsTheTraceFlagsAndStateWithANewSpanId) {
    auto caller = ParseTraceparent(kSpecExample);
    ASSERT_TRUE(caller.has_value());
    caller->tracestate = "rojo=1";
    const TraceContext child = NewSpan(*caller);
    EXPECT_EQ(child.trace_id, caller->trace_id);
    EXPECT_EQ(child.parent_id, caller->span_id);
    EXPECT_NE(child.span_id, caller->span_id);
    EXPECT_TRUE(child.HasParent());
    EXPECT_EQ(child.flags, caller->flags);
    EXPECT_EQ(child.tracestate, "rojo=1");
    // Of an invalid parent: a new trace.
    const TraceContext root = NewSpan(TraceContext{});
    EXPECT_TRUE(root.Valid());
    EXPECT_FALSE(root.HasParent());
}

TEST(SpanFromHeaders, ContinuesAValidTraceOrStartsANewOne) {
    const TraceContext child = SpanFromHeaders(kSpecExample, "rojo=1,congo=2");
    EXPECT_EQ(TraceIdHex(child), "4bf92f3577b34da6a3ce929d0e0e4736");
    EXPECT_TRUE(child.HasParent());
    EXPECT_EQ(child.tracestate, "rojo=1,congo=2");
    // An invalid tracestate is dropped, the traceparent still counts.
    const TraceContext no_state = SpanFromHeaders(kSpecExample, "Rojo=1");
    EXPECT_EQ(TraceIdHex(no_state), "4bf92f3577b34da6a3ce929d0e0e4736");
    EXPECT_TRUE(no_state.tracestate.empty());
    // A malformed traceparent: a new trace, and its tracestate is not used.
    const TraceContext fresh = SpanFromHeaders("00-xyz", "rojo=1");
    EXPECT_TRUE(fresh.Valid());
    EXPECT_FALSE(fresh.HasParent());
    EXPECT_NE(TraceIdHex(fresh), "4bf92f3577b34da6a3ce929d0e0e4736");
    EXPECT_TRUE(fresh.tracestate.empty());
    EXPECT_FALSE(SpanFromHeaders("", "").HasParent());
}

TEST(ScopedSpan, SetsAndRestoresTheThreadsSpan) {
    EXPECT_EQ(CurrentSpan(), nullptr);
    const TraceContext outer = NewSpan();
    {
        ScopedSpan a(outer);
        ASSERT_NE(CurrentSpan(), nullptr);
        EXPECT_EQ(CurrentSpan()->span_id, outer.span_id);
        const TraceContext inner = NewSpan(outer);
        {
            ScopedSpan b(inner);
            EXPECT_EQ(CurrentSpan()->span_id, inner.span_id);
        }
        EXPECT_EQ(CurrentSpan()->span_id, outer.span_id);
        SetCurrentSpan(nullptr);
        EXPECT_EQ(CurrentSpan(), nullptr);
        SetCurrentSpan(&inner);
        EXPECT_EQ(CurrentSpan()->span_id, inner.span_id);
    }
    EXPECT_EQ(CurrentSpan(), nullptr);
}

// Everything logged so far, read back from a temporary file the logger writes to.
class LogCapture {
public:
    LogCapture() : file_(std::tmpfile()) { SetOutputFdForTest(fileno(file_)); }
    ~LogCapture() {
        SetOutputFdForTest(1);
        std::fclose(file_);
    }
    LogCapture(const LogCapture&) = delete;
    LogCapture& operator=(const LogCapture&) = delete;
    std::string Text() {
        Flush();
        std::string out;
        char buf[4096];
        std::rewind(file_);
        std::size_t n = 0;
        while ((n = std::fread(buf, 1, sizeof(buf), file_)) > 0) {
            out.append(buf, n);
        }
        return out;
    }

private:
    std::FILE* file_;
};

TEST(ScopedSpan, LogLinesCarryTheThreadsSpan) {
    LogCapture capture;
    const TraceContext root = NewSpan();
    const TraceContext child = NewSpan(root);
    Info("no span here", {{"n", 1}});
    {
        ScopedSpan scope(root);
        Info("in the root span");
    }
    {
        ScopedSpan scope(child);
        Info("in the child span", {{"n", 2}});
    }
    const std::string text = capture.Text();
    const auto line = [&](std::string_view msg) {
        const auto at = text.find(msg);
        EXPECT_NE(at, std::string::npos) << msg;
        const auto start = text.rfind('\n', at);
        return text.substr(start == std::string::npos ? 0 : start + 1, text.find('\n', at) - start);
    };
    EXPECT_EQ(line("no span here").find("traceId"), std::string::npos);
    const std::string in_root = line("in the root span");
    EXPECT_NE(
        in_root.find("\"traceId\":\"" + TraceIdHex(root) + "\",\"spanId\":\"" + SpanIdHex(root) + "\""),
        std::string::npos
    ) << in_root;
    EXPECT_EQ(in_root.find("parentId"), std::string::npos);
    const std::string in_child = line("in the child span");
    EXPECT_NE(
        in_child.find(
            "\"n\":2,\"traceId\":\"" + TraceIdHex(root) + "\",\"spanId\":\"" + SpanIdHex(child) + "\",\"parentId\":\"" +
            SpanIdHex(root) + "\""
        ),
        std::string::npos
    ) << in_child;
}

}  // namespace
}  // namespace basalt::obs
