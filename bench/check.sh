#!/usr/bin/env bash
# The benchmark regression guard (`make bench-check`, a step of `make test`): short runs of W1 (get
# by random id), W2 (list with random thresholds and pages, bench/list_random.lua, with totals) and
# W3 (durable create) beside nginx serving a static 300-byte file, all in one run (wrk -t1 -c64,
# SECONDS each, 10,000 seeded posts). Each workload's rate over nginx's is compared with the figure
# in bench/baseline.json (BASELINE to change): the check fails when a ratio falls below half of it
# (coarse on purpose: it catches a 2-3x regression, not this machine's noise), when a workload
# answers anything but 2xx, or when the baseline is missing. Prints a table and the measured ratios
# as JSON (the form bench/baseline.json takes; its "measured" field records how it was made).
#   bench/check.sh [seconds=5]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-5}
RECORDS=${RECORDS:-10000}
BIN=${BASALT_BIN:-build/basalt}
BASELINE=${BASELINE:-bench/baseline.json}
[ -x "$BIN" ] || { echo "bench check: no $BIN (build it first)" >&2; exit 1; }
source bench/lib.sh

start_basalt
node bench/seed.mjs "$BURL" "$SU_TOKEN" "$RECORDS" "$out/ids.txt" >/dev/null

mkdir -p "$out/www"
head -c 300 /dev/zero | tr '\0' 'x' | sed 's/^/{"a":"/; s/$/"}/' > "$out/www/static.json"
start_nginx static.json

echo "== bench check: $RECORDS posts, wrk -t1 -c64 -d${SECS}s each, ratios to nginx vs $BASELINE"
: > "$out/results" # "name rps p99 non2xx"
measure() {
  local name=$1
  shift
  run "$@"
  echo "$name $(wrk_stats)" >> "$out/results"
}
measure nginx "nginx static 300 B" "http://127.0.0.1:$NPORT/static.json"
IDS_FILE="$out/ids.txt" measure W1 "W1 get by id" -s bench/get_random.lua "$BURL"
measure W2 "W2 list, random filter+page" -s bench/list_random.lua "$BURL"
measure W3 "W3 create (durable)" -s bench/create.lua "$BURL/api/collections/posts/records"

echo
node - "$out/results" "$BASELINE" <<'JS'
const fs = require('node:fs');
const [resultsFile, baselineFile] = process.argv.slice(2);
const rows = fs.readFileSync(resultsFile, 'utf8').trim().split('\n').map((l) => {
  const [name, rps, p99, non2xx] = l.split(' ');
  return { name, rps: Number(rps), p99: Number(p99), non2xx: Number(non2xx || 0) };
});
let baseline = null;
try {
  baseline = JSON.parse(fs.readFileSync(baselineFile, 'utf8'));
} catch (e) {
  console.log(`no baseline: ${e.message}`);
}
const nginx = rows.find((r) => r.name === 'nginx');
const ratios = {};
const failures = [];
const pad = (s, n) => String(s).padStart(n);
console.log(`${'workload'.padEnd(8)}${pad('req/s', 11)}${pad('p99 ms', 9)}${pad('non-2xx', 9)}${pad('/nginx', 8)}${pad('baseline', 10)}${pad('floor', 7)}  status`);
for (const r of rows) {
  let ratio = '', base = '', floor = '', status = '';
  if (r.name !== 'nginx') {
    ratio = nginx.rps > 0 ? r.rps / nginx.rps : 0;
    ratios[r.name] = Number(ratio.toFixed(3));
    status = 'ok';
    if (baseline && typeof baseline[r.name] === 'number') {
      base = baseline[r.name];
      floor = base / 2;
      if (ratio < floor) {
        status = 'FAIL (below half the baseline)';
        failures.push(`${r.name} ${ratio.toFixed(3)}x < ${floor.toFixed(3)}x`);
      }
      base = base.toFixed(3);
      floor = floor.toFixed(3);
    } else {
      status = 'FAIL (no baseline)';
      failures.push(`${r.name} has no baseline`);
    }
    ratio = ratio.toFixed(3);
  }
  if (r.non2xx > 0) {
    status = `FAIL (${r.non2xx} non-2xx)`;
    failures.push(`${r.name} answered ${r.non2xx} non-2xx`);
  }
  console.log(`${r.name.padEnd(8)}${pad(r.rps.toFixed(0), 11)}${pad(r.p99, 9)}${pad(r.non2xx, 9)}${pad(ratio, 8)}${pad(base, 10)}${pad(floor, 7)}  ${status}`);
}
console.log(`ratios: ${JSON.stringify(ratios)}`);
if (failures.length) {
  console.log(`bench check FAILED: ${failures.join('; ')}`);
  process.exit(1);
}
console.log('bench check: ok');
JS
