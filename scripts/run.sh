#!/usr/bin/env bash
# Runs flowlogd on a fresh Debian 12 machine (as root): installs what it
# needs, builds it, creates an account on first start, prints a usable
# credential and serves on LISTEN (default 127.0.0.1:8080) with an embedded
# SQLite store in DATA (default ./data), and HTTPS on TLS_LISTEN (default
# 127.0.0.1:8443; empty: no HTTPS) with a certificate from a local CA that
# `flowlogd cert` makes on first start (DATA/tls/ca.pem) and renews the server
# certificate of at every start (TLS_NAME: the domain for vpc.NAME, tag.NAME,
# default localhost; TLS_HOSTS: more names or addresses, comma-separated).
# CAPTURE=1 also runs the data plane's agent inside the server (serve
# --capture: the devices the inventory binds to this host are captured for
# enabled flow logs; records under DATA/records), with CAPTURE_WINDOW
# seconds per window (default 300).
set -euo pipefail
cd "$(dirname "$0")/.."
LISTEN=${LISTEN:-127.0.0.1:8080}
TLS_LISTEN=${TLS_LISTEN-127.0.0.1:8443}
DATA=${DATA:-$PWD/data}
scripts/install-deps.sh
make -s -j"$(nproc)"
(umask 077; mkdir -p "$DATA")
cred="$DATA/credential.json"
if [ ! -s "$cred" ]; then
  (umask 077; build/flowlogd account create --data "$DATA" > "$cred")
fi
echo "credential (also in $cred):"
cat "$cred"
echo "try: build/flowlogd call --endpoint http://$LISTEN --secret-id <SecretId> --secret-key <SecretKey> --region ap-guangzhou DescribeFlowLogs '{}'"
tls=()
if [ -n "$TLS_LISTEN" ]; then
  echo
  build/flowlogd cert --data "$DATA" --name "${TLS_NAME:-localhost}" ${TLS_HOSTS:+--host "$TLS_HOSTS"}
  tls=(--tls-listen "$TLS_LISTEN" --tls-cert "$DATA/tls/server.pem" --tls-key "$DATA/tls/server-key.pem")
  echo
  echo "try (https): build/flowlogd call --endpoint https://$TLS_LISTEN --cacert $DATA/tls/ca.pem --secret-id <SecretId> --secret-key <SecretKey> --region ap-guangzhou DescribeFlowLogs '{}'"
fi
capture=()
if [ "${CAPTURE:-0}" = 1 ]; then
  capture=(--capture --capture-window "${CAPTURE_WINDOW:-300}")
  echo "capture: on (records: build/flowlogd records --data $DATA FLOWLOG-ID)"
fi
exec build/flowlogd serve --listen "$LISTEN" "${tls[@]}" "${capture[@]}" --data "$DATA"
