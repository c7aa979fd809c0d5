#!/usr/bin/env bash
# Runs flowlogd on a fresh Debian 12 machine (as root): installs what it
# needs, builds it, creates an account on first start, prints a usable
# credential and serves on LISTEN (default 127.0.0.1:8080) with an embedded
# SQLite store in DATA (default ./data).
set -euo pipefail
cd "$(dirname "$0")/.."
LISTEN=${LISTEN:-127.0.0.1:8080}
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
exec build/flowlogd serve --listen "$LISTEN" --data "$DATA"
