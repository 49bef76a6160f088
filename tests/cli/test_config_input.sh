#!/usr/bin/env bash
# Config input as the real binary meets it at start-up (issue 10, point 4):
# what is where the config file would be must plainly be one. A FIFO is
# refused at once (open() used to wait for a writer forever), a device or
# a dangling symbolic link is an error, a --config-path or
# WIRELINK_CONFIG_PATH that was given must exist, a NUL byte or content
# after the document is refused with its byte offset, and so are an
# all-zero peer key and more endpoints than the daemon keeps. Every
# refusal exits 2 with file (or source), key and value. Each run is bounded
# by `timeout`, so a start-up that hangs fails instead of hanging the suite;
# nothing here waits on a clock otherwise. The daemon runs (not only
# --check-config) where the hang was: the config is loaded before any
# device is touched, so no root or interface is needed. SIGHUP with the
# same inputs: tests/netns/test_process.sh.
set -u
WL_TOP=${WL_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$WL_TOP/tests/cli/lib.sh"
tmp=$(mktemp -d /tmp/wl-cfgin.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
D=$tmp/cfg
mkdir "$D"
F=$D/wirelink.wlcfg0.yaml
KEY=18dCY1rwCNo4aQaWFccKFfhbqG0FGBxDkCSbyQ3awkw=
ZERO=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=

# wl ARGS...: runs wirelink for interface wlcfg0 with the config dir D,
# at most 20 s (124 = it hung); stdout+stderr in $out, status in $rc.
wl() { out=$(timeout 20 "$WL_BIN" --iface wlcfg0 "$@" </dev/null 2>&1); rc=$?; }
# refused NAME TEXT...: the last run exited 2 and its message has every TEXT.
refused() {
	local name=$1; shift
	if [ "$rc" -ne 2 ]; then fail "$name" "exit status $rc, want 2: $out"; return; fi
	for t in "$@"; do
		case "$out" in *"$t"*) ;; *) fail "$name" "no '$t' in: $out"; return ;; esac
	done
	pass "$name"
}
# loads NAME TEXT: the last run exited 0 and said TEXT.
loads() {
	case "$rc:$out" in 0:*"$2"*) pass "$1" ;; *) fail "$1" "exit status $rc: $out" ;; esac
}
reset() { rm -rf "$D"; mkdir "$D"; }

# A good file still loads, and so does a symbolic link to one.
printf 'Port: 7\nPeers:\n  - PublicKey: %s\n' "$KEY" >"$D/real.yaml"
ln -s real.yaml "$F"
wl --config-path "$D" --check-config
loads good-file-via-link "configuration OK ($F)"
reset

# A FIFO: refused at once, by --check-config and by the daemon starting.
mkfifo "$F"
wl --config-path "$D" --check-config
refused fifo-check-config "$F: a FIFO (named pipe), not a regular file"
wl --config-path "$D"
refused fifo-daemon-start "$F: a FIFO (named pipe), not a regular file"
reset

# A device where the file would be.
ln -s /dev/zero "$F"
wl --config-path "$D"
refused char-device "$F: a character device, not a regular file"
reset

# A dangling symbolic link: named with its target.
ln -s "$tmp/moved-away.yaml" "$F"
wl --config-path "$D"
refused dangling-symlink "$F: dangling symbolic link to $tmp/moved-away.yaml (No such file or directory)"
reset

# A config directory that was given must exist and be a directory.
wl --config-path "$tmp/missing"
refused missing-config-path-flag "command line: --config-path: \"$tmp/missing\" does not exist"
out=$(WIRELINK_CONFIG_PATH=$tmp/missing timeout 20 "$WL_BIN" --iface wlcfg0 --check-config 2>&1); rc=$?
refused missing-config-path-env "environment: WIRELINK_CONFIG_PATH: \"$tmp/missing\" does not exist"
touch "$tmp/plain"
wl --config-path "$tmp/plain" --check-config
refused config-path-not-a-directory "--config-path: \"$tmp/plain\" is not a directory (it is a regular file)"
# The default directory may be missing (or hold no file for this interface).
out=$(timeout 20 "$WL_BIN" --iface wlcfgnotused0 --check-config 2>&1); rc=$?
loads default-config-path-may-be-missing "no file, defaults"

# A NUL byte, and content after the document: the byte offset.
printf '{"Router": true}\0garbage' >"$D/wirelink.wlcfg0.json"
wl --config-path "$D"
refused nul-byte "$D/wirelink.wlcfg0.json:1:17: a NUL byte at byte offset 16"
reset
printf '{"Router": true} garbage\n' >"$D/wirelink.wlcfg0.json"
wl --config-path "$D"
refused json-trailing-content "$D/wirelink.wlcfg0.json:1:18: content after the document at byte offset 17: \"garbage\""
reset
printf 'Router: true\n...\ngarbage\n' >"$F"
wl --config-path "$D"
refused yaml-trailing-content "$F:3:1: content after the document at byte offset 17: \"garbage\""

# Peers: an all-zero key, more endpoints than the daemon keeps.
printf 'Peers:\n  - PublicKey: %s\n' "$ZERO" >"$F"
wl --config-path "$D"
refused zero-public-key "$F:2: Peers[0].PublicKey: \"$ZERO\" is the all-zero key"
eps=$(seq -s ', ' -f 'h%g:1' 17)
printf 'Peers:\n  - PublicKey: %s\n    Endpoints: [%s]\n' "$KEY" "$eps" >"$F"
wl --config-path "$D"
refused too-many-endpoints "$F:3: Peers[0].Endpoints: 17 endpoints, more than the 16 a peer may have"
finish
