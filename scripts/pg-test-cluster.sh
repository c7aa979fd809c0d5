#!/usr/bin/env bash
# A throwaway PostgreSQL 15 cluster for the tests: no system service, a
# temp folder, a free port on 127.0.0.1 and a Unix socket in that folder.
#
#   scripts/pg-test-cluster.sh start [DIR]   initdb + pg_ctl start; prints
#                                             the connection URL on stdout
#   scripts/pg-test-cluster.sh url DIR        prints the URL again
#   scripts/pg-test-cluster.sh restart DIR    pg_ctl restart (fast)
#   scripts/pg-test-cluster.sh stop DIR       stops it and removes DIR
#
# As root the server runs as the `postgres` user (created by the Debian
# package). Settings are the durable ones: fsync, synchronous_commit=on.
set -euo pipefail
cmd=${1:-}
bindir=${PG_BINDIR:-$(ls -d /usr/lib/postgresql/15/bin 2>/dev/null || true)}
[ -x "$bindir/initdb" ] || { echo "pg-test-cluster: no PostgreSQL 15 (install postgresql-15)" >&2; exit 3; }

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

url_of() { echo "postgresql://flowlogd@127.0.0.1:$(cat "$1/port")/flowlogd"; }

case "$cmd" in
start)
  dir=${2:-$(mktemp -d /tmp/flowlogd-pg-XXXXXX)}
  mkdir -p "$dir"
  [ "$(id -u)" = 0 ] && chown postgres "$dir"
  chmod 700 "$dir"
  as_pg "$bindir/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 ||
    { cat "$dir/initdb.log" >&2; exit 1; }
  port=$(free_port)
  echo "$port" >"$dir/port"
  cat >>"$dir/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$dir'
max_connections = 300
shared_buffers = 256MB
fsync = on
synchronous_commit = on
full_page_writes = on
wal_sync_method = fdatasync
log_min_messages = warning
log_min_error_statement = panic
CONF
  as_pg "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null ||
    { cat "$dir/server.log" >&2; exit 1; }
  as_pg "$bindir/psql" -h "$dir" -p "$port" -U postgres -d postgres -qAt \
    -c "CREATE ROLE flowlogd LOGIN SUPERUSER" -c "CREATE DATABASE flowlogd OWNER flowlogd" >/dev/null
  echo "$dir" >"$dir/dir"
  url_of "$dir"
  ;;
url)
  url_of "$2"
  ;;
restart)
  as_pg "$bindir/pg_ctl" -D "$2/data" -l "$2/server.log" -w -t 60 -m fast restart >/dev/null
  ;;
stop)
  dir=$2
  [ -f "$dir/port" ] || { echo "pg-test-cluster: $dir is not a test cluster" >&2; exit 2; }
  as_pg "$bindir/pg_ctl" -D "$dir/data" -w -t 60 -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  ;;
*)
  echo "usage: $0 start [DIR] | url DIR | restart DIR | stop DIR" >&2
  exit 2
  ;;
esac
