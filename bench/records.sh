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
out=$(mktemp -d /tmp/basalt-bench-XXXXXX)
chmod 755 "$out"
trap 'kill $(jobs -p) 2>/dev/null || true; [ -f "$out/nginx.pid" ] && kill "$(cat "$out/nginx.pid" 2>/dev/null)" 2>/dev/null; rm -rf "$out"' EXIT

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
wait_up() { for _ in $(seq 1 200); do curl -sf "$1" >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "not up: $1" >&2; return 1; }

"$BIN" superuser upsert bench@example.com bench-password --dir "$out/data" >/dev/null
BPORT=$(free_port)
"$BIN" serve --http 127.0.0.1:"$BPORT" --dir "$out/data" </dev/null >>"$out/basalt.log" 2>&1 &
BURL="http://127.0.0.1:$BPORT"
wait_up "$BURL/api/health"
TOKEN=$(curl -sf -X POST "$BURL/api/collections/_superusers/auth-with-password" -H 'Content-Type: application/json' \
  -d '{"identity":"bench@example.com","password":"bench-password"}' | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).token))')
node bench/seed.mjs "$BURL" "$TOKEN" "$RECORDS" "$out/ids.txt"

NPORT=$(free_port)
mkdir -p "$out/www" "$out/nginx"
head -c 300 /dev/zero | tr '\0' 'x' | sed 's/^/{"a":"/; s/$/"}/' > "$out/www/static.json"
cat > "$out/nginx.conf" <<CONF
worker_processes auto;
pid $out/nginx.pid;
error_log $out/nginx/error.log;
events { worker_connections 4096; }
http {
  access_log $out/nginx/access.log;
  client_body_temp_path $out/nginx; proxy_temp_path $out/nginx; fastcgi_temp_path $out/nginx;
  uwsgi_temp_path $out/nginx; scgi_temp_path $out/nginx;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$NPORT; location = /static.json { root $out/www; default_type application/json; } }
}
CONF
nginx -c "$out/nginx.conf" -p "$out/nginx" -g 'daemon off;' </dev/null >>"$out/nginx.log" 2>&1 &
wait_up "http://127.0.0.1:$NPORT/static.json"

run() { # name, wrk args... -> prints "name rps p99"
  local name=$1
  shift
  wrk -t1 -c64 -d"${SECS}s" --latency "$@" > "$out/wrk.txt" 2>&1
  local rps p99 errors
  rps=$(awk '/Requests\/sec/ {print $2}' "$out/wrk.txt")
  p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' "$out/wrk.txt")
  errors=$(awk '/Non-2xx/ {print $5}' "$out/wrk.txt")
  printf '%-34s %10s req/s   p99 %7s ms   non-2xx %s\n' "$name" "$rps" "$p99" "${errors:-0}"
  echo "$rps" > "$out/last"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", a/b}'; }

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
