#!/usr/bin/env bash
# make bench-dataplane: the offline data-plane benchmark (issue 14 §7).
#
# One capture made by tools/flowgen (default 10,000,000 packets, 200,000
# concurrent conversations, 300 s, 96-byte snaplen, microsecond timestamps)
# with its exact 60-second records as truth; then, on the same file in the
# same run, one after the other on an otherwise idle core:
#   flowlogd replay --capture-window 60   (RUNS times; records compared with the truth)
#   nfpcapd  -r (nfdump), 60 s files, 60 s active/inactive timeouts
#   pmacctd  (pcap_savefile, print plugin, 1-minute history)
#   softflowd -r, NetFlow v9 to an nfcapd on 127.0.0.1, maxlife 60 s
# Each tool's CPU time (user + sys, /usr/bin/time, children included) gives
# packets per CPU-second ("on one core"); wall time is shown too (this VM is
# shared). Each tool's records are read back and their packets and bytes
# summed against the truth's.
#
# Environment: BENCH_DIR (default /tmp/flowlogd-bench-dataplane; the capture
# is kept there and reused), PACKETS, FLOWS, DURATION, RUNS (default 3),
# FLOWLOGD_BIN, FLOWGEN_BIN, TOOLS (default "flowlogd nfpcapd pmacctd softflowd").
set -euo pipefail
cd "$(dirname "$0")/.."
D=${BENCH_DIR:-/tmp/flowlogd-bench-dataplane}
PACKETS=${PACKETS:-10000000}
FLOWS=${FLOWS:-200000}
DURATION=${DURATION:-300}
RUNS=${RUNS:-3}
BIN=${FLOWLOGD_BIN:-$PWD/build/flowlogd}
GEN=${FLOWGEN_BIN:-$PWD/build/tools/flowgen}
mkdir -p "$D"
PCAP=$D/cap-$PACKETS-$FLOWS-$DURATION.pcap
TRUTH=$D/cap-$PACKETS-$FLOWS-$DURATION

if [ ! -s "$PCAP" ] || [ ! -s "$TRUTH.60.txt" ]; then
  echo "generating $PCAP ($PACKETS packets, $FLOWS concurrent conversations, $DURATION s)"
  "$GEN" --out "$PCAP" --truth "$TRUTH" --windows 60 --packets "$PACKETS" --flows "$FLOWS" \
    --duration "$DURATION" --snaplen 96 --usec
fi
# sums as %.0f: mawk's %d stops at 2^31-1
sums() { awk "$1"'{n++;p+=$'"$2"';b+=$'"$3"'} END{printf "%d %.0f %.0f\n",n,p,b}'; }
read -r T_REC T_PKT T_BYT < <(sums '$14=="OK"' 9 10 <"$TRUTH.60.txt")
echo "capture: $(stat -c %s "$PCAP") bytes; truth at 60 s: $T_REC records, $T_PKT packets, $T_BYT bytes"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"

TOOLS=${TOOLS:-flowlogd nfpcapd pmacctd softflowd}
want() { case " $TOOLS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }
results=()
# row NAME WALL CPU RSS_KB RECORDS PACKETS BYTES NOTE
row() {
  local pps_cpu pps_wall
  pps_cpu=$(awk -v p="$T_PKT" -v c="$3" 'BEGIN{printf "%.2f", (c > 0) ? p / c / 1e6 : 0}')
  pps_wall=$(awk -v p="$T_PKT" -v c="$2" 'BEGIN{printf "%.2f", (c > 0) ? p / c / 1e6 : 0}')
  results+=("$(printf '%-10s %7.2f %7.2f %8s %8s %9s %10s %7s  %s' "$1" "$2" "$3" "$pps_cpu" "$pps_wall" \
    "$(( $4 / 1024 ))" "$5" "$(awk -v a="$6" -v b="$T_PKT" 'BEGIN{printf "%.2f%%", 100*a/b}')" "$8")")
}
# timed OUTFILE CMD...: runs CMD under /usr/bin/time; sets WALL CPU RSS
timed() {
  local tf=$D/time.txt out=$1; shift
  /usr/bin/time -o "$tf" -f "%e %U %S %M" "$@" >"$out"
  read -r WALL U S RSS <"$tf"
  CPU=$(awk -v u="$U" -v s="$S" 'BEGIN{print u+s}')
}

# ---- flowlogd replay
want flowlogd && for i in $(seq 1 "$RUNS"); do
  timed "$D/flowlogd.txt" "$BIN" replay --pcap "$PCAP" --capture-window 60 --max-flows 1048576
  if cmp -s "$D/flowlogd.txt" "$TRUTH.60.txt"; then note="records identical to the truth"; else note="RECORDS DIFFER from the truth"; fi
  read -r n p b < <(sums '$14=="OK"' 9 10 <"$D/flowlogd.txt")
  row "flowlogd" "$WALL" "$CPU" "$RSS" "$n" "$p" "$b" "run $i: $note"
done

if want nfpcapd; then
  if command -v nfpcapd >/dev/null; then
    rm -rf "$D/nfp" && mkdir -p "$D/nfp"
    timed /dev/null nfpcapd -r "$PCAP" -w "$D/nfp" -t 60 -e 60,60 -B 1048576
    read -r n p b < <(nfdump -R "$D/nfp" -q -o "fmt:%pkt %byt" 2>/dev/null | sums '' 1 2)
    row "nfpcapd" "$WALL" "$CPU" "$RSS" "$n" "$p" "$b" "bytes $(awk -v a="$b" -v t="$T_BYT" 'BEGIN{printf "%.2f%%",100*a/t}')"
  else results+=("nfpcapd    not installed (WITH_BENCH_TOOLS=1 scripts/install-deps.sh)"); fi
fi

if want pmacctd; then
  if command -v pmacctd >/dev/null; then
    rm -rf "$D/pm" && mkdir -p "$D/pm"
    cat >"$D/pm.conf" <<EOF
daemonize: false
pcap_savefile: $PCAP
pcap_savefile_wait: false
aggregate: src_host, dst_host, src_port, dst_port, proto
plugins: print
print_output: csv
print_output_file: $D/pm/out-%s.csv
print_output_file_append: true
print_history: 1m
print_history_roundoff: m
print_refresh_time: 60
plugin_buffer_size: 1048576
plugin_pipe_size: 268435456
EOF
    timed /dev/null pmacctd -f "$D/pm.conf" 2>"$D/pm.log"
    read -r n p b < <(cat "$D"/pm/*.csv 2>/dev/null | tr , ' ' | sums '$1!="SRC_IP"' 6 7)
    row "pmacctd" "$WALL" "$CPU" "$RSS" "$n" "$p" "$b" "bytes $(awk -v a="$b" -v t="$T_BYT" 'BEGIN{printf "%.2f%%",100*a/t}')"
  else results+=("pmacctd    not installed"); fi
fi

if want softflowd; then
  if command -v softflowd >/dev/null && command -v nfcapd >/dev/null; then
    rm -rf "$D/sf" && mkdir -p "$D/sf"
    port=$(( 20000 + RANDOM % 20000 ))
    nfcapd -p "$port" -b 127.0.0.1 -w "$D/sf" -t 3600 -B 134217728 >"$D/nfcapd.log" 2>&1 &
    collector=$!
    sleep 1
    ctl=$D/softflowd.ctl
    /usr/bin/time -o "$D/time.txt" -f "%e %U %S %M" softflowd -d -r "$PCAP" -n "127.0.0.1:$port" -v 9 -6 \
      -m 1048576 -t maxlife=60 -c "$ctl" -p "$D/softflowd.pid" >"$D/softflowd.log" 2>&1 &
    sf=$!
    # softflowd 1.1.0 reads a file only after its first control command
    for _ in $(seq 1 50); do [ -S "$ctl" ] && break; sleep 0.1; done
    softflowctl -c "$ctl" statistics >/dev/null 2>&1 || true
    while :; do
      got=$(softflowctl -c "$ctl" statistics 2>/dev/null | awk '/Packets processed/{print $3}')
      [ "${got:-0}" -ge "$T_PKT" ] && break
      sleep 0.5
    done
    exported=$(softflowctl -c "$ctl" shutdown 2>/dev/null; true)
    wait "$sf" || true
    read -r WALL U S RSS <"$D/time.txt"
    CPU=$(awk -v u="$U" -v s="$S" 'BEGIN{print u+s}')
    sleep 2
    kill "$collector" 2>/dev/null || true
    wait "$collector" 2>/dev/null || true
    read -r n p b < <(nfdump -R "$D/sf" -q -o "fmt:%pkt %byt" 2>/dev/null | sums '' 1 2)
    row "softflowd" "$WALL" "$CPU" "$RSS" "$n" "$p" "$b" "wall includes 0.5 s polling; $(grep -m1 'Flows exported' "$D/softflowd.log" || true)"
  else results+=("softflowd  not installed"); fi
fi

echo
printf '%-10s %7s %7s %8s %8s %9s %10s %7s  %s\n' tool wall_s cpu_s Mpps/cpu Mpps/wall RSS_MB records packets note
for r in "${results[@]}"; do echo "$r"; done
echo "truth      $T_REC records, $T_PKT packets (100%)"
