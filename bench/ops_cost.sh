#!/usr/bin/env bash
# The cost of an operations feature (issue 15), on and off in one run: one server, 10,000 seeded
# posts, W1 (get by random id) and W3 (durable create) alternated ROUNDS times, SECS seconds each
# (wrk -t1 -c64); prints each run and the ratios of the medians.
#   FEATURE=logs (default): settings.logs.maxDays 5 (every request logged into auxiliary.db) vs 0
#     (target: W1 on >= 0.9x off);
#   FEATURE=ratelimit: settings.rateLimits with rules matching every W1 and W3 request (limits far
#     above the load, so every request is counted and none refused) vs rate limits off
#     (target: W1 on >= 0.95x off).
#   bench/ops_cost.sh [seconds=10] [rounds=3]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
ROUNDS=${2:-3}
RECORDS=${RECORDS:-10000}
BIN=${BASALT_BIN:-build/basalt}
source bench/lib.sh

start_basalt
node bench/seed.mjs "$BURL" "$SU_TOKEN" "$RECORDS" "$out/ids.txt" >/dev/null

FEATURE=${FEATURE:-logs}
settings() {
  curl -sf -X PATCH "$BURL/api/settings" -H "Authorization: $SU_TOKEN" -H 'Content-Type: application/json' -d "$1" >/dev/null
}
RULES='[{"label":"*:view","audience":"","duration":1,"maxRequests":100000000},{"label":"*:create","audience":"","duration":1,"maxRequests":100000000}]'
feature() {
  case "$FEATURE:$1" in
    logs:on) settings '{"logs":{"maxDays":5}}' ;;
    logs:off) settings '{"logs":{"maxDays":0}}' ;;
    ratelimit:on) settings "{\"logs\":{\"maxDays\":0},\"rateLimits\":{\"enabled\":true,\"rules\":$RULES}}" ;;
    ratelimit:off) settings '{"logs":{"maxDays":0},"rateLimits":{"enabled":false}}' ;;
    *) echo "unknown FEATURE $FEATURE" >&2; exit 1 ;;
  esac
}

echo "== $FEATURE cost: $RECORDS posts, wrk -t1 -c64 -d${SECS}s, $ROUNDS rounds"
: > "$out/results"
for round in $(seq 1 "$ROUNDS"); do
  for mode in on off; do
    feature "$mode"
    sleep 1
    IDS_FILE="$out/ids.txt" run "round $round W1 $FEATURE $mode" -s bench/get_random.lua "$BURL"
    echo "W1 $mode $(cat "$out/last")" >> "$out/results"
  done
done
for round in $(seq 1 "$ROUNDS"); do
  for mode in on off; do
    feature "$mode"
    sleep 1
    run "round $round W3 $FEATURE $mode" -s bench/create.lua "$BURL/api/collections/posts/records"
    echo "W3 $mode $(cat "$out/last")" >> "$out/results"
  done
done
feature on
sleep 2
entries=$(curl -sf "$BURL/api/logs?perPage=1" -H "Authorization: $SU_TOKEN" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).totalItems))')
node - "$out/results" <<'JS'
const fs = require('node:fs');
const rows = fs.readFileSync(process.argv[2], 'utf8').trim().split('\n').map((l) => l.split(' '));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
for (const w of ['W1', 'W3']) {
  const on = median(rows.filter((r) => r[0] === w && r[1] === 'on').map((r) => Number(r[2])));
  const off = median(rows.filter((r) => r[0] === w && r[1] === 'off').map((r) => Number(r[2])));
  console.log(`${w}: on ${on.toFixed(0)} req/s, off ${off.toFixed(0)} req/s, ratio ${(on / off).toFixed(3)} (medians)`);
}
JS
echo "log entries kept at the end: $entries; auxiliary.db: $(du -sh "$out/data/auxiliary.db" | cut -f1), WAL $(du -sh "$out/data/auxiliary.db-wal" 2>/dev/null | cut -f1)"
