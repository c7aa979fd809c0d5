#!/usr/bin/env bash
# Runs every test on a fresh Debian 12 machine (as root): installs what the
# tests need (Debian packages, the npm packages pinned in package-lock.json),
# then builds and runs the unit tests (cmocka) and the integration tests (the
# real binary driven by the official Node SDK), first in a normal build and
# then under AddressSanitizer + UndefinedBehaviorSanitizer; the store and
# http unit tests under ThreadSanitizer; then the live data-plane tests
# (network namespaces, BPF), the reliability tests (crash consistency,
# hostile input, limits, secrets), a 2-minute soak (SOAK_MINUTES) and every
# libFuzzer target for FUZZ_SECONDS (default 30) each. The store unit tests,
# the integration tests and the crash test run on both SQLite engines
# (FLOWLOGD_SQLITE_ENGINE=tuned, the default, and plain).
set -euo pipefail
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
cd "$(dirname "$0")/.."
WITH_TEST_TOOLS=1 scripts/install-deps.sh
npm ci --no-audit --no-fund --loglevel=error
export FLOWLOGD_SHARED=${FLOWLOGD_SHARED:-$(cd .. && pwd)/shared}
jobs=$(nproc)
status=0
echo "=== schema tables"
if [ -d "$FLOWLOGD_SHARED/spec" ]; then make -s check-schema SPEC_DIR="$FLOWLOGD_SHARED/spec" || status=1; fi
echo "=== build"
make -s -j"$jobs"
scripts/gen-docs.sh --check || status=1
echo "=== store/sqlite: its files form a graph without a circle"
make -s check-store-graph || status=1
echo "=== unit tests (tuned engine)"
make -s unit || status=1
echo "=== store unit tests (plain engine)"
FLOWLOGD_SQLITE_ENGINE=plain make -s unit-store || status=1
echo "=== integration tests (tuned engine)"
make -s integration || status=1
echo "=== integration tests (plain engine)"
FLOWLOGD_SQLITE_ENGINE=plain make -s integration || status=1
echo "=== Kafka sink against librdkafka's mock cluster"
make -s kafka-test || status=1
echo "=== web console (Chromium)"
make -s console-test || status=1
echo "=== sanitizers (ASan + UBSan + LSan): unit and integration"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
make -s -j"$jobs" SAN=1
make -s SAN=1 unit || status=1
make -s SAN=1 integration || status=1
make -s SAN=1 live || status=1
make -s SAN=1 kafka-test || status=1
unset ASAN_OPTIONS UBSAN_OPTIONS
echo "=== ThreadSanitizer: store and http unit tests"
make -s -j"$jobs" tsan || status=1
echo "=== Debian package"
scripts/test-package.sh || status=1
echo "=== live data-plane tests (root: network namespaces, BPF)"
make -s live || status=1
echo "=== reliability tests (tuned engine)"
make -s reliability || status=1
echo "=== crash test (plain engine)"
FLOWLOGD_SQLITE_ENGINE=plain FLOWLOGD_BIN="$PWD/build/flowlogd" \
  node --test --test-concurrency=1 --test-timeout=900000 tests/reliability/crash.test.js || status=1
echo "=== soak (${SOAK_MINUTES:-2} minutes: heap, file-backed pages and the WAL bounded)"
make -s soak SOAK_MINUTES="${SOAK_MINUTES:-2}" || status=1
echo "=== PostgreSQL store: store unit, integration and crash tests on a throwaway server"
pgdir=$(mktemp -d /tmp/flowlogd-pg-XXXXXX)
if pgurl=$(scripts/pg-test-cluster.sh start "$pgdir"); then
  trap 'scripts/pg-test-cluster.sh stop "$pgdir" || true' EXIT
  export FLOWLOGD_TEST_STORE=$pgurl FLOWLOGD_TEST_PG_DIR=$pgdir
  for t in build/tests/test_store build/tests/test_store_resource build/tests/test_store_admin build/tests/test_store_agent build/tests/test_store_cls; do "$t" || status=1; done
  make -s integration || status=1
  FLOWLOGD_BIN=$PWD/build/flowlogd node --test --test-concurrency=1 --test-timeout=900000 tests/reliability/crash.test.js || status=1
  FLOWLOGD_BIN=$PWD/build/flowlogd node --test --test-concurrency=1 --test-timeout=900000 tests/cluster/ || status=1
  unset FLOWLOGD_TEST_STORE FLOWLOGD_TEST_PG_DIR
  scripts/pg-test-cluster.sh stop "$pgdir" || status=1
  trap - EXIT
else
  echo "cannot start a PostgreSQL 15 test server (postgresql-15 installed?)"; status=1
  rm -rf "$pgdir"
fi
echo "=== fuzzing (${FUZZ_SECONDS:-30} s per target)"
make -s fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-30}" || status=1
if [ $status -eq 0 ]; then echo "ALL TESTS PASSED"; else echo "SOME TESTS FAILED"; fi
exit $status
