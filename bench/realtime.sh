#!/usr/bin/env bash
# Realtime (SSE) on one node: 10,000 connections (basalt's RSS per connection), then 1,000 of them
# subscribed to a collection while records are created at 1,000/s; the delay from sending a write
# to its event arriving at each subscriber, p50/p99 (target p99 <= 50 ms). Everything else stays
# connected meanwhile.
#   bench/realtime.sh [seconds=10]     env: CONNECTIONS SUBSCRIBERS RATE
set -euo pipefail
cd "$(dirname "$0")/.."
export SECONDS_RUN=${1:-10}
BIN=${BASALT_BIN:-build/basalt}
source bench/lib.sh

BASALT_ARGS="--max-connections 20000" start_basalt
echo "== realtime: ${CONNECTIONS:-10000} connections, ${SUBSCRIBERS:-1000} subscribers, ${RATE:-1000} writes/s for ${SECONDS_RUN}s"
SECONDS=$SECONDS_RUN node bench/realtime.mjs "$BURL" "$SU_TOKEN" "$BPID"
