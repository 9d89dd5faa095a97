#!/usr/bin/env bash
# Thumbnails: the first generation of a 100x100 thumb from a 4000x3000 JPEG (time, and the server's
# peak RSS during it), then GET of that thumb once made, beside nginx serving the same thumb file,
# with wrk (-t1 -c64, keep-alive). The JPEG is drawn with the `vips` CLI (Debian's libvips-tools).
#   bench/thumbs.sh [seconds=10]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
BIN=${BASALT_BIN:-build/basalt}
source bench/lib.sh

start_basalt
auth=(-H "Authorization: $SU_TOKEN")
cid=$(curl -sf "${auth[@]}" -H 'Content-Type: application/json' -X POST "$BURL/api/collections" \
  -d '{"name":"pics","viewRule":"","fields":[{"name":"image","type":"file","maxSize":104857600}]}' |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).id))')

# A noisy 4000x3000 photo-sized JPEG (noise is the hard case for the decoder).
for b in r g b; do vips gaussnoise "$out/$b.v" 4000 3000 --sigma 40 --mean 128; done
vips bandjoin "$out/r.v $out/g.v $out/b.v" "$out/rgb.v"
vips copy "$out/rgb.v" "$out/photo.jpg[Q=85]"
src_bytes=$(stat -c %s "$out/photo.jpg")
read -r rid name < <(curl -sf "${auth[@]}" -F "image=@$out/photo.jpg;type=image/jpeg" "$BURL/api/collections/pics/records" |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s);console.log(r.id,r.image)})')
url="$BURL/api/files/pics/$rid/$name?thumb=100x100"

sleep 0.3
rss_before=$(awk '/VmRSS/ {print $2}' /proc/$BPID/status)
echo 5 > /proc/$BPID/clear_refs  # resets the peak (VmHWM) to the current RSS
first=$(curl -sf -o "$out/thumb.jpg" -w '%{time_total}' "$url")
peak=$(awk '/VmHWM/ {print $2}' /proc/$BPID/status)
second=$(curl -sf -o /dev/null -w '%{time_total}' "$url")
echo "source: 4000x3000 JPEG, $src_bytes bytes; thumb: $(stat -c %s "$out/thumb.jpg") bytes"
echo "first generation: ${first}s (served again: ${second}s)"
echo "server RSS: ${rss_before} KB before, peak ${peak} KB during the generation (+$((peak - rss_before)) KB)"

mkdir -p "$out/www"
cp "$out/data/storage/$cid/$rid/thumbs_$name/100x100_$name" "$out/www/thumb.jpg"
start_nginx thumb.jpg
run "basalt GET thumb 100x100" "$url"; B=$(cat "$out/last")
run "nginx GET thumb file" "http://127.0.0.1:$NPORT/thumb.jpg"; N=$(cat "$out/last")
# The same bytes uploaded as a file of their own and downloaded without ?thumb: the plain download
# path, for what the thumb lookup itself costs.
read -r rid2 name2 < <(curl -sf "${auth[@]}" -F "image=@$out/www/thumb.jpg;type=image/jpeg" "$BURL/api/collections/pics/records" |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const r=JSON.parse(s);console.log(r.id,r.image)})')
run "basalt GET same bytes, no thumb" "$BURL/api/files/pics/$rid2/$name2"; O=$(cat "$out/last")
echo "basalt thumb / nginx: $(ratio "$B" "$N")x; plain download / nginx: $(ratio "$O" "$N")x"
