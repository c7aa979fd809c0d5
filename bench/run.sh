#!/usr/bin/env bash
# bench/run.sh: the flowlogd benchmark (`make bench`). See docs/PERFORMANCE.md.
#
# Sets up (once, cached under build/bench-data/) the data directories, starts
# nginx as the static baseline, runs every scenario ROUNDS times at
# concurrency CONNS for SECONDS each, round-robin (one round = every
# scenario once, so drifting machine load hits all of them alike), then the
# start-up time, the resident memory and the callgrind cost per request.
# Prints the table of medians; keeps everything in build/bench-results/<stamp>/.
#
# usage: bench/run.sh [--quick] [--only LIST] [--rounds N] [--seconds S]
#                     [--conns N] [--no-callgrind] [--no-extras]
#   --quick          1 round of 5 s, 300 callgrind requests: a smoke test
#   --only LIST      comma list of: nginx-static nginx-static-2t create describe-1m describe-1k
#                    mix reject-sig reject-param reject-limit pager create-https
#                    describe-https create-unbounded startup callgrind (default: all of
#                    them but create-unbounded)
#                    create-https, describe-https: create and describe-1m over HTTPS
#                    (--tls-listen, a certificate from `flowlogd cert`; the generator
#                    speaks TLS with OpenSSL, a handshake per connection, kept alive),
#                    with their ratio to the plain ones in the summary
#                    create-unbounded: create with FLOWLOGD_SQLITE_WAL_MB=0 (no WAL
#                    ceiling: the checkpoint thresholds of before it had one), to
#                    set beside create
#                    pager: DescribeFlowLogs at CONNS - 1 connections on the 1,000-flow-log
#                    set, alone (describe-alone) and while one more client pages
#                    DescribeNetworkInterfaces over a tenant's 50,000 ENIs
#                    (describe-pager; bench/pager.py), alternating in each round
#                    describe-1m-redis: describe-1m with the rate limit in Redis
#                    (--rate-limit-redis, a throwaway redis-server from
#                    scripts/redis-test-server.sh): the limiter's cost per request beside
#                    describe-1m, with Redis's own CPU; skipped, saying why, without
#                    redis-server
#                    pg-create, pg-describe-1m: create and describe-1m on the PostgreSQL
#                    store (a throwaway server, scripts/pg-test-cluster.sh; the sets
#                    moved in with `flowlogd migrate`) through 1 .. PG_NODES nodes
#                    behind HAProxy (labels pg-create-1n, ...); skipped, saying why,
#                    without postgresql-15 or haproxy
#                    pg-describe-1m-redis: pg-describe-1m with the rate limit in Redis and
#                    HAProxy round-robin (the deployment with a cluster-wide limit)
#   --no-callgrind   skip the callgrind measurements
#   --no-extras      skip start-up time, RSS report and callgrind
# Environment: FLOWLOGD (build/flowlogd), BENCH (build/bench/flowlogd-bench),
#   BENCH_DATA (build/bench-data), ENIS (80: ENIs per account of the create
#   set), ACCOUNTS (5000), FLOWLOGS (1000000), CG_REQUESTS (2000),
#   CG_ACCOUNTS (200: accounts the callgrind runs cycle through), SERVE_ARGS (extra
#   `flowlogd serve` options for every server started), NGINX_WORKERS
#   (auto), WARMUP (2), PG_NODES (3).
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
FLOWLOGD=${FLOWLOGD:-$ROOT/build/flowlogd}
BENCH=${BENCH:-$ROOT/build/bench/flowlogd-bench}
DATA=${BENCH_DATA:-$ROOT/build/bench-data}
ACCOUNTS=${ACCOUNTS:-5000}
ENIS=${ENIS:-80}
FLOWLOGS=${FLOWLOGS:-1000000}
CG_REQUESTS=${CG_REQUESTS:-2000}
CG_ACCOUNTS=${CG_ACCOUNTS:-200}
NGINX_WORKERS=${NGINX_WORKERS:-auto}
WARMUP=${WARMUP:-2}
ROUNDS=3
SECONDS_PER_RUN=20
CONNS=64
ONLY=""
CALLGRIND=1
EXTRAS=1
STARTUP=0
CG=0
PG_NODES=${PG_NODES:-3}
ALL_SCENARIOS="nginx-static nginx-static-2t create describe-1m describe-1m-redis describe-1k mix reject-sig reject-param reject-limit pager create-https describe-https pg-create pg-describe-1m pg-describe-1m-redis"
EXTRA_SCENARIOS="create-unbounded"

while [ $# -gt 0 ]; do
    case "$1" in
    --quick) ROUNDS=1; SECONDS_PER_RUN=5; WARMUP=1; CG_REQUESTS=300 ;;
    --only) ONLY=${2//,/ }; shift ;;
    --rounds) ROUNDS=$2; shift ;;
    --seconds) SECONDS_PER_RUN=$2; shift ;;
    --conns) CONNS=$2; shift ;;
    --no-callgrind) CALLGRIND=0 ;;
    --no-extras) EXTRAS=0; CALLGRIND=0 ;;
    -h|--help) sed -n '2,30p' "$0"; exit 0 ;;
    *) echo "run.sh: unknown option $1" >&2; exit 2 ;;
    esac
    shift
done
SCENARIOS=""
for s in ${ONLY:-$ALL_SCENARIOS startup callgrind}; do
    case " $ALL_SCENARIOS $EXTRA_SCENARIOS " in
    *" $s "*) SCENARIOS="$SCENARIOS $s" ;;
    *) case $s in
       startup) [ $EXTRAS = 1 ] && STARTUP=1 ;;
       callgrind) [ $CALLGRIND = 1 ] && CG=1 ;;
       *) echo "run.sh: unknown scenario $s" >&2; exit 2 ;;
       esac ;;
    esac
done
SCENARIOS=${SCENARIOS# }
wants() { case " $SCENARIOS " in *" $1 "*) return 0 ;; *) return 1 ;; esac; }

STAMP=$(date +%Y%m%d-%H%M%S)
OUT=$ROOT/build/bench-results/$STAMP
RUNS=$OUT/runs.jsonl
TMP=$OUT/tmp
mkdir -p "$OUT" "$TMP" "$DATA"
: >"$RUNS"
log() { echo "== $*" | tee -a "$OUT/log.txt" >&2; }

# the default binaries are brought up to date: a generator linked with an
# older store would build the data sets with an older schema
if [ "$FLOWLOGD" = "$ROOT/build/flowlogd" ] && [ "$BENCH" = "$ROOT/build/bench/flowlogd-bench" ]; then
    make -s -C "$ROOT" build/flowlogd build/bench/flowlogd-bench >&2
fi
[ -x "$FLOWLOGD" ] && [ -x "$BENCH" ] || { echo "run.sh: build first (make build/flowlogd build/bench/flowlogd-bench)" >&2; exit 2; }
# a snapshot of the binaries: others may rebuild build/ while this runs
mkdir -p "$OUT/bin"
cp "$FLOWLOGD" "$OUT/bin/flowlogd"
cp "$BENCH" "$OUT/bin/flowlogd-bench"
FLOWLOGD=$OUT/bin/flowlogd
BENCH=$OUT/bin/flowlogd-bench

# ---- processes we start (and only those are stopped) ----
SERVER_PID=""
NGINX_PID=""
PAGER_PID=""
PG_PIDS=""
HAPROXY_PID=""
PG_DIR=""
REDIS_DIR=""
cleanup() {
    stop_pg_nodes 2>/dev/null || true
    [ -n "$REDIS_DIR" ] && "$ROOT/scripts/redis-test-server.sh" stop "$REDIS_DIR" >/dev/null 2>&1 || true
    [ -n "$PG_DIR" ] && "$ROOT/scripts/pg-test-cluster.sh" stop "$PG_DIR" >/dev/null 2>&1 || true
    [ -n "$PAGER_PID" ] && kill "$PAGER_PID" 2>/dev/null && wait "$PAGER_PID" 2>/dev/null || true
    [ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
    [ -n "$NGINX_PID" ] && kill -QUIT "$NGINX_PID" 2>/dev/null && wait "$NGINX_PID" 2>/dev/null || true
}
trap cleanup EXIT INT TERM

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
loadavg() { cut -d' ' -f1 /proc/loadavg; }
# busy CPU seconds of the whole machine (all processes, all cores)
machine_busy() { awk -v hz="$(getconf CLK_TCK)" '/^cpu / {printf "%.2f", ($2 + $3 + $4 + $7 + $8 + $9) / hz}' /proc/stat; }
# utime+stime of a process and its threads, in seconds (PIDS: one, or a comma list: the sum)
cpu_of() { local p t=0; for p in ${1//,/ }; do t=$(awk -v a="$t" '{printf "%.2f", a + ($14+$15)/'"$(getconf CLK_TCK)"'}' "/proc/$p/stat" 2>/dev/null || echo "$t"); done; echo "$t"; }

# context switches of a process, all threads (PIDS as for cpu_of)
ctxsw_of() { local p; for p in ${1//,/ }; do cat /proc/"$p"/task/*/status 2>/dev/null || true; done | awk '/^(non)?voluntary_ctxt_switches:/ {n += $2} END {print n + 0}'; }

# start_server DATA_DIR [extra serve args...]: sets SERVER_PID and PORT
start_server() {
    local dir=$1; shift
    local out=$TMP/serve.out
    : >"$out"
    # shellcheck disable=SC2086 # SERVE_ARGS is a list of options
    "$FLOWLOGD" serve --listen 127.0.0.1:0 --data "$dir" --quiet ${SERVE_ARGS:-} "$@" >"$out" 2>>"$OUT/serve.err" &
    SERVER_PID=$!
    for _ in $(seq 1 200); do
        PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$out" || true)
        [ -n "$PORT" ] && return 0
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.05
    done
    echo "run.sh: flowlogd did not start on $dir (see $OUT/serve.err)" >&2
    exit 1
}
# start_server_tls DATA_DIR [extra serve args...]: start_server with a TLS
# listener too; sets TLS_PORT (the certificate is made once, in $TMP/tls)
start_server_tls() {
    local dir=$1; shift
    [ -f "$TMP/tls/tls/server.pem" ] || "$FLOWLOGD" cert --data "$TMP/tls" >/dev/null
    start_server "$dir" --tls-listen 127.0.0.1:0 --tls-cert "$TMP/tls/tls/server.pem" \
        --tls-key "$TMP/tls/tls/server-key.pem" "$@"
    TLS_PORT=""
    for _ in $(seq 1 100); do
        TLS_PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\) (https)$/\1/p' "$TMP/serve.out" || true)
        [ -n "$TLS_PORT" ] && return 0
        sleep 0.05
    done
    echo "run.sh: flowlogd did not start its TLS listener (see $OUT/serve.err)" >&2
    exit 1
}
stop_server() {
    [ -n "$SERVER_PID" ] || return 0
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=""
}

# ---- data sets (cached) ----
# The schema of a cached set must be the one this build creates (the store
# is still changing): compare it with the schema of a fresh data directory.
schema_of() { python3 -c 'import sqlite3,sys; c=sqlite3.connect("file:"+sys.argv[1]+"?mode=ro", uri=True); print("\n".join(str(r) for r in c.execute("select type,name,sql from sqlite_master order by type,name")))' "$1/flowlogd.db"; }
rm -rf "$TMP/schema"
"$BENCH" setup --data "$TMP/schema" --accounts 1 --enis-per-account 0 >/dev/null 2>&1
SCHEMA=$(schema_of "$TMP/schema")
setup_set() { # name accounts enis flowlogs
    local dir=$DATA/$1
    if [ -f "$dir/bench-accounts.json" ]; then
        if [ "$(schema_of "$dir" 2>/dev/null)" = "$SCHEMA" ]; then
            log "data set $1: cached ($dir)"
            return 0
        fi
        log "data set $1: made with another schema, rebuilding"
    fi
    rm -rf "$dir"
    log "data set $1: $2 accounts x $3 ENIs, $4 flow logs"
    "$BENCH" setup --data "$dir" --accounts "$2" --enis-per-account "$3" --flowlogs "$4" \
        | tee -a "$RUNS" >&2
}
need_create=0; need_1m=0; need_1k=0; need_pager=0
{ wants create || wants create-unbounded || wants create-https || wants pg-create; } && need_create=1
wants pager && need_pager=1
{ wants describe-1m || wants describe-1m-redis || wants describe-https || wants pg-describe-1m || wants pg-describe-1m-redis || wants mix || wants reject-sig || wants reject-param || wants reject-limit || [ $STARTUP = 1 ] || [ $CG = 1 ]; } && need_1m=1
wants describe-1k && need_1k=1
[ $need_create = 1 ] && setup_set "create-$ACCOUNTS-$ENIS" "$ACCOUNTS" "$ENIS" 0
[ $need_1m = 1 ] && setup_set "fl-$FLOWLOGS" "$ACCOUNTS" 40 "$FLOWLOGS"
[ $need_1k = 1 ] && setup_set "fl-1000" 50 0 1000
SET_CREATE=$DATA/create-$ACCOUNTS-$ENIS
SET_1M=$DATA/fl-$FLOWLOGS
SET_1K=$DATA/fl-1000
SET_PAGER=$DATA/pager-50000
PAGER_ENIS=50000
# the pager set: the 1,000-flow-log set plus one tenant with PAGER_ENIS ENIs
# (imported with `flowlogd inventory import`; its credential in pager-cred.json)
setup_pager() {
    local dir=$SET_PAGER
    if [ -f "$dir/pager-cred.json" ] && [ "$(schema_of "$dir" 2>/dev/null)" = "$SCHEMA" ]; then
        log "data set pager-50000: cached ($dir)"
        return 0
    fi
    rm -rf "$dir"
    log "data set pager-50000: 50 accounts x 20 flow logs, and a tenant with $PAGER_ENIS ENIs"
    "$BENCH" setup --data "$dir" --accounts 50 --enis-per-account 0 --flowlogs 1000 | tee -a "$RUNS" >&2
    "$FLOWLOGD" account create --data "$dir" >"$dir/pager-cred.json"
    python3 -c '
import json, sys
n = int(sys.argv[2])
json.dump({"Region": "ap-guangzhou", "Vpcs": [{"VpcId": "vpc-9a9e0000"}],
           "Subnets": [{"SubnetId": "subnet-9a9e0000", "VpcId": "vpc-9a9e0000"}],
           "NetworkInterfaces": [{"NetworkInterfaceId": "eni-%08x" % (0x10000000 + i),
                                  "VpcId": "vpc-9a9e0000", "SubnetId": "subnet-9a9e0000"}
                                 for i in range(n)]}, open(sys.argv[1], "w"))
' "$dir/pager-inv.json" "$PAGER_ENIS"
    "$FLOWLOGD" inventory import --data "$dir" \
        --uin "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["Uin"])' "$dir/pager-cred.json")" \
        "$dir/pager-inv.json" >&2
    rm -f "$dir/pager-inv.json"
}
[ $need_pager = 1 ] && setup_pager

# ---- PostgreSQL: a throwaway server, the sets moved in with flowlogd migrate ----
PG_URL=""
pg_sql() { psql "$PG_URL" -qAt -v ON_ERROR_STOP=1 "$@"; }
# the PostgreSQL server's own CPU (the postmaster and its backends), in seconds
pg_cpu() { local pm; pm=$(head -1 "$PG_DIR/data/postmaster.pid" 2>/dev/null) || { echo 0; return; }; cpu_of "$(echo "$pm" $(pgrep -P "$pm") | tr ' ' ',')"; }
setup_pg() {
    if ! command -v haproxy >/dev/null 2>&1 && [ ! -x /usr/sbin/haproxy ]; then
        log "PostgreSQL scenarios skipped: haproxy is not installed"; return 0
    fi
    PG_DIR=$OUT/pg
    if ! PG_URL=$("$ROOT/scripts/pg-test-cluster.sh" start "$PG_DIR" 2>>"$OUT/log.txt"); then
        log "PostgreSQL scenarios skipped: no PostgreSQL 15 server could be started"; PG_URL=""; PG_DIR=""; return 0
    fi
    log "PostgreSQL $(pg_sql -c 'SHOW server_version'): $PG_URL (data in $PG_DIR)"
    if wants pg-create; then
        log "PostgreSQL: migrating the create set ($(du -sh "$SET_CREATE" | cut -f1))"
        "$FLOWLOGD" migrate --from "$SET_CREATE" --to "$PG_URL?schema=bench_create" >>"$OUT/log.txt"
    fi
    if wants pg-describe-1m || wants pg-describe-1m-redis; then
        local t0=$SECONDS
        log "PostgreSQL: migrating the 1,000,000-flow-log set ($(du -sh "$SET_1M" | cut -f1))"
        "$FLOWLOGD" migrate --from "$SET_1M" --to "$PG_URL?schema=bench_1m" >>"$OUT/log.txt"
        log "PostgreSQL: migrated in $((SECONDS - t0)) s"
    fi
    pg_sql -c "VACUUM ANALYZE" >/dev/null
}
# start_pg_nodes N SCHEMA [redis]: N nodes on the store, HAProxy in front
# (the deployment's rule: hash on the SecretId; with `redis`, the rate limit
# in Redis and round-robin); sets PG_PIDS (comma list) and PORT
start_pg_nodes() {
    local n=$1 schema=$2 limiter=${3:-} i out ports="" hcfg=$TMP/haproxy.cfg p rl=""
    PG_PIDS=""
    [ "$limiter" = redis ] && rl="--rate-limit-redis $REDIS_URL"
    for i in $(seq 1 "$n"); do
        out=$TMP/pg-serve-$i.out
        : >"$out"
        # shellcheck disable=SC2086 # SERVE_ARGS and rl are lists of options
        "$FLOWLOGD" serve --listen 127.0.0.1:0 --store "$PG_URL?schema=$schema" --quiet ${SERVE_ARGS:-} $rl >"$out" 2>>"$OUT/serve.err" &
        PG_PIDS=${PG_PIDS:+$PG_PIDS,}$!
        p=""
        for _ in $(seq 1 200); do
            p=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$out" || true)
            [ -n "$p" ] && break
            sleep 0.05
        done
        [ -n "$p" ] || { echo "run.sh: a PostgreSQL node did not start (see $OUT/serve.err)" >&2; exit 1; }
        ports="$ports $p"
    done
    PORT=$(free_port)
    {
        printf 'global\n  maxconn 8192\ndefaults\n  mode http\n  timeout connect 2s\n  timeout client 60s\n  timeout server 60s\n'
        printf 'frontend api\n  bind 127.0.0.1:%s\n  default_backend nodes\nbackend nodes\n' "$PORT"
        if [ "$limiter" = redis ]; then
            printf '  balance roundrobin\n'
        else
            printf '  balance hash req.fhdr(authorization),field(2,=),field(1,/)\n  hash-type consistent\n'
        fi
        i=0; for p in $ports; do i=$((i + 1)); printf '  server n%d 127.0.0.1:%s\n' "$i" "$p"; done
    } >"$hcfg"
    "$(command -v haproxy || echo /usr/sbin/haproxy)" -db -f "$hcfg" >>"$OUT/haproxy.log" 2>&1 &
    HAPROXY_PID=$!
    for _ in $(seq 1 100); do
        (echo >/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null && return 0
        sleep 0.05
    done
    echo "run.sh: haproxy did not start (see $OUT/haproxy.log)" >&2; exit 1
}
stop_pg_nodes() {
    local p
    [ -n "$HAPROXY_PID" ] && { kill "$HAPROXY_PID" 2>/dev/null; wait "$HAPROXY_PID" 2>/dev/null || true; }
    HAPROXY_PID=""
    for p in ${PG_PIDS//,/ }; do kill "$p" 2>/dev/null || true; done
    for p in ${PG_PIDS//,/ }; do wait "$p" 2>/dev/null || true; done
    PG_PIDS=""
}
# run_pg LABEL SCENARIO SET: one run, with PostgreSQL's CPU beside the nodes'
run_pg() {
    local label=$1 scen=$2 set=$3 g0 g1 r0
    g0=$(pg_cpu)
    r0=$(redis_cpu)
    run_one "$label" "$scen" "http://127.0.0.1:$PORT" "$set" "$PG_PIDS"
    g1=$(pg_cpu)
    redis_cpu_record "$label" "$r0"
    echo "{\"bench\":\"pg-cpu\",\"after\":\"$label\",\"round\":$ROUND,\"pg_cpu\":$(awk -v a="$g0" -v b="$g1" -v t="$SECONDS_PER_RUN" -v w="$WARMUP" 'BEGIN {printf "%.3f", (b - a) / (t + w)}')}" >>"$RUNS"
    log "$label: PostgreSQL used $(awk -v a="$g0" -v b="$g1" -v t="$SECONDS_PER_RUN" -v w="$WARMUP" 'BEGIN {printf "%.2f", (b - a) / (t + w)}') cores"
}
{ wants pg-create || wants pg-describe-1m || wants pg-describe-1m-redis; } && setup_pg

# ---- Redis: the cluster-wide rate limiter's store (scripts/redis-test-server.sh) ----
REDIS_URL=""
setup_redis() {
    if ! command -v redis-server >/dev/null 2>&1; then
        log "Redis scenarios skipped: redis-server is not installed"; return 0
    fi
    REDIS_DIR=$OUT/redis
    if ! REDIS_URL=$("$ROOT/scripts/redis-test-server.sh" start "$REDIS_DIR" 2>>"$OUT/log.txt"); then
        log "Redis scenarios skipped: redis-server did not start"; REDIS_URL=""; REDIS_DIR=""; return 0
    fi
    log "Redis $(redis-server --version | sed 's/.* v=\([^ ]*\).*/\1/'): $REDIS_URL"
}
# Redis's own CPU in seconds (0 without it)
redis_cpu() { if [ -n "$REDIS_DIR" ] && [ -f "$REDIS_DIR/redis.pid" ]; then cpu_of "$(cat "$REDIS_DIR/redis.pid")"; else echo 0; fi; }
# redis_cpu_record LABEL CPU_BEFORE: Redis's CPU during the run just made, in cores
redis_cpu_record() {
    [ -n "$REDIS_DIR" ] || return 0
    echo "{\"bench\":\"redis-cpu\",\"after\":\"$1\",\"round\":$ROUND,\"redis_cpu\":$(awk -v a="$2" -v b="$(redis_cpu)" -v t="$SECONDS_PER_RUN" -v w="$WARMUP" 'BEGIN {printf "%.3f", (b - a) / (t + w)}')}" >>"$RUNS"
}
{ wants describe-1m-redis || wants pg-describe-1m-redis; } && setup_redis

# fresh copy of a set for a run that writes (create, mix)
fresh_copy() { # set -> prints dir
    local dst=$DATA/run-copy
    rm -rf "$dst"
    cp -a --reflink=auto "$1" "$dst"
    echo "$dst"
}

# ---- nginx ----
start_nginx() {
    if ! command -v nginx >/dev/null 2>&1 && [ ! -x /usr/sbin/nginx ]; then
        log "installing nginx (Debian package nginx-light)"
        if [ "$(id -u)" = 0 ]; then
            DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx-light >"$OUT/apt.log" 2>&1 ||
                { apt-get update >>"$OUT/apt.log" 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx-light >>"$OUT/apt.log" 2>&1; }
        else
            sudo DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nginx-light >"$OUT/apt.log" 2>&1
        fi
    fi
    local NGINX; NGINX=$(command -v nginx || echo /usr/sbin/nginx)
    local dir=$ROOT/build/bench-nginx
    rm -rf "$dir"; mkdir -p "$dir/www" "$dir/tmp" "$dir/logs"
    # 600 bytes of JSON, shaped like an API answer
    python3 - "$dir/www/static.json" <<'EOF'
import json, sys
body = {"Response": {"FlowLog": [{"FlowLogId": "fl-abcd1234", "FlowLogName": "static",
        "ResourceType": "NETWORKINTERFACE", "ResourceId": "eni-abcd1234", "VpcId": "vpc-abcd1234",
        "TrafficType": "ACCEPT", "CloudLogId": "a1b2c3d4-0000-4000-8000-000000000000",
        "CloudLogState": "SUCCESS", "Enable": True, "CreatedTime": "2024-01-01 00:00:00"}],
        "TotalNum": 1, "RequestId": "00000000-0000-4000-8000-000000000000"}}
s = json.dumps(body, separators=(",", ":"))
s = s[:-2] + "," + '"Pad":"' + "x" * (600 - len(s) - 9) + '"}}'
assert len(s) == 600, len(s)
open(sys.argv[1], "w").write(s)
EOF
    chmod -R a+rX "$dir"
    NGINX_PORT=$(free_port)
    cat >"$dir/nginx.conf" <<EOF
worker_processes $NGINX_WORKERS;
daemon off;
master_process on;
pid $dir/nginx.pid;
error_log $dir/logs/error.log warn;
$( [ "$(id -u)" = 0 ] && echo "user root;" )
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nodelay on;
    keepalive_timeout 75;
    keepalive_requests 100000000;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    server {
        listen 127.0.0.1:$NGINX_PORT;
        root $dir/www;
        default_type application/json;
        location = / { try_files /static.json =404; }
    }
}
EOF
    "$NGINX" -p "$dir" -c "$dir/nginx.conf" &
    NGINX_PID=$!
    for _ in $(seq 1 100); do
        curl -sf "http://127.0.0.1:$NGINX_PORT/" -o /dev/null 2>/dev/null && break
        sleep 0.05
    done
    log "nginx $("$NGINX" -v 2>&1 | sed 's/.*\///') on 127.0.0.1:$NGINX_PORT, worker_processes $NGINX_WORKERS ($(pgrep -P "$NGINX_PID" | wc -l) workers), $(curl -s "http://127.0.0.1:$NGINX_PORT/" | wc -c)-byte body"
}
nginx_cpu() { local t=0 p; for p in $(pgrep -P "$NGINX_PID"); do t=$(awk -v a="$t" -v b="$(cpu_of "$p")" 'BEGIN {printf "%.2f", a + b}'); done; echo "$t"; }

# ---- one measured run ----
# run_one LABEL SCENARIO URL DATA_DIR PID_FOR_CPU [extra bench args...]
run_one() {
    local label=$1 scen=$2 url=$3 dir=$4 pid=$5; shift 5
    local la c0 c1 line
    la=$(loadavg)
    local x0=0 x1=0 m0 m1
    m0=$(machine_busy)
    if [ "${label#nginx}" != "$label" ]; then c0=$(nginx_cpu); else c0=$(cpu_of "$pid"); x0=$(ctxsw_of "$pid"); fi
    line=$("$BENCH" run --scenario "$scen" --url "$url" ${dir:+--data "$dir"} --label "$label" \
        --connections "$CONNS" --seconds "$SECONDS_PER_RUN" --warmup "$WARMUP" "$@" \
        | tee -a "$OUT/log.txt" | grep '^{"bench"' || true)
    if [ "${label#nginx}" != "$label" ]; then c1=$(nginx_cpu); else c1=$(cpu_of "$pid"); x1=$(ctxsw_of "$pid"); fi
    m1=$(machine_busy)
    [ -n "$line" ] || { echo "run.sh: $label produced no result" >&2; return 0; }
    # server CPU over the whole run (warm-up included), in cores
    local srv; srv=$(awk -v a="$c0" -v b="$c1" -v t="$SECONDS_PER_RUN" -v w="$WARMUP" 'BEGIN {printf "%.3f", (b - a) / (t + w)}')
    # context switches of the server per answer (warm-up included in both counts)
    local cs; cs=$(echo "$line" | awk -v a="$x0" -v b="$x1" -v t="$SECONDS_PER_RUN" -v w="$WARMUP" '{ match($0, /"rps":[0-9.]+/); r = substr($0, RSTART + 6, RLENGTH - 6); printf "%.2f", (r > 0) ? (b - a) / (r * (t + w)) : 0 }')
    # what everybody else on the machine used meanwhile, in cores
    local others; others=$(echo "$line" | awk -v a="$m0" -v b="$m1" -v s="$srv" -v t="$SECONDS_PER_RUN" -v w="$WARMUP" '{ match($0, /"gen_cpu":[0-9.]+/); g = substr($0, RSTART + 10, RLENGTH - 10); o = (b - a) / (t + w) - s - g; printf "%.2f", o < 0 ? 0 : o }')
    echo "${line%\}},\"round\":$ROUND,\"loadavg\":$la,\"server_cpu\":$srv,\"server_ctxsw_per_req\":$cs,\"others_cpu\":$others}" >>"$RUNS"
    echo "$line" | python3 -c 'import json,sys; r=json.loads(sys.stdin.read()); print("   %-14s %9.0f req/s  p50 %6d us  p99 %7d us  %s" % (r["bench"], r["rps"], r["p50_us"], r["p99_us"], r["codes"]))' >&2
}

# wal_watch DIR LABEL: the largest size of DIR's WAL while the server runs, in
# runs.jsonl and the log once it stopped (run it in the background)
wal_watch() {
    local max=0 sz
    while kill -0 "$SERVER_PID" 2>/dev/null; do
        sz=$(stat -c %s "$1/flowlogd.db-wal" 2>/dev/null || echo 0)
        [ "$sz" -gt "$max" ] && max=$sz
        sleep 0.2
    done
    echo "{\"bench\":\"wal\",\"after\":\"$2\",\"round\":$ROUND,\"wal_max_bytes\":$max}" >>"$RUNS"
    log "$2: largest WAL $((max / 1048576)) MB"
}

rss_report() { # pid label
    # VmRSS counts a file page once per mapping: every reader connection maps
    # the database, so it overstates; Pss (smaps_rollup) counts each page once.
    cat "/proc/$1/status" "/proc/$1/smaps_rollup" 2>/dev/null | awk -v after="$2" '
        /^VmRSS:/ {rss=$2} /^VmHWM:/ {hwm=$2} /^RssAnon:/ {anon=$2} /^RssFile:/ {file=$2} /^RssShmem:/ {shm=$2}
        /^Pss:/ {pss=$2} /^Pss_Anon:/ {pa=$2} /^Pss_File:/ {pf=$2} /^Pss_Shmem:/ {ps=$2}
        END {printf "{\"bench\":\"rss\",\"after\":\"%s\",\"rss_kb\":%d,\"hwm_kb\":%d,\"anon_kb\":%d,\"file_kb\":%d,\"shmem_kb\":%d,\"pss_kb\":%d,\"pss_anon_kb\":%d,\"pss_file_kb\":%d,\"pss_shmem_kb\":%d}\n", after, rss, hwm, anon, file, shm, pss, pa, pf, ps}'
}

log "flowlogd benchmark $STAMP: scenarios [$SCENARIOS], $ROUNDS round(s) x ${SECONDS_PER_RUN}s (+${WARMUP}s warm-up), $CONNS connections"
log "source: $(git rev-parse --short HEAD 2>/dev/null || echo ?)$( [ -n "$(git status --porcelain src 2>/dev/null)" ] && echo " + uncommitted changes in src/: $(git status --porcelain src | wc -l) files" )"
log "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); load before: $(cut -d' ' -f1-3 /proc/loadavg)"
top -bn1 | head -15 >"$OUT/top-before.txt" || true

{ wants nginx-static || wants nginx-static-2t; } && start_nginx

[ -n "$SCENARIOS" ] || ROUNDS=0
for ROUND in $(seq 1 "$ROUNDS"); do
    log "round $ROUND/$ROUNDS (load $(cut -d' ' -f1-3 /proc/loadavg))"
    for s in $SCENARIOS; do
        case $s in
        nginx-static)
            run_one nginx-static static "http://127.0.0.1:$NGINX_PORT/" "" "" ;;
        nginx-static-2t)
            # the same with two generator threads: how far one thread limits the baseline
            run_one nginx-static-2t static "http://127.0.0.1:$NGINX_PORT/" "" "" --threads 2 ;;
        create)
            dir=$(fresh_copy "$SET_CREATE")
            start_server "$dir"
            wal_watch "$dir" create &
            WATCH_PID=$!
            run_one create create "http://127.0.0.1:$PORT" "$dir" "$SERVER_PID"
            stop_server
            wait "$WATCH_PID" ;;
        create-unbounded)
            dir=$(fresh_copy "$SET_CREATE")
            FLOWLOGD_SQLITE_WAL_MB=0 start_server "$dir"
            wal_watch "$dir" create-unbounded &
            WATCH_PID=$!
            run_one create-unbounded create "http://127.0.0.1:$PORT" "$dir" "$SERVER_PID"
            stop_server
            wait "$WATCH_PID" ;;
        create-https)
            dir=$(fresh_copy "$SET_CREATE")
            start_server_tls "$dir"
            run_one create-https create "https://127.0.0.1:$TLS_PORT" "$dir" "$SERVER_PID"
            stop_server ;;
        describe-https)
            start_server_tls "$SET_1M"
            run_one describe-https describe "https://127.0.0.1:$TLS_PORT" "$SET_1M" "$SERVER_PID"
            stop_server ;;
        describe-1m)
            start_server "$SET_1M"
            run_one describe-1m describe "http://127.0.0.1:$PORT" "$SET_1M" "$SERVER_PID"
            rss_report "$SERVER_PID" "describe-1m round $ROUND" >>"$RUNS"
            stop_server ;;
        describe-1m-redis)
            [ -n "$REDIS_URL" ] || continue
            start_server "$SET_1M" --rate-limit-redis "$REDIS_URL"
            r0=$(redis_cpu)
            run_one describe-1m-redis describe "http://127.0.0.1:$PORT" "$SET_1M" "$SERVER_PID"
            redis_cpu_record describe-1m-redis "$r0"
            stop_server ;;
        describe-1k)
            # 50 accounts x 20 flow logs (10 in the filtered VPC): the same page of 10 rows as at 1M,
            # so the per-account limit is lifted for this one comparison
            start_server "$SET_1K" --rate-limit 1000000
            run_one describe-1k describe "http://127.0.0.1:$PORT" "$SET_1K" "$SERVER_PID"
            stop_server ;;
        mix)
            dir=$(fresh_copy "$SET_1M")
            start_server "$dir"
            run_one mix mix "http://127.0.0.1:$PORT" "$dir" "$SERVER_PID"
            stop_server ;;
        pager)
            # DescribeFlowLogs at CONNS - 1 connections without and with one client paging
            # DescribeNetworkInterfaces over 50,000 ENIs (the per-account limit lifted, as
            # for describe-1k); p99s side by side
            start_server "$SET_PAGER" --rate-limit 1000000
            CONNS=$((CONNS - 1)) run_one describe-alone describe "http://127.0.0.1:$PORT" "$SET_PAGER" "$SERVER_PID"
            python3 bench/pager.py --url "http://127.0.0.1:$PORT" --cred "$SET_PAGER/pager-cred.json" \
                --seconds $((SECONDS_PER_RUN + WARMUP + 30)) >"$TMP/pager.json" 2>>"$OUT/log.txt" &
            PAGER_PID=$!
            CONNS=$((CONNS - 1)) run_one describe-pager describe "http://127.0.0.1:$PORT" "$SET_PAGER" "$SERVER_PID"
            kill "$PAGER_PID" 2>/dev/null || true
            wait "$PAGER_PID" 2>/dev/null || true
            PAGER_PID=""
            if [ -s "$TMP/pager.json" ]; then
                sed "s/}\$/,\"round\":$ROUND}/" "$TMP/pager.json" >>"$RUNS"
                python3 -c 'import json,sys; r=json.load(open(sys.argv[1])); print("   %-14s %9d pages    p50 %6d us  p99 %7d us  TotalCount %s, %d errors %s" % ("pager", r["pages"], r["p50_us"], r["p99_us"], r["total_count"], r["errors"], r["first_error"]))' "$TMP/pager.json" >&2
            fi
            stop_server ;;
        pg-create)
            [ -n "$PG_URL" ] || continue
            for n in $(seq 1 "$PG_NODES"); do
                # every run starts from the set as migrated: no flow logs
                pg_sql -c "SET search_path = bench_create; TRUNCATE flowlogs CASCADE; TRUNCATE vpc_usage; UPDATE region_usage SET n = 0" >/dev/null
                pg_sql -c "CHECKPOINT" >/dev/null
                start_pg_nodes "$n" bench_create
                run_pg "pg-create-${n}n" create "$SET_CREATE"
                stop_pg_nodes
            done ;;
        pg-describe-1m)
            [ -n "$PG_URL" ] || continue
            for n in $(seq 1 "$PG_NODES"); do
                start_pg_nodes "$n" bench_1m
                run_pg "pg-describe-1m-${n}n" describe "$SET_1M"
                stop_pg_nodes
            done ;;
        pg-describe-1m-redis)
            { [ -n "$PG_URL" ] && [ -n "$REDIS_URL" ]; } || continue
            for n in $(seq 1 "$PG_NODES"); do
                start_pg_nodes "$n" bench_1m redis
                run_pg "pg-describe-1m-redis-${n}n" describe "$SET_1M"
                stop_pg_nodes
            done ;;
        reject-sig|reject-param|reject-limit)
            start_server "$SET_1M"
            run_one "$s" "$s" "http://127.0.0.1:$PORT" "$SET_1M" "$SERVER_PID"
            stop_server ;;
        esac
    done
done
rm -rf "$DATA/run-copy"

if [ $STARTUP = 1 ]; then
    log "start to first answer with $FLOWLOGS flow logs (page cache warm)"
    "$BENCH" startup --server "$FLOWLOGD" --data "$SET_1M" --runs 5 | tee -a "$OUT/log.txt" | grep '^{' >>"$RUNS" || true
fi

# callgrind: cost per request of one scenario
# cg_one NAME SCENARIO DATA_DIR WARM_ARGS MEASURE_ARGS
cg_one() {
    local name=$1 scen=$2 dir=$3 warm=$4 meas=$5 out=$TMP/cg-$1 t0 t1 work_s
    command -v valgrind >/dev/null || { log "valgrind missing: no callgrind figures"; return 0; }
    mkdir -p "$out"
    : >"$TMP/serve.out"
    valgrind --tool=callgrind --callgrind-out-file="$out/cg.%p" \
        "$FLOWLOGD" serve --listen 127.0.0.1:0 --data "$dir" --quiet >"$TMP/serve.out" 2>"$out/valgrind.err" &
    SERVER_PID=$!
    PORT=""
    for _ in $(seq 1 600); do
        PORT=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$TMP/serve.out" || true)
        [ -n "$PORT" ] && break
        sleep 0.1
    done
    [ -n "$PORT" ] || { log "callgrind $name: server did not start"; stop_server; return 0; }
    # warm-up: every worker thread opens its reader connection and prepares its
    # statements, and the accounts used are seen before (steady state: a server
    # sees its tenants again and again; CG_ACCOUNTS of them, 200 by default)
    "$BENCH" run --scenario "$scen" --url "http://127.0.0.1:$PORT" --data "$dir" --connections 8 \
        --accounts "$CG_ACCOUNTS" --requests $((CG_REQUESTS / 2)) --quiet $warm >/dev/null || true
    callgrind_control -z "$SERVER_PID" >/dev/null
    t0=$(date +%s.%N)
    "$BENCH" run --scenario "$scen" --url "http://127.0.0.1:$PORT" --data "$dir" --connections 8 \
        --accounts "$CG_ACCOUNTS" --requests "$CG_REQUESTS" --quiet $meas >"$out/run.json" || true
    t1=$(date +%s.%N)
    callgrind_control -d work "$SERVER_PID" >/dev/null
    work_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')
    local idle_s; idle_s=$(awk -v w="$work_s" 'BEGIN {printf "%.3f", (w > 10 ? 10 : w)}')
    sleep "$idle_s"
    callgrind_control -d idle "$SERVER_PID" >/dev/null
    stop_server
    local work idle
    work=$(grep -l 'Trigger: dump work' "$out"/cg.* 2>/dev/null | head -1 || true)
    idle=$(grep -l 'Trigger: dump idle' "$out"/cg.* 2>/dev/null | head -1 || true)
    if [ -z "$work" ] || [ -z "$idle" ]; then log "callgrind $name: no dumps"; return 0; fi
    local res; res=$(python3 bench/report.py cg "$work" "$idle" "$CG_REQUESTS" "$work_s" "$idle_s")
    echo "{\"bench\":\"callgrind\",\"scenario\":\"$name\",${res#\{}" >>"$RUNS"
    log "callgrind $name: $res ($(grep -o '"codes":{[^}]*}' "$out/run.json"))"
    callgrind_annotate --inclusive=yes --threshold=100 "$work" >"$OUT/callgrind-$name-inclusive.txt" 2>/dev/null || true
    callgrind_annotate "$work" >"$OUT/callgrind-$name-self.txt" 2>/dev/null || true
    cp "$work" "$OUT/callgrind-$name.out"
    python3 bench/report.py hot "$OUT/callgrind-$name-inclusive.txt" "$CG_REQUESTS" >"$OUT/callgrind-$name-hot.txt" || true
}

if [ $CG = 1 ]; then
    log "callgrind: $CG_REQUESTS requests per scenario after a warm-up, 8 connections"
    dir=$(fresh_copy "$SET_1M")
    # warm-up creates on each account's first ENIs, the measured ones on the next
    cg_one create create "$dir" "--eni-offset 0" "--eni-offset $(( (CG_REQUESTS / 2 + CG_ACCOUNTS - 1) / CG_ACCOUNTS ))"
    cg_one describe describe "$dir" "" ""
    cg_one reject-sig reject-sig "$dir" "" ""
    rm -rf "$DATA/run-copy"
fi

log "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
top -bn1 | head -15 >"$OUT/top-after.txt" || true
echo
python3 bench/report.py table "$RUNS" | tee "$OUT/summary.txt"
echo
echo "results: $OUT"
