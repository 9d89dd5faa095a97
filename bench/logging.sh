#!/usr/bin/env bash
# The cost of the request log (issue 15: W1 with request logging on >= 0.9x W1 with it off): one
# server, 10,000 seeded posts, W1 (get by random id) and W3 (durable create) alternated with
# settings.logs.maxDays 5 (every request logged into auxiliary.db) and 0 (nothing logged), ROUNDS
# rounds of SECS seconds each (wrk -t1 -c64), in one run; prints each run and the ratios of the
# medians, and the number of log entries written.
#   bench/logging.sh [seconds=10] [rounds=3]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
ROUNDS=${2:-3}
RECORDS=${RECORDS:-10000}
BIN=${BASALT_BIN:-build/basalt}
source bench/lib.sh

start_basalt
node bench/seed.mjs "$BURL" "$SU_TOKEN" "$RECORDS" "$out/ids.txt" >/dev/null

logs() {
  curl -sf -X PATCH "$BURL/api/settings" -H "Authorization: $SU_TOKEN" -H 'Content-Type: application/json' \
    -d "{\"logs\":{\"maxDays\":$1}}" >/dev/null
}

echo "== request log cost: $RECORDS posts, wrk -t1 -c64 -d${SECS}s, $ROUNDS rounds"
: > "$out/results"
for round in $(seq 1 "$ROUNDS"); do
  for mode in on off; do
    if [ "$mode" = on ]; then logs 5; else logs 0; fi
    sleep 1
    IDS_FILE="$out/ids.txt" run "round $round W1 log $mode" -s bench/get_random.lua "$BURL"
    echo "W1 $mode $(cat "$out/last")" >> "$out/results"
  done
done
for round in $(seq 1 "$ROUNDS"); do
  for mode in on off; do
    if [ "$mode" = on ]; then logs 5; else logs 0; fi
    sleep 1
    run "round $round W3 log $mode" -s bench/create.lua "$BURL/api/collections/posts/records"
    echo "W3 $mode $(cat "$out/last")" >> "$out/results"
  done
done
logs 5
sleep 2
entries=$(curl -sf "$BURL/api/logs?perPage=1" -H "Authorization: $SU_TOKEN" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).totalItems))')
node - "$out/results" <<'JS'
const fs = require('node:fs');
const rows = fs.readFileSync(process.argv[2], 'utf8').trim().split('\n').map((l) => l.split(' '));
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; };
for (const w of ['W1', 'W3']) {
  const on = median(rows.filter((r) => r[0] === w && r[1] === 'on').map((r) => Number(r[2])));
  const off = median(rows.filter((r) => r[0] === w && r[1] === 'off').map((r) => Number(r[2])));
  console.log(`${w}: logged ${on.toFixed(0)} req/s, not logged ${off.toFixed(0)} req/s, ratio ${(on / off).toFixed(3)} (medians)`);
}
JS
echo "log entries kept at the end: $entries; auxiliary.db: $(du -sh "$out/data/auxiliary.db" | cut -f1), WAL $(du -sh "$out/data/auxiliary.db-wal" 2>/dev/null | cut -f1)"
