#!/usr/bin/env bash
# The documents generated from serve's option table (src/server/server.c):
# the option list of flowlogd.conf(5) and the packaged sample configuration
# (debian/flowlogd.conf). `scripts/gen-docs.sh` rewrites them from
# build/flowlogd; `scripts/gen-docs.sh --check` fails if they are stale.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${FLOWLOGD_BIN:-build/flowlogd}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
{
  sed -n '1,/^\.\\" BEGIN OPTIONS/p' man/flowlogd.conf.5
  "$bin" serve --print-config man
  sed -n '/^\.\\" END OPTIONS/,$p' man/flowlogd.conf.5
} > "$tmp/flowlogd.conf.5"
{
  echo "# /etc/flowlogd/flowlogd.conf: the options of flowlogd serve (see flowlogd.conf(5))."
  echo "# Every line below is commented out: the defaults apply. The packaged service"
  echo "# passes --data /var/lib/flowlogd itself."
  "$bin" serve --print-config sample
} > "$tmp/flowlogd.conf"
if [ "${1:-}" = --check ]; then
  diff -u man/flowlogd.conf.5 "$tmp/flowlogd.conf.5" && diff -u debian/flowlogd.conf "$tmp/flowlogd.conf" &&
    echo "generated documents are current"
else
  cp "$tmp/flowlogd.conf.5" man/flowlogd.conf.5
  cp "$tmp/flowlogd.conf" debian/flowlogd.conf
fi
