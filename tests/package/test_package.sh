#!/usr/bin/env bash
# The Debian package (debian/, scripts/package.sh): builds it from HEAD,
# runs lintian (errors fail, warnings are shown), installs it with dpkg -i,
# checks what it installed (binary, units, manual pages, the wirelink
# user and group), verifies the installed units with systemd, scores them
# with systemd-analyze security, runs the maintainer scripts' restart and
# stop logic against a stand-in systemctl, then purges it and checks that
# nothing is left. Touches nothing when wirelink is already installed on
# this machine (a package or a meson install): it would replace it.
set -u
WL_TOP=${WL_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
suite=test_package
. "$WL_TOP/tests/cli/lib.sh"

[ "$(id -u)" -eq 0 ] || { echo "SKIP: $suite: needs root to install a package"; exit 0; }
for tool in dpkg-buildpackage dh lintian systemd-analyze; do
	command -v "$tool" >/dev/null || { echo "SKIP: $suite: $tool is not installed (scripts/deps.sh test)"; exit 0; }
done
if have=$(command -v wirelink) || dpkg-query -W -f='${Status}' wirelink 2>/dev/null | grep -q installed; then
	echo "SKIP: $suite: wirelink is already installed here (${have:-package}); not replacing it"
	exit 0
fi
if getent passwd wirelink >/dev/null || getent group wirelink >/dev/null; then
	echo "SKIP: $suite: a user or group wirelink exists already; the purge check would remove it"
	exit 0
fi

tmp=$(mktemp -d /tmp/wl-package.XXXXXX)
installed=false
cleanup() {
	$installed && dpkg --purge wirelink >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT

# Build.
start=$SECONDS
if ! deb=$(bash "$WL_TOP/scripts/package.sh" --out "$tmp/out" 2>"$tmp/build.err"); then
	fail build "$(tail -n 5 "$tmp/build.err" | tr '\n' ' ')"
	finish
fi
pass build
echo "# built $(basename "$deb") in $((SECONDS - start)) s"
version=$(dpkg-deb -f "$deb" Version)
check deb-name-has-version sh -c "basename '$deb' | grep -qx 'wirelink_${version}_$(dpkg --print-architecture).deb'"

# lintian: an error fails; warnings and info are printed for the reader.
lintian --pedantic -I "$deb" >"$tmp/lintian.out" 2>&1
grep -E '^[EWIP]: ' "$tmp/lintian.out" | sed 's/^/# lintian: /'
if grep -q '^E: ' "$tmp/lintian.out"; then
	fail lintian-no-errors "$(grep '^E: ' "$tmp/lintian.out" | tr '\n' ' ')"
else
	pass lintian-no-errors
fi

# Install.
if dpkg -i "$deb" >"$tmp/install.out" 2>&1; then
	installed=true
	pass dpkg-install
else
	fail dpkg-install "$(tail -n 5 "$tmp/install.out" | tr '\n' ' ')"
	finish
fi
dpkg -L wirelink >"$tmp/files"
check binary-installed test -x /usr/bin/wirelink
check version-is-the-package-version sh -c "test \"\$(wirelink --version)\" = 'wirelink $version'"
check units-installed sh -c "test -f /lib/systemd/system/wirelink@.service && test -f /lib/systemd/system/wl-quick@.service && test -f /lib/systemd/system/wirelink-unprivileged@.service"
check units-run-the-installed-binary sh -c "grep -q '^ExecStart=/usr/bin/wirelink --iface %I$' /lib/systemd/system/wirelink@.service && grep -q '^ExecStartPre=+/usr/bin/wirelink prestart --user wirelink %I$' /lib/systemd/system/wirelink-unprivileged@.service"
check sysusers-file grep -q '^u wirelink ' /usr/lib/sysusers.d/wirelink.conf
check man-wirelink man -w wirelink
check man-wirelink-json man -w 5 wirelink.json
check system-user sh -c "getent passwd wirelink | awk -F: '\$3 < 1000 && \$7 ~ /nologin|false/ { ok = 1 } END { exit !ok }'"
check system-group getent group wirelink

# systemd's own checks on the installed units (templates: verified as
# files; wl-quick@ needs wg-quick@.service, which wireguard-tools has).
# The manual pages they name are checked above (man-*), so verify leaves
# them out and says only what is wrong with the units themselves.
for u in wirelink@.service wl-quick@.service wirelink-unprivileged@.service; do
	if [ "$u" = wl-quick@.service ] && [ ! -f /lib/systemd/system/wg-quick@.service ]; then
		echo "SKIP: $suite/verify-$u: wg-quick@.service is not installed (wireguard-tools)"
		continue
	fi
	out=$(systemd-analyze verify --man=no "/lib/systemd/system/$u" 2>&1)
	if [ -z "$out" ]; then pass "verify-$u"; else fail "verify-$u" "$(echo "$out" | tr '\n' ' ')"; fi
done
# Root's uid for the units that drive userspace devices too (their UAPI
# socket is root's alone); the user wirelink for wirelink-unprivileged@.
for u in wirelink@wg0.service:1.8 wl-quick@wg0.service:1.8 wirelink-unprivileged@wg0.service:1.5; do
	max=${u#*:} u=${u%:*}
	out=$(systemd-analyze security --offline=yes "$u" 2>&1)
	score=$(echo "$out" | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
	if [ -n "$score" ] && awk -v s="$score" -v m="$max" 'BEGIN { exit !(s <= m) }'; then
		pass "security-$u"
		echo "# $u installed: systemd-analyze security exposure $score (at most $max)"
	else
		fail "security-$u" "exposure ${score:-unknown} > $max"
	fi
done

# The maintainer scripts' unit handling, run as dpkg would but against a
# stand-in systemctl that records its arguments, with "systemd is running"
# pointed at a directory of ours (this machine's systemd is not PID 1, and
# nothing here may pretend otherwise to other programs).
mkdir -p "$tmp/bin" "$tmp/run-systemd"
printf '#!/bin/sh\necho "$*" >>"%s/systemctl.calls"\n' "$tmp" >"$tmp/bin/systemctl"
chmod +x "$tmp/bin/systemctl"
script() { # name args...: the installed maintainer script, systemd "running"
	local name=$1; shift
	sed "s|/run/systemd/system|$tmp/run-systemd|g" "/var/lib/dpkg/info/wirelink.$name" >"$tmp/$name"
	PATH="$tmp/bin:$PATH" sh "$tmp/$name" "$@"
}
: >"$tmp/systemctl.calls"
script postinst configure 0.0.1 >/dev/null 2>&1
check upgrade-restarts-instances grep -qx "try-restart wirelink@\*.service wl-quick@\*.service wirelink-unprivileged@\*.service" "$tmp/systemctl.calls"
: >"$tmp/systemctl.calls"
script postinst configure >/dev/null 2>&1
check first-install-restarts-nothing sh -c "! grep -q restart '$tmp/systemctl.calls'"
: >"$tmp/systemctl.calls"
script prerm remove >/dev/null 2>&1
check removal-stops-instances grep -qx "stop wirelink@\*.service wl-quick@\*.service wirelink-unprivileged@\*.service" "$tmp/systemctl.calls"
: >"$tmp/systemctl.calls"
script prerm upgrade 0.0.2 >/dev/null 2>&1
check upgrade-does-not-stop sh -c "! grep -q stop '$tmp/systemctl.calls'"

# Purge: every file it installed, its user and group, dpkg's record: gone.
if dpkg --purge wirelink >"$tmp/purge.out" 2>&1; then
	installed=false
	pass dpkg-purge
else
	fail dpkg-purge "$(tail -n 5 "$tmp/purge.out" | tr '\n' ' ')"
fi
left=""
while read -r f; do
	[ -e "$f" ] && [ ! -d "$f" ] && left="$left $f"
done <"$tmp/files"
if [ -z "$left" ]; then pass purge-removes-files; else fail purge-removes-files "left:$left"; fi
check purge-removes-user sh -c "! getent passwd wirelink"
check purge-removes-group sh -c "! getent group wirelink"
check purge-forgets-package sh -c "! dpkg-query -W -f='\${Status}' wirelink 2>/dev/null | grep -q installed"
check purge-no-maintainer-scripts-left sh -c "! ls /var/lib/dpkg/info/wirelink.* 2>/dev/null | grep -q ."
check no-wirelink-on-path sh -c "! command -v wirelink"
echo "# $suite took $((SECONDS - start)) s"
finish
