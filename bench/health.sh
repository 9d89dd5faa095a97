#!/usr/bin/env bash
# Loads GET /api/health on basalt and a ~300-byte static JSON file on nginx, side by side in one
# run, with wrk (-t1 -c64, keep-alive), and prints the ratio. Also measures idle RSS, startup to
# first 200 and the binary size. Both servers log every request to a file.
#   bench/health.sh [seconds=10] [rounds=2]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
ROUNDS=${2:-2}
BIN=${BASALT_BIN:-build/basalt}
out=$(mktemp -d /tmp/basalt-bench-XXXXXX)
chmod 755 "$out"  # nginx workers run as nobody
trap 'kill $(jobs -p) 2>/dev/null || true; [ -f "$out/nginx.pid" ] && kill "$(cat "$out/nginx.pid" 2>/dev/null)" 2>/dev/null; [ -n "${KEEP_BENCH:-}" ] || rm -rf "$out"' EXIT

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
wait_up() { for _ in $(seq 1 200); do curl -sf "$1" >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "not up: $1" >&2; return 1; }

# --- basalt
BPORT=$(free_port)
"$BIN" serve --http 127.0.0.1:"$BPORT" --dir "$out/data" </dev/null >>"$out/basalt.log" 2>&1 &
BPID=$!
wait_up "http://127.0.0.1:$BPORT/api/health"
sleep 0.5
idle_rss_kb=$(awk '/VmRSS/ {print $2}' /proc/$BPID/status)

# --- nginx (Debian's), same machine, same client
NPORT=$(free_port)
mkdir -p "$out/www" "$out/nginx"
node -e 'const o={message:"API is healthy.",code:200,data:{service:"basalt-bench",version:"0.1.0",region:"local",checks:{db:"ok",cache:"ok",queue:"ok"},uptime:123456,note:"static reference payload of about three hundred bytes for the nginx side of the basalt benchmark run, padded"}};process.stdout.write(JSON.stringify(o))' > "$out/www/health.json"
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
  server {
    listen 127.0.0.1:$NPORT;
    location = /health.json { root $out/www; default_type application/json; }
  }
}
CONF
nginx -c "$out/nginx.conf" -p "$out/nginx" -g 'daemon off;' </dev/null >>"$out/nginx.log" 2>&1 &
wait_up "http://127.0.0.1:$NPORT/health.json"

run_wrk() { # url -> "rps p99_ms"
  wrk -t1 -c64 -d"${SECS}s" --latency "$1" > "$out/wrk.txt" 2>&1
  local rps p99
  rps=$(awk '/Requests\/sec/ {print $2}' "$out/wrk.txt")
  p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' "$out/wrk.txt")
  echo "$rps $p99"
}

best_b=0; best_n=0; p99_b=0; p99_n=0
for r in $(seq 1 "$ROUNDS"); do
  read -r rps p99 < <(run_wrk "http://127.0.0.1:$BPORT/api/health")
  echo "round $r basalt: $rps req/s, p99 $p99 ms"
  if awk -v a="$rps" -v b="$best_b" 'BEGIN{exit !(a>b)}'; then best_b=$rps; p99_b=$p99; fi
  read -r rps p99 < <(run_wrk "http://127.0.0.1:$NPORT/health.json")
  echo "round $r nginx:  $rps req/s, p99 $p99 ms"
  if awk -v a="$rps" -v b="$best_n" 'BEGIN{exit !(a>b)}'; then best_n=$rps; p99_n=$p99; fi
done
loaded_rss_kb=$(awk '/VmRSS/ {print $2}' /proc/$BPID/status)
kill -TERM $BPID; wait $BPID || true

startup_ms=$(node bench/startup.mjs "$BIN" 5)
size=$(stat -c %s "$BIN")
stripped=$(strip -o "$out/basalt.stripped" "$BIN" && stat -c %s "$out/basalt.stripped")

echo
echo "== results (best of $ROUNDS rounds of ${SECS}s, wrk -t1 -c64)"
printf 'basalt GET /api/health : %s req/s, p99 %s ms\n' "$best_b" "$p99_b"
printf 'nginx static 300 B JSON: %s req/s, p99 %s ms\n' "$best_n" "$p99_n"
awk -v a="$best_b" -v b="$best_n" 'BEGIN{printf "ratio basalt/nginx     : %.2fx (target >= 1.0)\n", a/b}'
printf 'idle RSS               : %.1f MB (target <= 15); after load %.1f MB\n' "$(echo "$idle_rss_kb/1024" | bc -l)" "$(echo "$loaded_rss_kb/1024" | bc -l)"
printf 'startup to first 200   : %s ms (median of 5; target <= 100)\n' "$startup_ms"
printf 'binary size            : %.1f MB (%.1f MB stripped)\n' "$(echo "$size/1048576" | bc -l)" "$(echo "$stripped/1048576" | bc -l)"
