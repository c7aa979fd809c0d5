#!/usr/bin/env bash
# make bench-kafka: records/s into librdkafka's mock cluster (kmock, its own
# process), a bare librdkafka producer and flowlogd's Kafka sink side by side
# in one run. RECORDS (default 1000000) and PER_WINDOW (100000) may be given.
set -euo pipefail
cd "$(dirname "$0")/../.."
tmp=$(mktemp -d /tmp/flowlogd-kbench-XXXXXX)
mkfifo "$tmp/in"
build/tests/kmock --brokers 3 --topic bare:4 --topic sink:4 <"$tmp/in" >"$tmp/out" 2>"$tmp/err" &
kpid=$!
exec 3>"$tmp/in"
cleanup() { echo quit >&3 || true; exec 3>&-; wait "$kpid" 2>/dev/null || true; rm -rf "$tmp"; }
trap cleanup EXIT
for _ in $(seq 100); do grep -q '^BOOTSTRAP ' "$tmp/out" 2>/dev/null && break; sleep 0.1; done
boot=$(sed -n 's/^BOOTSTRAP //p' "$tmp/out")
[ -n "$boot" ] || { echo "kmock did not start: $(cat "$tmp/err")" >&2; exit 1; }
echo "== Kafka: records into librdkafka's mock cluster (3 brokers, 4 partitions; $(nproc) cores)"
build/bench/kafka_bench "$boot" "$tmp/spool" "${RECORDS:-1000000}" "${PER_WINDOW:-100000}"
