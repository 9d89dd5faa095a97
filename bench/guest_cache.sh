#!/usr/bin/env bash
# The guest response cache (issue 15): two servers side by side, each over its own 10,000 seeded
# posts, one with the cache (the default, --guest-cache-mb 16) and one without (--guest-cache-mb 0),
# and nginx serving a static file, all in one run; ROUNDS rounds of SECS seconds each (wrk -t1 -c64),
# alternating the servers:
#   hot   one guest list page (perPage=20, sort -created, one filter: records.sh's W2) — the target:
#         cache on >= 0.6x nginx;
#   W2r   random filter thresholds and pages (bench/list_random.lua: nearly every request a miss) —
#         the cost of the misses: cache on ~= cache off;
#   W1    get by random id (10,000 ids: after the first pass every view is a hit).
# Prints each run and the ratios of the medians.
#   bench/guest_cache.sh [seconds=10] [rounds=3]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
ROUNDS=${2:-3}
RECORDS=${RECORDS:-10000}
BIN=${BASALT_BIN:-build/basalt}
source bench/lib.sh

declare -A URL
for mode in on off; do
  if [ "$mode" = on ]; then args="--guest-cache-mb 16"; else args="--guest-cache-mb 0"; fi
  DATA="$out/data-$mode" BASALT_ARGS="$args" start_basalt
  URL[$mode]=$BURL
  node bench/seed.mjs "$BURL" "$SU_TOKEN" "$RECORDS" "$out/ids-$mode.txt" >/dev/null
done
mkdir -p "$out/www"
head -c 300 /dev/zero | tr '\0' 'x' | sed 's/^/{"a":"/; s/$/"}/' > "$out/www/static.json"
start_nginx static.json

FILTER='views%20%3E%20500%20%26%26%20published%20%3D%20true'
HOT="/api/collections/posts/records?perPage=20&sort=-created&filter=$FILTER"
echo "== guest response cache: two servers, $RECORDS posts each, nginx, wrk -t1 -c64 -d${SECS}s, $ROUNDS rounds"
: > "$out/results"
for round in $(seq 1 "$ROUNDS"); do
  run "round $round nginx static 300 B" "http://127.0.0.1:$NPORT/static.json"
  echo "nginx - $(cat "$out/last")" >> "$out/results"
  for mode in on off; do
    run "round $round hot page, cache $mode" "${URL[$mode]}$HOT"
    echo "hot $mode $(cat "$out/last")" >> "$out/results"
  done
  for mode in on off; do
    run "round $round W2r, cache $mode" -s bench/list_random.lua "${URL[$mode]}"
    echo "W2r $mode $(cat "$out/last")" >> "$out/results"
  done
  for mode in on off; do
    IDS_FILE="$out/ids-$mode.txt" run "round $round W1, cache $mode" -s bench/get_random.lua "${URL[$mode]}"
    echo "W1 $mode $(cat "$out/last")" >> "$out/results"
  done
done
node - "$out/results" <<'JS'
const fs = require('node:fs');
const rows = fs.readFileSync(process.argv[2], 'utf8').trim().split('\n').map((l) => l.split(' '));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
const m = (w, mode) => median(rows.filter((r) => r[0] === w && r[1] === mode).map((r) => Number(r[2])));
const nginx = m('nginx', '-');
console.log(`nginx ${nginx.toFixed(0)} req/s (median)`);
for (const w of ['hot', 'W2r', 'W1']) {
  const on = m(w, 'on');
  const off = m(w, 'off');
  console.log(`${w}: cache on ${on.toFixed(0)} req/s (${(on / nginx).toFixed(2)}x nginx), off ${off.toFixed(0)} req/s (${(off / nginx).toFixed(2)}x nginx), on/off ${(on / off).toFixed(3)}`);
}
JS
