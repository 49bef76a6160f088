#!/usr/bin/env bash
# The systemd units as built: the promised settings, and systemd's own check.
set -u
WL_TOP=${WL_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$WL_TOP/tests/cli/lib.sh"
units=${WL_BUILD:-$WL_TOP/build-asan}/packaging
tmp=$(mktemp -d /tmp/wl-units.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

has() { grep -qx -- "$2" "$units/$1"; }
for u in wirelink@.service wl-quick@.service; do
	check "$u-exists" test -f "$units/$u"
	check "$u-notify" has "$u" "Type=notify"
	check "$u-execstart" grep -q '^ExecStart=/.*/wirelink --iface %I$' "$units/$u"
	check "$u-restart" sh -c "grep -qx 'Restart=on-failure' '$units/$u' && grep -qx 'RestartSec=15' '$units/$u'"
	check "$u-watchdog" grep -q '^WatchdogSec=' "$units/$u"
	check "$u-only-net-admin" has "$u" "CapabilityBoundingSet=CAP_NET_ADMIN"
	check "$u-no-new-privileges" has "$u" "NoNewPrivileges=yes"
	check "$u-read-only-system" has "$u" "ProtectSystem=strict"
	check "$u-reload" grep -q '^ExecReload=.*-HUP' "$units/$u"
	# The interface lock's directory, kept while any instance may hold a lock.
	check "$u-runtime-dir" sh -c "grep -qx 'RuntimeDirectory=wirelink' '$units/$u' && grep -qx 'RuntimeDirectoryMode=0755' '$units/$u' && grep -qx 'RuntimeDirectoryPreserve=yes' '$units/$u'"
done
for dep in "Requires=wg-quick@%i.service" "PartOf=wg-quick@%i.service" "After=wg-quick@%i.service" "WantedBy=wg-quick@%i.service"; do
	check "wl-quick-${dep%%=*}" has wl-quick@.service "$dep"
done

# systemd-analyze verify, with ExecStart pointing at the binary we built.
if command -v systemd-analyze >/dev/null; then
	for u in wirelink@.service wl-quick@.service; do
		sed "s|^ExecStart=[^ ]*|ExecStart=$WL_BIN|" "$units/$u" >"$tmp/$u"
	done
	# wl-quick@ needs a wg-quick@ unit to refer to; a stand-in is enough.
	printf '[Unit]\nDescription=stand-in\n[Service]\nType=oneshot\nExecStart=/bin/true\n' >"$tmp/wg-quick@.service"
	for u in wirelink@wg0.service wl-quick@wg0.service; do
		out=$(cd "$tmp" && SYSTEMD_UNIT_PATH="$tmp:" systemd-analyze verify "$tmp/${u%%wg0.service}.service" 2>&1)
		if [ -z "$out" ]; then pass "verify-$u"; else fail "verify-$u" "$out"; fi
	done
else
	echo "SKIP: $suite/verify: systemd-analyze is not installed"
fi
finish
