#!/usr/bin/env bash
# Builds the Debian package from the tracked tree in a temporary folder
# (dpkg-buildpackage -us -uc -b), runs lintian on it (any error or warning
# fails), checks its contents and control data, unpacks it into a throwaway
# root and runs the packaged binary from there. Touches none of the
# machine's services. Prints "N passed, N failed".
set -uo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d /tmp/flowlogd-pkg-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
ok() { echo "ok - $1"; pass=$((pass + 1)); }
ko() { echo "not ok - $1"; fail=$((fail + 1)); }
check() { local what=$1; shift; if "$@" >/dev/null 2>&1; then ok "$what"; else ko "$what"; fi; }

mkdir -p "$tmp/src"
git ls-files -z | xargs -0 tar -cf - | tar -xf - -C "$tmp/src"
if (cd "$tmp/src" && dpkg-buildpackage -us -uc -b >"$tmp/build.log" 2>&1); then
  ok "dpkg-buildpackage -us -uc -b"
else
  ko "dpkg-buildpackage -us -uc -b"; tail -30 "$tmp/build.log"
  echo "$pass passed, $fail failed"; exit 1
fi
deb=$(ls "$tmp"/flowlogd_*_*.deb | head -1)
changes=$(ls "$tmp"/flowlogd_*.changes | head -1)
lint=$(lintian --tag-display-limit 0 --fail-on error,warning "$changes" 2>&1 | grep -v "running with root privileges")
if lintian --tag-display-limit 0 --fail-on error,warning "$changes" >/dev/null 2>&1; then ok "lintian: no error or warning"; else ko "lintian: $lint"; fi

contents=$(dpkg-deb -c "$deb")
for f in ./usr/sbin/flowlogd ./lib/systemd/system/flowlogd.service ./usr/lib/sysusers.d/flowlogd.conf \
         ./usr/share/man/man8/flowlogd.8.gz ./usr/share/bash-completion/completions/flowlogd \
         ./etc/default/flowlogd ./etc/flowlogd/flowlogd.conf ./usr/share/man/man5/flowlogd.conf.5.gz; do
  if grep -q " $f\$" <<<"$contents"; then ok "contains $f"; else ko "contains $f"; fi
done
ctl="$tmp/ctl"
dpkg-deb -e "$deb" "$ctl"
check "conffiles lists /etc/default/flowlogd" grep -qx /etc/default/flowlogd "$ctl/conffiles"
check "conffiles lists /etc/flowlogd/flowlogd.conf" grep -qx /etc/flowlogd/flowlogd.conf "$ctl/conffiles"
check "postinst creates the system user (systemd-sysusers)" grep -q "systemd-sysusers" "$ctl/postinst"
check "the system user is _flowlogd with its home in /var/lib/flowlogd" grep -qx 'u _flowlogd - "flowlogd service" /var/lib/flowlogd' <(dpkg-deb --fsys-tarfile "$deb" | tar -xOf - ./usr/lib/sysusers.d/flowlogd.conf)

root="$tmp/root"
dpkg -x "$deb" "$root"
unit="$root/lib/systemd/system/flowlogd.service"
for line in "Type=notify" "StateDirectory=flowlogd" "User=_flowlogd" "NoNewPrivileges=yes" "ProtectSystem=strict" "WatchdogSec=30" 'ExecReload=/bin/kill -HUP $MAINPID'; do
  check "unit has $line" grep -qx "$line" "$unit"
done
want="flowlogd $(cat VERSION)"
got=$("$root/usr/sbin/flowlogd" --version 2>&1)
if [ "$got" = "$want" ]; then ok "packaged binary runs: $got"; else ko "packaged binary --version: '$got' (want '$want')"; fi
check "man page renders" bash -c "zcat '$root/usr/share/man/man8/flowlogd.8.gz' | groff -man -Tutf8 -z"
check "flowlogd.conf(5) renders" bash -c "zcat '$root/usr/share/man/man5/flowlogd.conf.5.gz' | groff -man -Tutf8 -z"
check "the packaged binary accepts the packaged configuration" "$root/usr/sbin/flowlogd" serve --config "$root/etc/flowlogd/flowlogd.conf" --data "$tmp/data" --check-config
check "bash completion loads" bash -c "source /usr/share/bash-completion/bash_completion 2>/dev/null; source '$root/usr/share/bash-completion/completions/flowlogd' && complete -p flowlogd"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
