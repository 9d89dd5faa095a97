#!/usr/bin/env bash
# The cost of an operations feature (issue 15): two servers side by side, each over its own 10,000
# seeded posts, one with the feature on and one with it off from the start (so no run pays for
# switching it), W1 (get by random id) and W3 (durable create) alternated between them ROUNDS times,
# SECS seconds each (wrk -t1 -c64); prints each run and the ratios of the medians.
#   FEATURE=logs (default): settings.logs as installed (maxDays 5: every request logged into
#     auxiliary.db) vs maxDays 0 (nothing logged) (target: W1 on >= 0.9x off);
#   FEATURE=ratelimit: settings.rateLimits with rules matching every W1 and W3 request (limits far
#     above the load, so every request is counted and none refused) vs rate limits off, both with
#     the request log off (target: W1 on >= 0.95x off).
#   FEATURE=binary: two builds, settings as installed (request log on): "on" runs $BASALT_BIN (default
#     build/basalt), "off" runs $BASE_BIN (say, the previous commit's binary: the cost of a change
#     such as tracing). TRACEPARENT=<header> makes W1 and W3 send it on every request.
#   FEATURE=replica: `serve --replicate DIR` (point-in-time replication, issue 16) vs none, settings
#     as installed (target: W3 on >= 0.9x off); then the replica's largest lag, its size, and a
#     `basalt restore` of it, timed, whose record count must equal the live server's.
#   WORKLOADS="W3": run only those (default "W1 W3").
#   bench/ops_cost.sh [seconds=10] [rounds=3]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
ROUNDS=${2:-3}
RECORDS=${RECORDS:-10000}
BIN=${BASALT_BIN:-build/basalt}
FEATURE=${FEATURE:-logs}
source bench/lib.sh

RULES='[{"label":"*:view","audience":"","duration":1,"maxRequests":100000000},{"label":"*:create","audience":"","duration":1,"maxRequests":100000000}]'
settings_for() {
  case "$FEATURE:$1" in
    logs:on) echo '{"logs":{"maxDays":5}}' ;;
    logs:off) echo '{"logs":{"maxDays":0}}' ;;
    ratelimit:on) echo "{\"logs\":{\"maxDays\":0},\"rateLimits\":{\"enabled\":true,\"rules\":$RULES}}" ;;
    ratelimit:off) echo '{"logs":{"maxDays":0},"rateLimits":{"enabled":false}}' ;;
    binary:on | binary:off | replica:on | replica:off) echo '{"logs":{"maxDays":5}}' ;;
    *) echo "unknown FEATURE $FEATURE" >&2; exit 1 ;;
  esac
}

declare -A URL TOKEN
declare -A BINS=([on]=$BIN [off]=$BIN)
if [ "$FEATURE" = binary ]; then
  [ -x "${BASE_BIN:-}" ] || { echo "FEATURE=binary needs BASE_BIN=<the binary to compare with>" >&2; exit 1; }
  BINS[off]=$BASE_BIN
fi
for mode in on off; do
  args=""
  if [ "$FEATURE:$mode" = replica:on ]; then args="--replicate $out/replica"; fi
  BASALT_ARGS="${BASALT_ARGS:-} $args" BIN=${BINS[$mode]} DATA="$out/data-$mode" start_basalt
  [ "$mode" = on ] && PID_ON=$BPID
  URL[$mode]=$BURL
  TOKEN[$mode]=$SU_TOKEN
  curl -sf -X PATCH "$BURL/api/settings" -H "Authorization: $SU_TOKEN" -H 'Content-Type: application/json' \
    -d "$(settings_for "$mode")" >/dev/null
  node bench/seed.mjs "$BURL" "$SU_TOKEN" "$RECORDS" "$out/ids-$mode.txt" >/dev/null
done

replica_metrics() {
  curl -sf "${URL[on]}/api/metrics" -H "Authorization: ${TOKEN[on]}" |
    awk '/^basalt_replica_(transactions_total|points_total|lag_seconds|lag_max_seconds|dropped_total|generations_total) / {printf "%s=%s ", $1, $2}'
}
if [ "$FEATURE" = replica ]; then echo "replica after seeding: $(replica_metrics)"; fi
echo "== $FEATURE cost: two servers, $RECORDS posts each, wrk -t1 -c64 -d${SECS}s, $ROUNDS rounds"
: > "$out/results"
for w in ${WORKLOADS:-W1 W3}; do
  for round in $(seq 1 "$ROUNDS"); do
    for mode in on off; do
      if [ "$w" = W1 ]; then
        IDS_FILE="$out/ids-$mode.txt" run "round $round W1 $FEATURE $mode" -s bench/get_random.lua "${URL[$mode]}"
      else
        run "round $round W3 $FEATURE $mode" -s bench/create.lua "${URL[$mode]}/api/collections/posts/records"
      fi
      echo "$w $mode $(cat "$out/last")" >> "$out/results"
    done
  done
done
node - "$out/results" <<'JS'
const fs = require('node:fs');
const rows = fs.readFileSync(process.argv[2], 'utf8').trim().split('\n').map((l) => l.split(' '));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
for (const w of [...new Set(rows.map((r) => r[0]))]) {
  const on = median(rows.filter((r) => r[0] === w && r[1] === 'on').map((r) => Number(r[2])));
  const off = median(rows.filter((r) => r[0] === w && r[1] === 'off').map((r) => Number(r[2])));
  console.log(`${w}: on ${on.toFixed(0)} req/s, off ${off.toFixed(0)} req/s, ratio ${(on / off).toFixed(3)} (medians)`);
}
JS
if [ "$FEATURE" = logs ]; then
  sleep 2
  entries=$(curl -sf "${URL[on]}/api/logs?perPage=1" -H "Authorization: ${TOKEN[on]}" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).totalItems))')
  echo "log entries written by the logging server: $entries; auxiliary.db $(du -sh "$out/data-on/auxiliary.db" | cut -f1)"
fi
if [ "$FEATURE" = replica ]; then
  echo "replica: $(replica_metrics)"
  echo "replica size: $(du -sh "$out/replica" | cut -f1), live data.db + WAL: $(du -shc "$out/data-on"/data.db* | tail -1 | cut -f1)"
  live=$(curl -sf "${URL[on]}/api/collections/posts/records?perPage=1&skipTotal=0" -H "Authorization: ${TOKEN[on]}" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).totalItems))')
  kill -9 "$PID_ON"
  t0=$EPOCHREALTIME
  "$BIN" restore --from "$out/replica" --dir "$out/restored"
  t1=$EPOCHREALTIME
  restored=$(sqlite3 "$out/restored/data.db" 'SELECT COUNT(*) FROM posts')
  echo "restore after SIGKILL: $(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.1f", b-a}') s; posts live $live, restored $restored"
fi
