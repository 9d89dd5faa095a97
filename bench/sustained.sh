#!/usr/bin/env bash
# Sustained W3: durable creates (bench/create.lua, wrk -t1 -cCONNS) for SECONDS on a fresh data dir
# with one base collection `posts` (title text, body editor, views number, published bool;
# createRule ""), then the server left idle. Per 10-second slice: the create rate and p99, the size
# of data.db-wal at the slice's end and its largest size seen during the slice, basalt's RSS. At the
# end: first-minute vs last-minute rate (first vs last third of the slices for runs under 3 minutes),
# the largest WAL, the records stored, and basalt's CPU while idle 1-5 s after the load stopped
# (utime+stime from /proc/PID/stat over 4 s, in % of one core).
#   bench/sustained.sh [seconds=300] [conns=64]
#   CHECK=1: exit 1 when the largest WAL passes 64 MiB (MAX_WAL_MIB), the idle CPU 5% (MAX_IDLE_CPU),
#   the last slice's rate falls below 0.5x the first (MIN_LAST_RATIO), a create is answered non-2xx,
#   or fewer records are stored than creates were acknowledged. Coarse on purpose: this machine is
#   noisy; the thresholds catch a WAL without bound, a consumer that spins, a collapse, not 10%.
#
# How it measures: one wrk run per slice, back to back, rather than one long run with a sampler,
# because wrk's latency histogram is the only source of a per-slice p99 (a sampler outside wrk sees
# rates, not latencies). The price is a pause of a few tens of ms between slices while wrk exits
# and the next one connects its 64 connections (< 1% of a slice; it lets the writer idle that long).
# The WAL size and RSS are sampled every 0.5 s by a background loop through the whole run, so a WAL
# that swells and shrinks inside a slice is still caught in "max".
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-300}
CONNS=${2:-64}
SLICE=${SLICE:-10}
BIN=${BASALT_BIN:-build/basalt}
MAX_WAL_MIB=${MAX_WAL_MIB:-64}
MAX_IDLE_CPU=${MAX_IDLE_CPU:-5}
MIN_LAST_RATIO=${MIN_LAST_RATIO:-0.5}
source bench/lib.sh

start_basalt
curl -sf -X POST "$BURL/api/collections" -H "Authorization: $SU_TOKEN" -H 'Content-Type: application/json' -d '{
  "name": "posts", "type": "base", "createRule": "",
  "fields": [{"name": "title", "type": "text"}, {"name": "body", "type": "editor"},
             {"name": "views", "type": "number"}, {"name": "published", "type": "bool"}]}' >/dev/null
WAL="$out/data/data.db-wal"

mib() { awk -v b="$1" 'BEGIN{printf "%.1f", b/1048576}'; }
wal_bytes() { stat -c %s "$WAL" 2>/dev/null || echo 0; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$BPID/status"; }
# utime + stime of basalt in clock ticks (fields 14 and 15 of /proc/PID/stat, counted after the
# parenthesised command name, which may hold spaces).
cpu_ticks() {
  local s
  s=$(<"/proc/$BPID/stat")
  s=${s##*) }
  # shellcheck disable=SC2086
  set -- $s
  echo $((${12} + ${13}))
}

# The sampler: "epoch_s wal_bytes rss_kb" every 0.5 s into $out/samples.
(
  while :; do
    echo "$EPOCHREALTIME $(wal_bytes) $(rss_kb)"
    sleep 0.5
  done
) >"$out/samples" 2>/dev/null &
SAMPLER=$!

echo "== sustained W3 (durable creates), fresh posts collection, wrk -t1 -c$CONNS, ${SECS}s in ${SLICE}s slices"
printf '%6s %12s %9s %8s %12s %12s %9s\n' "t(s)" "creates/s" "p99 ms" "non-2xx" "WAL end MiB" "WAL max MiB" "RSS MiB"
: >"$out/slices" # per slice: "seconds rps p99 non2xx wal_max_bytes rss_kb"
acked=0
sock_errors=0
done_secs=0
while [ "$done_secs" -lt "$SECS" ]; do
  len=$((SECS - done_secs < SLICE ? SECS - done_secs : SLICE))
  t0=$EPOCHREALTIME
  wrk -t1 -c"$CONNS" -d"${len}s" --latency -s bench/create.lua "$BURL/api/collections/posts/records" >"$out/wrk.txt" 2>&1
  t1=$EPOCHREALTIME
  read -r rps p99 errors < <(wrk_stats)
  reqs=$(awk '/requests in/ {print $1}' "$out/wrk.txt")
  acked=$((acked + ${reqs:-0} - ${errors:-0}))
  sockerr=$(awk '/Socket errors/ {gsub(",", ""); print $4 + $6 + $8 + $10}' "$out/wrk.txt")
  sock_errors=$((sock_errors + ${sockerr:-0}))
  wal_end=$(wal_bytes)
  wal_max=$(awk -v a="$t0" -v b="$t1" -v m="$wal_end" '$1 >= a && $1 <= b && $2 > m {m = $2} END {print m}' "$out/samples")
  rss=$(rss_kb)
  done_secs=$((done_secs + len))
  echo "$len $rps $p99 ${errors:-0} $wal_max $rss" >>"$out/slices"
  printf '%6s %12s %9s %8s %12s %12s %9s\n' "$done_secs" "$rps" "$p99" "${errors:-0}" "$(mib "$wal_end")" "$(mib "$wal_max")" "$((rss / 1024))"
done

# Idle: 1 s after the load, then 4 s of CPU time.
sleep 1
clk=$(getconf CLK_TCK)
c0=$(cpu_ticks)
sleep 4
c1=$(cpu_ticks)
idle_cpu=$(awk -v d=$((c1 - c0)) -v hz="$clk" 'BEGIN{printf "%.1f", d / hz / 4 * 100}')
wal_idle=$(wal_bytes)
rss_idle=$(rss_kb)
kill "$SAMPLER" 2>/dev/null || true

records=$(curl -sf "$BURL/api/collections/posts/records?perPage=1&fields=id" -H "Authorization: $SU_TOKEN" |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).totalItems))')
db_bytes=$(stat -c %s "$out/data/data.db")

# Rates over windows: the first and last minute (6 slices), or a third of the slices for runs under
# 3 minutes; each the creates in its slices over their seconds.
read -r first last first_slice last_slice window wal_max_all rss_max nonok < <(awk -v secs="$SECS" -v slice="$SLICE" '
  { n++; len[n] = $1; rps[n] = $2; if ($4 > 0) bad += $4; if ($5 > wal) wal = $5; if ($6 > rss) rss = $6 }
  END {
    w = (secs >= 180) ? int(60 / slice) : int(n / 3); if (w < 1) w = 1
    for (i = 1; i <= w; i++) { fc += rps[i] * len[i]; fs += len[i] }
    for (i = n - w + 1; i <= n; i++) { lc += rps[i] * len[i]; ls += len[i] }
    printf "%.0f %.0f %.0f %.0f %d %d %d %d\n", fc / fs, lc / ls, rps[1], rps[n], fs, wal, rss, bad
  }' "$out/slices")
# The sampler also saw the idle seconds; their WAL counts too.
wal_max_all=$(awk -v m="$wal_max_all" '$2 > m {m = $2} END {print m}' "$out/samples")
window_name=$([ "$SECS" -ge 180 ] && echo "minute" || echo "third (${window}s)")
rate_ratio=$(ratio "$last" "$first")
slice_ratio=$(ratio "$last_slice" "$first_slice")

echo
echo "rate: first $window_name $first/s, last $last/s (${rate_ratio}x; target >= 0.9); first slice $first_slice/s, last $last_slice/s (${slice_ratio}x)"
echo "WAL: max $(mib "$wal_max_all") MiB (target <= 64), $(mib "$wal_idle") MiB after idling; data.db $(mib "$db_bytes") MiB"
echo "records: $records stored, $acked creates acknowledged (2xx), $nonok non-2xx, $sock_errors socket errors/timeouts; $(awk -v b="$db_bytes" -v r="$records" 'BEGIN{printf "%.0f", r ? b / r : 0}') B of data.db per record"
echo "RSS: max $((rss_max / 1024)) MiB under load, $((rss_idle / 1024)) MiB idle; idle CPU (1-5 s after the load) ${idle_cpu}% of a core (target ~0)"

failures=()
if awk -v a="$wal_max_all" -v m="$MAX_WAL_MIB" 'BEGIN{exit !(a > m * 1048576)}'; then failures+=("WAL $(mib "$wal_max_all") MiB > $MAX_WAL_MIB MiB"); fi
if awk -v a="$idle_cpu" -v m="$MAX_IDLE_CPU" 'BEGIN{exit !(a > m)}'; then failures+=("idle CPU ${idle_cpu}% > ${MAX_IDLE_CPU}%"); fi
if awk -v a="$slice_ratio" -v m="$MIN_LAST_RATIO" 'BEGIN{exit !(a < m)}'; then failures+=("last slice ${slice_ratio}x the first < ${MIN_LAST_RATIO}x"); fi
if [ "$nonok" -gt 0 ]; then failures+=("$nonok non-2xx answers"); fi
if [ "${records:-0}" -lt "$acked" ]; then failures+=("$records records stored < $acked acknowledged"); fi

summary="sustained W3 ${SECS}s c$CONNS: $first -> $last creates/s (${rate_ratio}x), max WAL $(mib "$wal_max_all") MiB, $records records, idle CPU ${idle_cpu}%, RSS max $((rss_max / 1024)) MiB"
if [ "${#failures[@]}" -eq 0 ]; then
  echo "$summary: ok"
else
  reasons=$(printf '%s; ' "${failures[@]}")
  echo "$summary: $([ "${CHECK:-0}" = 1 ] && echo FAILED || echo "over limits") (${reasons%; })"
  [ "${CHECK:-0}" != 1 ] || exit 1
fi
