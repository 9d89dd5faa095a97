#!/usr/bin/env bash
# The authenticated workloads of the auth issue, side by side in one run (wrk -t1 -c64): W1 (GET one
# record by random id) and W2 (list perPage=20, sort -created) on `open_notes` (public rules, no token)
# and on `notes` (rule `owner = @request.auth.id`, indexed, the user's token), same data; then
# auth-with-password throughput (argon2id on the blocking pool).
#   bench/auth.sh [seconds=10]
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${1:-10}
RECORDS=${RECORDS:-10000}
BIN=${BASALT_BIN:-build/basalt}
source bench/lib.sh

start_basalt
node bench/seed_auth.mjs "$BURL" "$SU_TOKEN" "$RECORDS" "$out"
USER_TOKEN=$(cat "$out/user_token.txt")

cat > "$out/login.lua" <<'LUA'
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"identity":"bench-user@example.com","password":"bench-password"}'
LUA

echo "== authenticated workloads, $RECORDS notes, wrk -t1 -c64 -d${SECS}s"
COLLECTION=open_notes IDS_FILE="$out/open_notes_ids.txt" run "W1 public (no token)" -s bench/get_random.lua "$BURL"; W1P=$(cat "$out/last")
COLLECTION=notes TOKEN="$USER_TOKEN" IDS_FILE="$out/notes_ids.txt" run "W1 owner rule (user token)" -s bench/get_random.lua "$BURL"; W1A=$(cat "$out/last")
run "W2 public (no token)" "$BURL/api/collections/open_notes/records?perPage=20&sort=-created"; W2P=$(cat "$out/last")
run "W2 owner rule (user token)" -H "Authorization: $USER_TOKEN" "$BURL/api/collections/notes/records?perPage=20&sort=-created"; W2A=$(cat "$out/last")
run "auth-with-password" -s "$out/login.lua" "$BURL/api/collections/users/auth-with-password"; LOGIN=$(cat "$out/last")
echo
echo "W1 authenticated / public: $(ratio "$W1A" "$W1P") (target >= 0.85)"
echo "W2 authenticated / public: $(ratio "$W2A" "$W2P") (target >= 0.85)"
echo "auth-with-password: $LOGIN sign-ins/s"
