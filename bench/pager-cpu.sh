#!/usr/bin/env bash
# bench/pager-cpu.sh: the server CPU one page of bench/pager.py costs, the
# pager alone (docs/PERFORMANCE.md 10.3). Steadier than latencies on a
# shared machine: it does not depend on how much CPU was left over.
#
# usage: bench/pager-cpu.sh DATA_DIR [SECONDS]
#   DATA_DIR: the pager set of bench/run.sh (build/bench-data/pager-50000),
#   with its pager-cred.json. Environment: FLOWLOGD (build/flowlogd).
# Starts `flowlogd serve` on it, pages for a second (warm-up), then for
# SECONDS (10), and prints the pages, the server's utime + stime over them
# and their quotient, with the 1-minute load average.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$1
secs=${2:-10}
bin=${FLOWLOGD:-$PWD/build/flowlogd}
out=$(mktemp)
"$bin" serve --listen 127.0.0.1:0 --data "$dir" --quiet --rate-limit 1000000 >"$out" 2>/dev/null &
pid=$!
trap 'kill "$pid" 2>/dev/null || true; rm -f "$out"' EXIT
port=""
for _ in $(seq 1 200); do
    port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$out")
    [ -n "$port" ] && break
    sleep 0.05
done
[ -n "$port" ] || { echo "pager-cpu.sh: flowlogd did not start" >&2; exit 1; }
cpu() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
python3 bench/pager.py --url "http://127.0.0.1:$port" --cred "$dir/pager-cred.json" --seconds 1 >/dev/null || true
c0=$(cpu)
r=$(python3 bench/pager.py --url "http://127.0.0.1:$port" --cred "$dir/pager-cred.json" --seconds "$secs")
c1=$(cpu)
python3 - "$r" "$c0" "$c1" "$(getconf CLK_TCK)" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
cpu = (int(sys.argv[3]) - int(sys.argv[2])) / int(sys.argv[4])
pages = max(r["pages"], 1)
print("pages %d  errors %d  server CPU %.2f s  per page %.2f ms  load %s"
      % (r["pages"], r["errors"], cpu, 1000 * cpu / pages, open("/proc/loadavg").read().split()[0]))
PY
