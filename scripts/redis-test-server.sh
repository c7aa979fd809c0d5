#!/usr/bin/env bash
# A throwaway Redis for the tests and the benchmark: no system service, a
# temp folder, a free port on 127.0.0.1, nothing written to disk.
#
#   scripts/redis-test-server.sh start [DIR]   starts it; prints its URL on stdout
#   scripts/redis-test-server.sh url DIR        prints the URL again
#   scripts/redis-test-server.sh kill DIR       SIGKILL (a crash), DIR kept
#   scripts/redis-test-server.sh restart DIR    starts it again on the same port
#   scripts/redis-test-server.sh stop DIR       stops it and removes DIR
set -euo pipefail
cmd=${1:-}
bin=$(command -v redis-server || true)
[ -n "$bin" ] || { echo "redis-test-server: no redis-server (install redis-server)" >&2; exit 3; }

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

run() {
  local dir=$1
  "$bin" "$dir/redis.conf" >/dev/null
  # ready when it answers PING
  for _ in $(seq 1 100); do
    if python3 - "$(cat "$dir/port")" <<'PY' 2>/dev/null; then return 0; fi
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
s.sendall(b"PING\r\n")
sys.exit(0 if s.recv(16).startswith(b"+PONG") else 1)
PY
    sleep 0.05
  done
  echo "redis-test-server: redis-server did not answer; its log:" >&2
  cat "$dir/redis.log" >&2
  return 1
}

case "$cmd" in
start)
  dir=${2:-$(mktemp -d /tmp/flowlogd-redis-XXXXXX)}
  mkdir -p "$dir"
  chmod 700 "$dir"
  port=$(free_port)
  echo "$port" >"$dir/port"
  cat >"$dir/redis.conf" <<CONF
bind 127.0.0.1
port $port
dir $dir
daemonize yes
pidfile $dir/redis.pid
logfile $dir/redis.log
save ""
appendonly no
protected-mode yes
CONF
  run "$dir"
  echo "redis://127.0.0.1:$port"
  ;;
url)
  echo "redis://127.0.0.1:$(cat "$2/port")"
  ;;
kill)
  [ -f "$2/redis.pid" ] && kill -KILL "$(cat "$2/redis.pid")" 2>/dev/null || true
  rm -f "$2/redis.pid"
  ;;
restart)
  "$0" kill "$2"
  run "$2"
  ;;
stop)
  dir=$2
  [ -f "$dir/port" ] || { echo "redis-test-server: $dir is not a test server" >&2; exit 2; }
  [ -f "$dir/redis.pid" ] && kill -TERM "$(cat "$dir/redis.pid")" 2>/dev/null || true
  for _ in $(seq 1 50); do [ -f "$dir/redis.pid" ] || break; sleep 0.05; done
  rm -rf "$dir"
  ;;
*)
  echo "usage: $0 start [DIR] | url DIR | kill DIR | restart DIR | stop DIR" >&2
  exit 2
  ;;
esac
