#!/usr/bin/env bash
# Backup and restore of a large database (issue 16: "restore time for a 1 GB database"): a posts
# collection filled to SIZE_MB of data.db (rows of ~1 KB of random hex written with sqlite3 while
# basalt is stopped), then through a running server: POST /api/backups (the online copy and the zip),
# `basalt backup verify` (unpack + integrity_check + open, beside the server), and
# POST /api/backups/{key}/restore until the server answers a record read on the restored data.
#   bench/restore.sh [SIZE_MB=1024]     (with BASALT_BACKUP_KEY set, the archives are encrypted)
set -euo pipefail
cd "$(dirname "$0")/.."
SIZE_MB=${1:-1024}
BIN=${BASALT_BIN:-build/basalt}
source bench/lib.sh
now_ms() { date +%s%3N; }

DATA="$out/data"
start_basalt
curl -sf -X POST "$BURL/api/collections" -H "Authorization: $SU_TOKEN" -H 'Content-Type: application/json' \
  -d '{"name":"posts","type":"base","viewRule":"","fields":[{"name":"title","type":"text"},{"name":"body","type":"text"},{"name":"views","type":"number"}]}' >/dev/null
kill "$BPID"; wait "$BPID" 2>/dev/null || true

ROWS=$((SIZE_MB * 1024 * 1024 / 1400))
t0=$(now_ms)
sqlite3 "$DATA/data.db" <<SQL >/dev/null
PRAGMA journal_mode=WAL;
PRAGMA synchronous=OFF;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < $ROWS)
INSERT INTO posts (id, title, body, views)
SELECT substr(lower(hex(randomblob(8))), 1, 15), 'post ' || i, hex(randomblob(500)), i FROM n;
PRAGMA wal_checkpoint(TRUNCATE);
SQL
DB_MB=$(( $(stat -c %s "$DATA/data.db") / 1048576 ))
echo "== data.db: $DB_MB MiB, $ROWS posts (filled in $(( $(now_ms) - t0 )) ms)"

start_basalt
ID=$(sqlite3 "$DATA/data.db" "SELECT id FROM posts LIMIT 1")
t0=$(now_ms)
curl -sf -X POST "$BURL/api/backups" -H "Authorization: $SU_TOKEN" -H 'Content-Type: application/json' -d '{"name":"big.zip"}'
ZIP_MB=$(( $(stat -c %s "$DATA/backups/big.zip") / 1048576 ))
ENC=plain; [ "$(head -c 10 "$DATA/backups/big.zip")" = BASALTENC1 ] && ENC="encrypted (BASALT_BACKUP_KEY)"
echo "backup (POST /api/backups):        $(( $(now_ms) - t0 )) ms, zip $ZIP_MB MiB, $ENC"

t0=$(now_ms)
"$BIN" backup verify big.zip --dir "$DATA" >/dev/null 2>&1
echo "verify (CLI, beside the server):   $(( $(now_ms) - t0 )) ms"

curl -sf -X POST "$BURL/api/collections/posts/records" -H "Authorization: $SU_TOKEN" -H 'Content-Type: application/json' -d '{"title":"after the backup"}' >/dev/null
t0=$(now_ms)
curl -sf -X POST "$BURL/api/backups/big.zip/restore" -H "Authorization: $SU_TOKEN" -o /dev/null
t1=$(now_ms)
# The old server stops after answering; then the restored one answers a record read.
for _ in $(seq 1 6000); do
  curl -sf "$BURL/api/collections/posts/records/$ID" >/dev/null 2>&1 && break
  sleep 0.05
done
t2=$(now_ms)
curl -sf "$BURL/api/collections/posts/records/$ID" >/dev/null
TOTAL=$(curl -sf "$BURL/api/collections/posts/records?perPage=1&filter=title%3D%22after%20the%20backup%22" -H "Authorization: $SU_TOKEN" |
  node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).totalItems))')
[ "$TOTAL" = 0 ] || { echo "the restore did not take: a post made after the backup is still there" >&2; exit 1; }
echo "restore (API): answered in         $(( t1 - t0 )) ms; serving the restored data after $(( t2 - t0 )) ms"
echo "basalt peak RSS: $(awk '/^VmHWM/ {print $2}' "/proc/$BPID/status") KB"
