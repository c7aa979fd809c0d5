#!/usr/bin/env bash
# bench/cls_ingest.sh: `make bench-cls`: UploadLog ingest into the embedded
# store (issue 15 §4: >= 500,000 records/s through batches of 10,000).
# Starts `flowlogd serve` on a fresh data directory, makes an account, a
# logset and a topic, then runs `flowlogd-bench cls-ingest` (THREADS
# senders, WINDOWS windows of 10,000 records each). Prints records/s.
# Environment: FLOWLOGD (build/flowlogd), BENCH (build/bench/flowlogd-bench),
#   THREADS (2), WINDOWS (30), ENGINE (tuned).
set -euo pipefail
cd "$(dirname "$0")/.."
FLOWLOGD=${FLOWLOGD:-build/flowlogd}
BENCH=${BENCH:-build/bench/flowlogd-bench}
dir=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null; rm -rf "$dir"' EXIT
acct=$("$FLOWLOGD" account create --data "$dir/data")
sid=$(printf '%s' "$acct" | python3 -c 'import json,sys; print(json.load(sys.stdin)["SecretId"])')
skey=$(printf '%s' "$acct" | python3 -c 'import json,sys; print(json.load(sys.stdin)["SecretKey"])')
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$FLOWLOGD" serve --data "$dir/data" --listen "127.0.0.1:$port" --rate-limit 100000 \
  --sqlite-engine "${ENGINE:-tuned}" >"$dir/serve.log" 2>&1 &
pid=$!
for _ in $(seq 100); do grep -q listening "$dir/serve.log" && break; sleep 0.1; done
call() { "$FLOWLOGD" call --endpoint "http://127.0.0.1:$port" --secret-id "$sid" --secret-key "$skey" \
  --region ap-guangzhou --version 2020-10-16 "$@"; }
ls=$(call CreateLogset '{"LogsetName":"bench"}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["LogsetId"])')
topic=$(call CreateTopic "{\"LogsetId\":\"$ls\",\"TopicName\":\"bench\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["TopicId"])')
"$BENCH" cls-ingest --url "http://127.0.0.1:$port" --secret-id "$sid" --secret-key "$skey" \
  --topic "$topic" --threads "${THREADS:-2}" --windows "${WINDOWS:-30}" --records 10000
ls -la "$dir/data" | awk '/flowlogd.db/ {print "store file: " $5 " bytes (" $9 ")"}'
