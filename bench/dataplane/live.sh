#!/usr/bin/env bash
# bench/dataplane/live.sh: the live part of `make bench-dataplane` (root).
#
# In network namespaces of its own (vm1 -- host -- vm2, veth pairs, IPv6 off,
# static neighbours, addresses it assigns, no route out), an injector in vm1
# sends minimal UDP frames over FLOWS flows as fast as it can for SECONDS,
# forwarded by the host to vm2. Measured, side by side in one run, ROUNDS
# times each:
#   base     no capture: the rate the injector + veth + forwarding reach
#   capture  `flowlogd capture` watching both host-side veths (eni-1, eni-2):
#            the rate, the tc programs' in-kernel cost per run (bpf_stats:
#            run_time_ns / run_cnt; each packet runs twice, at e1 ingress and
#            e2 egress), loss (the flows' packets against the veths' own
#            counters, which must match exactly) and the userspace cost of a
#            window's drain + per-CPU merge + formatting per flow line.
# Everything it made is removed on exit, and kernel.bpf_stats_enabled is put back.
#
# usage: bench/dataplane/live.sh [--seconds S] [--flows N] [--rounds R]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
FLOWLOGD=${FLOWLOGD:-$ROOT/build/flowlogd}
SECS=5 FLOWS=20000 ROUNDS=3
while [ $# -gt 0 ]; do
  case "$1" in
    --seconds) SECS=$2; shift 2 ;;
    --flows) FLOWS=$2; shift 2 ;;
    --rounds) ROUNDS=$2; shift 2 ;;
    *) echo "usage: $0 [--seconds S] [--flows N] [--rounds R]" >&2; exit 2 ;;
  esac
done
[ "$(id -u)" = 0 ] || { echo "live data-plane benchmark: needs root (skipped)"; exit 0; }
mkdir -p build/bench
gcc -O2 -Wall -Wextra -Werror -o build/bench/inject bench/dataplane/inject.c

P=fb$$
H=${P}h V1=${P}v1 V2=${P}v2 E1=${P}e1 E2=${P}e2
OUT=$(mktemp -d)
OLD_STATS=$(cat /proc/sys/kernel/bpf_stats_enabled)
cleanup() {
  for n in $H $V1 $V2; do ip netns del "$n" 2>/dev/null || true; done
  sysctl -qw kernel.bpf_stats_enabled="$OLD_STATS"
  rm -rf "$OUT"
}
trap cleanup EXIT

for n in $H $V1 $V2; do
  ip netns add "$n"
  ip netns exec "$n" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
  ip -n "$n" link set lo up
done
ip link add "$E1" netns "$H" address 02:00:00:00:01:01 type veth peer name eth0 netns "$V1" address 02:00:00:00:01:02
ip link add "$E2" netns "$H" address 02:00:00:00:02:01 type veth peer name eth0 netns "$V2" address 02:00:00:00:02:02
ip -n "$H" addr add 10.94.1.1/24 dev "$E1"; ip -n "$H" addr add 10.94.2.1/24 dev "$E2"
ip -n "$V1" addr add 10.94.1.2/24 dev eth0; ip -n "$V2" addr add 10.94.2.2/24 dev eth0
for l in "$H $E1" "$H $E2" "$V1 eth0" "$V2 eth0"; do set -- $l; ip -n "$1" link set "$2" up; done
ip -n "$H" neigh replace 10.94.2.2 lladdr 02:00:00:00:02:02 dev "$E2" nud permanent
ip -n "$H" neigh replace 10.94.1.2 lladdr 02:00:00:00:01:02 dev "$E1" nud permanent
ip netns exec "$H" sysctl -qw net.ipv4.ip_forward=1
# vm2 drops what it gets without answering (no ICMP to disturb the counts)
ip netns exec "$V2" sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv4.icmp_msgs_per_sec=0 2>/dev/null || true
ip netns exec "$V2" sysctl -qw net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.eth0.rp_filter=0

stat() { # ns dev dir field
  ip -n "$1" -s -j link show dev "$2" | python3 -c "import json,sys; print(json.load(sys.stdin)[0]['stats64']['$3']['$4'])"
}
inject() {
  ip netns exec "$V1" "$ROOT/build/bench/inject" eth0 02:00:00:00:01:02 02:00:00:00:01:01 \
    10.94.1.2 10.94.2.2 "$FLOWS" "$SECS"
}

sysctl -qw kernel.bpf_stats_enabled=1
printf '%-8s %5s %10s %10s %10s %10s %8s %8s %8s\n' run round sent pps ns/run e1-rx eni1-out e2-tx eni2-in
for r in $(seq 1 "$ROUNDS"); do
  res=$(inject); pps=${res##*pps=}; sent=$(echo "$res" | sed 's/.*sent=\([0-9]*\).*/\1/')
  printf '%-8s %5s %10s %10s\n' base "$r" "$sent" "$pps"

  rx0=$(stat "$H" "$E1" rx packets); tx0=$(stat "$H" "$E2" tx packets); td0=$(stat "$H" "$E2" tx dropped)
  "$FLOWLOGD" capture --netns "$H" --window 2 --table 262144 --stats \
    --watch "$E1=eni-1,10.94.1.2" --watch "$E2=eni-2,10.94.2.2" >"$OUT/cap" 2>"$OUT/err" &
  cpid=$!
  until grep -q READY "$OUT/cap" 2>/dev/null; do
    kill -0 $cpid 2>/dev/null || { cat "$OUT/err"; exit 1; }; sleep 0.1; done
  res=$(inject); pps=${res##*pps=}; sent=$(echo "$res" | sed 's/.*sent=\([0-9]*\).*/\1/')
  sleep 2.6; kill -TERM $cpid; crc=0; wait $cpid || crc=$?
  [ "$crc" = 0 ] || { echo "  flowlogd capture exited $crc:"; grep -v "^STATS\|^BPFSTATS" "$OUT/err" | head -5; }
  rx1=$(stat "$H" "$E1" rx packets); tx1=$(stat "$H" "$E2" tx packets); td1=$(stat "$H" "$E2" tx dropped)
  read -r runs ns < <(sed -n 's/^BPFSTATS runs=\([0-9]*\) ns=\([0-9]*\)/\1 \2/p' "$OUT/err")
  # FLOW start end id dir action src dst sport dport proto packets bytes flags
  out=$(awk '$1=="FLOW" && $4=="eni-1" && $5=="out" && $11=="17" {s+=$12} END {print s+0}' "$OUT/cap")
  in=$(awk '$1=="FLOW" && $4=="eni-2" && $5=="in" && $11=="17" {s+=$12} END {print s+0}' "$OUT/cap")
  skip=$(grep -c '^SKIPDATA' "$OUT/cap" || true)
  nsrun=$(python3 -c "print('%.0f' % ($ns / max($runs, 1)))")
  printf '%-8s %5s %10s %10s %10s %10s %8s %8s %8s\n' capture "$r" "$sent" "$pps" "$nsrun" \
    $((rx1 - rx0)) "$out" $((tx1 - tx0 + td1 - td0)) "$in"
  [ "$skip" = 0 ] || echo "  SKIPDATA lines: $skip (table too small for the flows)"
  [ $((rx1 - rx0)) = "$out" ] && [ $((tx1 - tx0 + td1 - td0)) = "$in" ] ||
    { echo "  MISMATCH: the capture's counts differ from the devices' own (output kept in build/bench/live-mismatch-$r.*)";
      cp "$OUT/cap" "build/bench/live-mismatch-$r.out"; cp "$OUT/err" "build/bench/live-mismatch-$r.err"; }
  # userspace: the biggest window's drain + merge + printing, per flow line
  sed -n 's/^STATS window=[0-9]* entries=\([0-9]*\) flows=\([0-9]*\) us=\([0-9.]*\) drain_us=\([0-9.]*\)/\1 \2 \3 \4/p' "$OUT/err" |
    sort -k2 -n | tail -1 | awk '{ if ($2 > 0) printf "  userspace: %d per-CPU entries, %d flow lines in %.0f us (drain %.0f us): %.3f us per line, %.3f us of it draining\n", $1, $2, $3, $4, $3 / $2, $4 / $2 }'
done
