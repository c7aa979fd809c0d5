#!/usr/bin/env bash
# Installs what flowlogd needs to build, run and test on Debian 12 (as root).
# Safe to run again: it installs only what is missing.
set -euo pipefail
# one package a line: parallel work adds lines, not edits them
pkgs=(
  build-essential
  pkg-config
  libmicrohttpd-dev
  libjansson-dev
  libssl-dev
  libsqlite3-dev
  libcurl4-openssl-dev
  libcmocka-dev
  libsystemd-dev
  libpcap-dev
  libbpf-dev
  clang
  bpftool
  nftables
  iproute2
  libpq-dev
  libinih-dev
  # the CKafka sink (src/sink/kafka.c)
  librdkafka-dev
  # the cluster-wide rate limit (--rate-limit-redis)
  libhiredis-dev
  # http.c gives libmicrohttpd its TLS identity itself (SIGHUP swaps it)
  libgnutls28-dev
  sqlite3
  python3
  # UploadLog: the protobuf body (protoc-c makes its C at build time) and lz4
  libprotobuf-c-dev
  protobuf-c-compiler
  liblz4-dev
)
test_pkgs=(
  clang
  libclang-rt-14-dev
  # make tsan: gcc's ThreadSanitizer runtime
  libtsan2
  dpkg-dev
  debhelper
  lintian
  fakeroot
  groff-base
  chromium
  prometheus
  # the PostgreSQL store's tests start a throwaway server (scripts/pg-test-cluster.sh);
  # the cluster test puts HAProxy in front of three nodes
  postgresql-15
  haproxy
  # the cluster test's and the benchmark's shared rate limiter (scripts/redis-test-server.sh)
  redis-server
  # HTTPS clients other than Node, against the TLS listener (tests/integration/tls_clients.test.js)
  python3-requests
  openjdk-17-jdk-headless
  curl
  # the Kafka tests consume with kcat too (tests/kafka/)
  kcat
)
[ "${WITH_TEST_TOOLS:-0}" = 1 ] && pkgs+=("${test_pkgs[@]}")
# make bench-dataplane runs these beside flowlogd replay on the same capture
[ "${WITH_BENCH_TOOLS:-0}" = 1 ] && pkgs+=(softflowd nfdump pmacct)
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# node/npm may come from outside Debian's packages: only install them if absent
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
