#!/usr/bin/env bash
# The daemon as a process: configuration errors, --dump/--check-config,
# SIGUSR1 dumps, SIGHUP reloads (a bad new config is refused and the old one
# kept; so are a FIFO, which must not block the loop, a dangling symbolic
# link, a config directory gone, a NUL byte and an all-zero peer key),
# start-up on a brand-new interface (no crash while the auto address would
# still be tentative), and a clean SIGTERM. All of it inside the sandbox
# (only CAP_NET_ADMIN, no_new_privs, the seccomp filter), as /proc shows,
# including an endpoint's DNS name resolved after a reload.
set -u
WL_TOP=${WL_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$WL_TOP/tests/cli/lib.sh"
. "$WL_TOP/tests/netns/topo.sh"
[ "$(id -u)" -eq 0 ] || { echo "SKIP: $suite: needs root for network namespaces"; exit 0; }

topo_init wlp
NS=$TOPO_PREFIX-one
IFC=wlp0
DPID=""
cleanup() {
	[ -n "$DPID" ] && { kill "$DPID" 2>/dev/null; wait "$DPID" 2>/dev/null; }
	topo_cleanup
	rm -rf "/etc/netns/$NS"
}
trap cleanup EXIT
topo_ns "$NS"
# A name only this namespace's processes resolve: ip netns exec mounts
# /etc/netns/NS/hosts over /etc/hosts for them.
mkdir -p "/etc/netns/$NS"
printf '127.0.0.1 localhost\n192.0.2.7 peer2.%s.test\n' "$NS" >"/etc/netns/$NS/hosts"
topo_wg_up "$NS" "$IFC" 10.98.0.1 || { fail setup "wireguard-go did not start"; finish; }
CFG=$TOPO_DIR/cfg
mkdir -p "$CFG"
PEER=$(wg genkey | wg pubkey)
run() { ip netns exec "$NS" env WIRELINK_CONFIG_PATH="$CFG" "$WL_BIN" --iface "$IFC" "$@"; }

# A bad value: exit 2, and the message names the file, the key and the value.
cat >"$CFG/wirelink.$IFC.yaml" <<YAML
Peers:
  - PublicKey: $PEER
    Trust: Membershipp
YAML
out=$(run --check-config 2>&1); rc=$?
check bad-config-exit-2 test "$rc" -eq 2
check bad-config-names-file-key-value sh -c "echo '$out' | grep -q 'wirelink.$IFC.yaml' && echo '$out' | grep -q 'Trust' && echo '$out' | grep -q 'Membershipp'"
out=$(run 2>&1); rc=$?
check bad-config-daemon-refuses-to-start test "$rc" -eq 2

# A good file: --check-config and --dump.
cat >"$CFG/wirelink.$IFC.yaml" <<YAML
Peers:
  - PublicKey: $PEER
    Name: first
    Trust: Endpoint
YAML
check check-config-ok run --check-config
check dump-shows-peer sh -c "$(declare -f run); NS=$NS CFG=$CFG WL_BIN=$WL_BIN IFC=$IFC; run --dump | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"Peers\"][0][\"Name\"] == \"first\", d'"

# Start on the new interface: binds at once, adds the auto address.
log=$TOPO_DIR/daemon.log
ip netns exec "$NS" env WIRELINK_CONFIG_PATH="$CFG" "$WL_BIN" --iface "$IFC" --debug >"$log" 2>&1 &
DPID=$!
auto=$("$WL_BIN" autoaddr "$(topo_pub "$IFC")")
if wait_for 20 grep -q 'listening on' "$log"; then pass starts-and-binds; else fail starts-and-binds "$(tail -n 5 "$log" | tr '\n' ' ')"; fi
check auto-address-present sh -c "ip -n $NS -6 addr show dev $IFC | grep -q '$auto/64'"
check auto-address-not-tentative sh -c "! ip -n $NS -6 addr show dev $IFC | grep '$auto/64' | grep -q tentative"
# The configured peer is added to the device with its auto address.
peer_auto=$("$WL_BIN" autoaddr "$PEER")
if wait_for 20 sh -c "wg show $IFC allowed-ips | grep '$PEER' | grep -q '$peer_auto/128'"; then
	pass configured-peer-added
else
	fail configured-peer-added "$(wg show "$IFC" allowed-ips | tr '\n' ' ')"
fi

# The sandbox, as the kernel shows it: CAP_NET_ADMIN (bit 12) alone,
# no_new_privs, a seccomp filter.
status=$(cat "/proc/$DPID/status" 2>/dev/null)
check sandbox-only-cap-net-admin sh -c "echo '$status' | grep -qx 'CapEff:	0000000000001000' && echo '$status' | grep -qx 'CapPrm:	0000000000001000' && echo '$status' | grep -qx 'CapAmb:	0000000000000000'"
check sandbox-no-new-privs sh -c "echo '$status' | grep -qx 'NoNewPrivs:	1'"
check sandbox-seccomp-filter sh -c "echo '$status' | grep -qx 'Seccomp:	2'"

# SIGUSR1: facts and peer states in the log.
kill -USR1 "$DPID"
if wait_for 10 grep -q '^facts (' "$log" && grep -q '^peers (' "$log"; then pass sigusr1-dump; else fail sigusr1-dump "no dump in the log"; fi

# SIGHUP with a broken file: refused, old config kept, still running.
echo "Peers: [ {PublicKey: notakey} ]" >"$CFG/wirelink.$IFC.yaml"
kill -HUP "$DPID"
if wait_for 10 grep -q 'reload failed, keeping the running configuration' "$log" && kill -0 "$DPID"; then
	pass sighup-bad-config-kept
else
	fail sighup-bad-config-kept "$(tail -n 3 "$log" | tr '\n' ' ')"
fi
# SIGHUP with inputs that are not plainly a config file (issue 10): each
# reload is refused and the daemon goes on. A FIFO used to block the one
# thread in open() until a writer came: after its refusal the daemon must
# still answer SIGUSR1 (handled by the same loop).
hup_refused() { # NAME TEXT: SIGHUP, then the refusal naming TEXT is logged
	local before
	before=$(grep -c 'reload failed, keeping the running configuration' "$log")
	kill -HUP "$DPID"
	if wait_for 10 sh -c "[ \$(grep -c 'reload failed, keeping the running configuration' '$log') -gt $before ]" &&
		grep 'reload failed, keeping the running configuration' "$log" | tail -n 1 | grep -qF "$2" &&
		kill -0 "$DPID"; then
		pass "$1"
	else
		fail "$1" "$(tail -n 3 "$log" | tr '\n' ' ')"
	fi
}
F=$CFG/wirelink.$IFC.yaml
rm -f "$F"; mkfifo "$F"
hup_refused sighup-fifo-refused "$F: a FIFO (named pipe), not a regular file"
dumps=$(grep -c '^facts (' "$log")
kill -USR1 "$DPID"
if wait_for 10 sh -c "[ \$(grep -c '^facts (' '$log') -gt $dumps ]"; then pass sighup-fifo-loop-alive; else fail sighup-fifo-loop-alive "no SIGUSR1 dump after the FIFO"; fi
# A daemon stuck in open() (the old behaviour) is released by a writer that
# opens and closes the FIFO, so the rest of the suite still runs; with no
# reader there, the open fails at once and this does nothing.
python3 -c 'import os, sys
try: os.close(os.open(sys.argv[1], os.O_WRONLY | os.O_NONBLOCK))
except OSError: pass' "$F"
rm -f "$F"; ln -s "$CFG/moved-away.yaml" "$F"
hup_refused sighup-dangling-symlink-refused "$F: dangling symbolic link to $CFG/moved-away.yaml"
rm -f "$F"; printf 'Peers:\n  - PublicKey: %s\n' "$PEER" >"$F"
mv "$CFG" "$CFG.away"
hup_refused sighup-missing-config-path-refused "WIRELINK_CONFIG_PATH: \"$CFG\" does not exist"
mv "$CFG.away" "$CFG"
printf '{"Router": true}\0garbage' >"$CFG/wirelink.$IFC.json"; rm -f "$F"
hup_refused sighup-nul-byte-refused "wirelink.$IFC.json:1:17: a NUL byte at byte offset 16"
rm -f "$CFG/wirelink.$IFC.json"
printf 'Peers:\n  - PublicKey: %s\n  - PublicKey: %s\n' "$PEER" "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=" >"$F"
hup_refused sighup-zero-key-refused "Peers[1].PublicKey: \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\" is the all-zero key"
# None of them took effect.
check sighup-refused-none-applied sh -c "! grep -q 'configuration reloaded' '$log'"

# SIGHUP with a good new file: applied.
PEER2=$(wg genkey | wg pubkey)
printf 'Peers:\n  - PublicKey: %s\n  - PublicKey: %s\n    Endpoints: [peer2.%s.test:51999]\n' \
	"$PEER" "$PEER2" "$NS" >"$CFG/wirelink.$IFC.yaml"
kill -HUP "$DPID"
if wait_for 10 grep -q 'configuration reloaded (2 configured peers)' "$log" &&
	wait_for 20 sh -c "wg show $IFC peers | grep -q '$PEER2'"; then
	pass sighup-reload-applies
else
	fail sighup-reload-applies "$(tail -n 3 "$log" | tr '\n' ' ')"
fi
# Its endpoint's name resolved inside the sandbox (getaddrinfo, NSS).
if wait_for 40 sh -c "wg show $IFC endpoints | grep '$PEER2' | grep -q '192.0.2.7:51999'"; then
	pass sandbox-dns-name-resolved
else
	fail sandbox-dns-name-resolved "$(wg show "$IFC" endpoints | tr '\n' ' '); $(grep -E 'seccomp|resolv' "$log" | tail -n 3 | tr '\n' ' ')"
fi
check sandbox-no-seccomp-kill sh -c "! grep -q 'wirelink: seccomp:' '$log'"

# SIGTERM: clean exit 0, no sanitizer report.
kill -TERM "$DPID"; wait "$DPID"; rc=$?; DPID=""
check sigterm-exit-0 test "$rc" -eq 0
check sanitizers-clean sh -c "! grep -qE 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' '$log'"

# Start-up races duplicate address detection: on a fresh interface each
# time, the daemon must come up (the original crashed here more than half
# of the time). Ten fresh interfaces, ten clean starts.
ok=0
for i in $(seq 10); do
	ifc=wlpd$i
	topo_wg_up "$NS" "$ifc" "10.97.$i.1" >/dev/null 2>&1 || continue
	l=$TOPO_DIR/dad$i.log
	ip netns exec "$NS" env WIRELINK_CONFIG_PATH="$CFG" "$WL_BIN" --iface "$ifc" >"$l" 2>&1 &
	p=$!
	if wait_for 10 grep -q 'listening on' "$l" && kill -0 "$p"; then ok=$((ok + 1)); fi
	kill "$p"; wait "$p"
	ip -n "$NS" link del "$ifc"
done
check fresh-interface-start-10-of-10 test "$ok" -eq 10

# Sandbox false (to debug a seccomp exit): said so, and nothing applied.
ifc=wlpns
if topo_wg_up "$NS" "$ifc" 10.96.0.1 >/dev/null 2>&1; then
	l=$TOPO_DIR/nosandbox.log
	ip netns exec "$NS" env WIRELINK_CONFIG_PATH="$CFG" WIRELINK_SANDBOX=false "$WL_BIN" --iface "$ifc" >"$l" 2>&1 &
	p=$!
	if wait_for 10 grep -q 'listening on' "$l" && grep -q 'sandbox off' "$l" &&
		grep -qx 'Seccomp:	0' "/proc/$p/status" && grep -qx 'NoNewPrivs:	0' "/proc/$p/status"; then
		pass sandbox-false-runs-without
	else
		fail sandbox-false-runs-without "$(tail -n 3 "$l" | tr '\n' ' '); $(grep -E 'Seccomp:|NoNewPrivs' "/proc/$p/status" | tr '\n' ' ')"
	fi
	kill "$p"; wait "$p"
	ip -n "$NS" link del "$ifc"
else
	fail sandbox-false-runs-without "wireguard-go $ifc did not start"
fi
finish
