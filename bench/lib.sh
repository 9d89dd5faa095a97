# Shared pieces of the bench scripts (sourced): a scratch dir cleaned on exit, free ports, waiting
# for a server, Debian's nginx serving one static file, and wrk's numbers.

out=$(mktemp -d /tmp/basalt-bench-XXXXXX)
chmod 755 "$out"  # nginx workers run as nobody
# Under `set -e` a failing command in the trap ends the script with status 1: nginx's master is
# usually gone by the second kill, hence the `|| true`s (the script's own status is kept).
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; { [ -f "$out/nginx.pid" ] && kill "$(cat "$out/nginx.pid" 2>/dev/null)"; } 2>/dev/null || true; [ -n "${KEEP_BENCH:-}" ] || rm -rf "$out"' EXIT

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
wait_up() { for _ in $(seq 1 200); do curl -sf "$1" >/dev/null 2>&1 && return 0; sleep 0.05; done; echo "not up: $1" >&2; return 1; }

# start_nginx NAME: serves $out/www/NAME (written by the caller) at http://127.0.0.1:$NPORT/NAME,
# access log on, every worker of the machine; NGINX_SENDFILE=1 turns sendfile on (as Debian's
# stock nginx.conf does).
start_nginx() {
  NPORT=$(free_port)
  mkdir -p "$out/nginx"
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
  ${NGINX_SENDFILE:+sendfile on; tcp_nopush on;}
  server { listen 127.0.0.1:$NPORT; location = /$1 { root $out/www; default_type application/json; } }
}
CONF
  nginx -c "$out/nginx.conf" -p "$out/nginx" -g 'daemon off;' </dev/null >>"$out/nginx.log" 2>&1 &
  wait_up "http://127.0.0.1:$NPORT/$1"
}

# wrk_stats: "rps p99_ms non2xx" from the wrk --latency output in $out/wrk.txt.
wrk_stats() {
  local rps p99 errors
  rps=$(awk '/Requests\/sec/ {print $2}' "$out/wrk.txt")
  p99=$(awk '$1=="99%" {v=$2; if (v ~ /us$/) {sub(/us/,"",v); v=v/1000} else if (v ~ /ms$/) {sub(/ms/,"",v)} else if (v ~ /s$/) {sub(/s/,"",v); v=v*1000}; print v}' "$out/wrk.txt")
  errors=$(awk '/Non-2xx/ {print $5}' "$out/wrk.txt")
  echo "$rps $p99 ${errors:-0}"
}

# start_basalt: a superuser (bench@example.com) and `$BIN serve` on a free port over $out/data
# (DATA to choose another directory); sets BURL, BPID and SU_TOKEN (the superuser's token).
# BASALT_ARGS: extra serve flags.
start_basalt() {
  local dir=${DATA:-$out/data}
  "$BIN" superuser upsert bench@example.com bench-password --dir "$dir" >/dev/null
  local port
  port=$(free_port)
  # shellcheck disable=SC2086
  "$BIN" serve --http 127.0.0.1:"$port" --dir "$dir" ${BASALT_ARGS:-} </dev/null >>"$out/basalt.log" 2>&1 &
  BPID=$!
  BURL="http://127.0.0.1:$port"
  wait_up "$BURL/api/health"
  SU_TOKEN=$(curl -sf -X POST "$BURL/api/collections/_superusers/auth-with-password" -H 'Content-Type: application/json' \
    -d '{"identity":"bench@example.com","password":"bench-password"}' |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).token))')
}

# run NAME WRK_ARGS...: wrk -t1 -c64 for $SECS seconds; prints "NAME rps p99 non-2xx" and leaves the
# rate in $out/last.
run() {
  local name=$1
  shift
  wrk -t1 -c64 -d"${SECS}s" --latency "$@" > "$out/wrk.txt" 2>&1
  local rps p99 errors
  read -r rps p99 errors < <(wrk_stats)
  printf '%-36s %10s req/s   p99 %7s ms   non-2xx %s\n' "$name" "$rps" "$p99" "${errors:-0}"
  echo "$rps" > "$out/last"
}

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.2f", b ? a/b : 0}'; }
