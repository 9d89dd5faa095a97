#!/usr/bin/env bash
# The point-in-time replica under sustained W3 (issue 16): `serve --replicate DIR` on a fresh data
# dir with the posts collection of bench/sustained.sh, wrk -t1 -c64 creating records for SECONDS,
# and the replica's lag (basalt_replica_lag_seconds, _lag_max_seconds) and bytes sampled every
# second from /api/metrics. Ends with the create rate and p99, the largest lag seen, the replica's
# size beside the live database's, and a `basalt restore` of the replica after a SIGKILL, timed and
# checked against the live record count.
#   bench/replica_lag.sh [seconds=60]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-60}
BIN=${BASALT_BIN:-build/basalt}
source bench/lib.sh

BASALT_ARGS="--replicate $out/replica ${BASALT_ARGS:-}" start_basalt
curl -sf -X POST "$BURL/api/collections" -H "Authorization: $SU_TOKEN" -H 'Content-Type: application/json' -d '{
  "name": "posts", "type": "base", "createRule": "",
  "fields": [{"name": "title", "type": "text"}, {"name": "body", "type": "editor"},
             {"name": "views", "type": "number"}, {"name": "published", "type": "bool"}]}' >/dev/null
metric() { curl -sf "$BURL/api/metrics" -H "Authorization: $SU_TOKEN" | awk -v m="$1" '$1 == m {print $2}'; }
(
  while :; do
    sleep 1
    echo "$(metric basalt_replica_lag_seconds) $(metric basalt_replica_bytes_total)"
  done
) >"$out/lag" 2>/dev/null &
SAMPLER=$!
echo "== replica under W3: wrk -t1 -c64 -d${SECS}s, fresh posts"
wrk -t1 -c64 -d"${SECS}s" --latency -s bench/create.lua "$BURL/api/collections/posts/records" >"$out/wrk.txt" 2>&1
kill "$SAMPLER" 2>/dev/null || true
read -r rps p99 errors < <(wrk_stats)
echo "creates/s $rps   p99 ${p99} ms   non-2xx ${errors:-0}"
echo "lag sampled: max $(awk '$1 > m {m = $1} END {printf "%.3f", m}' "$out/lag") s over $(wc -l <"$out/lag") samples; lag max since start $(metric basalt_replica_lag_max_seconds) s"
live=$(curl -sf "$BURL/api/collections/posts/records?perPage=1&skipTotal=0" -H "Authorization: $SU_TOKEN" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).totalItems))')
echo "replica $(du -sh "$out/replica" | cut -f1), live data.db + WAL $(du -shc "$out/data"/data.db* | tail -1 | cut -f1)"
sleep 1
kill -9 "$BPID"
t0=$EPOCHREALTIME
"$BIN" restore --from "$out/replica" --dir "$out/restored" >/dev/null
t1=$EPOCHREALTIME
echo "restore after SIGKILL: $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s; posts live $live, restored $(sqlite3 "$out/restored/data.db" 'SELECT COUNT(*) FROM posts')"
