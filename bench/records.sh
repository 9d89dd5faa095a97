#!/usr/bin/env bash
# The records workloads of the data API issue, side by side with nginx in one run (wrk -t1 -c64):
#   W1 GET one record by random id, W2 list (perPage=20, filter, sort -created, with and without
#   skipTotal), W3 POST create (durable, group commit). Dataset: 10,000 posts (RECORDS to change).
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
run "W3 create (durable)" -s bench/create.lua "$BURL/api/collections/posts/records"; W3=$(cat "$out/last")
echo
echo "W1 / nginx: $(ratio "$W1" "$NGINX")x (target >= 0.7)"
echo "W2 / nginx: $(ratio "$W2" "$NGINX")x with totals, $(ratio "$W2S" "$NGINX")x skipTotal (target >= 0.3)"
echo "W3: $W3 creates/s (target >= 20000)"
