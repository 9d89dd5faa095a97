#!/usr/bin/env bash
# The records workloads of the data API issues, side by side with nginx in one run (wrk -t1 -c64):
#   W1 GET one record by random id; W2 list (perPage=20, sort -created) on one fixed filter (one hot
#   page, with and without skipTotal) and with random thresholds and pages (bench/list_random.lua);
#   the mixed workload (bench/mixed.lua: 80% W1, 15% W2 random, 5% W3 through one connection pool);
#   W3 POST create (durable, group commit). Dataset: 10,000 posts (RECORDS to change).
# The creating runs go last (mixed, then W3): they grow the table the reads run against.
#   bench/records.sh [seconds=10]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
RECORDS=${RECORDS:-10000}
BIN=${BASALT_BIN:-build/basalt}
source bench/lib.sh

start_basalt
node bench/seed.mjs "$BURL" "$SU_TOKEN" "$RECORDS" "$out/ids.txt"

mkdir -p "$out/www"
head -c 300 /dev/zero | tr '\0' 'x' | sed 's/^/{"a":"/; s/$/"}/' > "$out/www/static.json"
start_nginx static.json

FILTER='views%20%3E%20500%20%26%26%20published%20%3D%20true'
echo "== records workloads, $RECORDS posts, wrk -t1 -c64 -d${SECS}s"
run "nginx static 300 B" "http://127.0.0.1:$NPORT/static.json"; NGINX=$(cat "$out/last")
IDS_FILE="$out/ids.txt" run "W1 get by id" -s bench/get_random.lua "$BURL"; W1=$(cat "$out/last")
run "W2 list (with totals)" "$BURL/api/collections/posts/records?perPage=20&sort=-created&filter=$FILTER"; W2=$(cat "$out/last")
run "W2 list (skipTotal)" "$BURL/api/collections/posts/records?perPage=20&sort=-created&skipTotal=1&filter=$FILTER"; W2S=$(cat "$out/last")
run "W2 random filter+page (totals)" -s bench/list_random.lua "$BURL"; W2R=$(cat "$out/last")
SKIP_TOTAL=1 run "W2 random filter+page (skipTotal)" -s bench/list_random.lua "$BURL"; W2RS=$(cat "$out/last")
IDS_FILE="$out/ids.txt" run "mixed 80% W1 / 15% W2r / 5% W3" -s bench/mixed.lua "$BURL"; MIX=$(cat "$out/last")
read -r MW1 MW2 MW3 < <(sed -n 's/^mixed-rates W1=\([0-9.]*\) W2=\([0-9.]*\) W3=\([0-9.]*\).*/\1 \2 \3/p' "$out/wrk.txt") || true
MW1=${MW1:-0} MW2=${MW2:-0} MW3=${MW3:-0}
run "W3 create (durable)" -s bench/create.lua "$BURL/api/collections/posts/records"; W3=$(cat "$out/last")
# What the mix would give if its parts did not interfere: 1 / (0.80/W1 + 0.15/W2r + 0.05/W3).
EXPECTED=$(awk -v a="$W1" -v b="$W2R" -v c="$W3" 'BEGIN{printf "%.0f", 1/(0.80/a + 0.15/b + 0.05/c)}')
echo
echo "W1 / nginx: $(ratio "$W1" "$NGINX")x (target >= 0.8)"
echo "W2 / nginx: $(ratio "$W2" "$NGINX")x with totals, $(ratio "$W2S" "$NGINX")x skipTotal (one filter, page 1)"
echo "W2 random / nginx: $(ratio "$W2R" "$NGINX")x with totals, $(ratio "$W2RS" "$NGINX")x skipTotal (target >= 0.4)"
echo "W3: $W3 creates/s = $(ratio "$W3" "$NGINX")x nginx (target >= 25000)"
echo "mixed: $MIX req/s = $(ratio "$MIX" "$NGINX")x nginx; $(ratio "$MIX" "$EXPECTED")x of the $EXPECTED req/s its parts alone predict"
printf '  in the mix  W1 %9.0f req/s (%sx nginx)   W2r %8.0f req/s (%sx nginx)   W3 %7.0f creates/s\n' \
  "$MW1" "$(ratio "$MW1" "$NGINX")" "$MW2" "$(ratio "$MW2" "$NGINX")" "$MW3"
