#!/usr/bin/env bash
# Files (issue 14), side by side with nginx in one run (wrk -t1 -c64):
#   a 1 MB file downloaded through GET /api/files/... beside nginx serving the same bytes;
#   64 concurrent 10 MB uploads (multipart, streamed to disk): uploads/s, MB/s and basalt's peak RSS.
#   bench/files.sh [seconds=10]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
BIN=${BASALT_BIN:-build/basalt}
source bench/lib.sh

start_basalt
curl -sf -X POST "$BURL/api/collections" -H "Authorization: $SU_TOKEN" -H 'Content-Type: application/json' \
  -d '{"name":"docs","type":"base","createRule":"","viewRule":"","fields":[{"name":"doc","type":"file","maxSize":20000000}]}' >/dev/null
mkdir -p "$out/www"
head -c 1048576 /dev/urandom > "$out/www/file.bin"
NAME=$(curl -sf -X POST "$BURL/api/collections/docs/records" -F "doc=@$out/www/file.bin" |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s);console.log(r.collectionId+"/"+r.id+"/"+r.doc)})')
start_nginx file.bin
cmp <(curl -sf "$BURL/api/files/$NAME") "$out/www/file.bin"

echo "== files, wrk -t1 -c64 -d${SECS}s"
run "nginx 1 MB file${NGINX_SENDFILE:+ (sendfile)}" "http://127.0.0.1:$NPORT/file.bin"; NGINX=$(cat "$out/last")
run "basalt 1 MB download" "$BURL/api/files/$NAME"; DL=$(cat "$out/last")
echo "download / nginx: $(ratio "$DL" "$NGINX")x (target >= 0.8)"

# Uploads: the peak resident memory while 64 clients upload 10 MB each, as often as they can.
echo 5 > "/proc/$BPID/clear_refs"
IDLE_KB=$(awk '/^VmRSS/ {print $2}' "/proc/$BPID/status")
UPLOAD_MB=10 run "64 x 10 MB uploads" -s bench/upload.lua "$BURL/api/collections/docs/records"; UP=$(cat "$out/last")
PEAK_KB=$(awk '/^VmHWM/ {print $2}' "/proc/$BPID/status")
echo "uploads: $UP/s = $(awk -v u="$UP" 'BEGIN{printf "%.0f", u*10}') MB/s; RSS idle $((IDLE_KB / 1024)) MB, peak $((PEAK_KB / 1024)) MB"
