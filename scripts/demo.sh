#!/usr/bin/env bash
# The wirelink demo: a WireGuard hub and two leaves behind two NATs, in
# network namespaces on this machine, with real wireguard-go. wirelink runs
# beside each interface; watch the leaves learn each other through the hub
# and go direct. Cleans everything up at the end, or on Ctrl-C.
# Needs root (namespaces). Installs what is missing and builds first.
set -eu
cd "$(dirname "$0")/.."
[ "$(id -u)" -eq 0 ] || { echo "demo: run as root (it creates network namespaces)" >&2; exit 2; }
bash scripts/deps.sh demo
bash scripts/build.sh release
BIN=$PWD/build/wirelink
set +e
. tests/netns/topo.sh

DAEMONS=() READERS=()
cleanup() {
	trap - EXIT INT TERM
	local p
	for p in "${DAEMONS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${READERS[@]}"; do wait "$p" 2>/dev/null; done
	topo_cleanup
	echo "demo: cleaned up (namespaces and processes removed)"
}
trap cleanup EXIT
trap 'echo; echo "demo: interrupted"; exit 130' INT TERM

t0=$EPOCHREALTIME
say() { awk -v now="$EPOCHREALTIME" -v t0="$t0" -v msg="$*" 'BEGIN { printf "%6.1fs  %s\n", now - t0, msg }'; }

topo_init "wldemo"
echo "Building the network (namespaces $TOPO_PREFIX-*):"
echo "  hub     203.0.113.1   tunnel 10.99.0.1   (WireGuard hub, the only configured peer of each leaf)"
echo "  leaf A  10.1.0.2 behind NAT 203.0.113.2   tunnel 10.99.0.2"
echo "  leaf B  10.2.0.2 behind NAT 203.0.113.3   tunnel 10.99.0.3"
topo_nat && topo_wireguard || { echo "demo: could not build the network" >&2; exit 1; }
ip netns exec "$LEAFA" ping -q -c 1 -W 2 10.99.0.3 >/dev/null &&
	echo "Before wirelink: leaf A reaches leaf B only through the hub (relayed)."
# So that "before direct" lasts long enough to be seen, UDP between the
# two NATs is blocked at first (as a strict firewall would), and let
# through once leaf A's `wirelink show` has said why it is not direct.
topo_cut 203.0.113.2 203.0.113.3
echo
t0=$EPOCHREALTIME
say "starting wirelink on the hub and both leaves (UDP between the two NATs blocked for now)"
for who in hub:"$HUB":"$WG_HUB" A:"$LEAFA":"$WG_A" B:"$LEAFB":"$WG_B"; do
	IFS=: read -r name ns ifc <<<"$who"
	# Each daemon's log lines are shown as they come, tagged with its node;
	# the reader ends by itself when the daemon exits.
	( echo "$BASHPID" >"$TOPO_DIR/$name.pid"
	  exec ip netns exec "$ns" env WIRELINK_CONFIG_PATH="$TOPO_DIR" "$BIN" --iface "$ifc" 2>&1 ) |
		while IFS= read -r line; do say "[$name] ${line#*: }"; done &
	READERS+=($!)
	wait_for 5 test -s "$TOPO_DIR/$name.pid"
	DAEMONS+=("$(cat "$TOPO_DIR/$name.pid")")
done

# show_a: leaf A's `wirelink show`, indented.
show_a() { "$BIN" show "$WG_A" 2>&1 | sed 's/^/    /'; }
# has_reason: A's table has a why line for B that names a candidate.
has_reason() { "$BIN" show "$WG_A" 2>/dev/null | grep -Eq 'why: (trying candidate|all [0-9]+ candidates failed)'; }
wait_for 60 has_reason
say "leaf A, before going direct (wirelink show $WG_A):"
show_a
topo_uncut
say "UDP between the NATs let through"

direct() { # iface peer-iface endpoint
	wg show "$1" dump | awk -v k="$(topo_pub "$2")" -v ep="$3" '$1 == k && $3 == ep && $5 > 0 {f=1} END {exit !f}' &&
		wg show "$1" allowed-ips | awk -v k="$(topo_pub "$2")" '$1 == k' | grep -q '10\.99\.'
}
for i in $(seq 600); do
	direct "$WG_A" "$WG_B" 203.0.113.3:51820 && direct "$WG_B" "$WG_A" 203.0.113.2:51820 && break
	sleep 0.2
done
if ! direct "$WG_A" "$WG_B" 203.0.113.3:51820; then
	say "the leaves did not go direct within 120 s"
	exit 1
fi
say "leaf A <-> leaf B: direct, through both NATs (A sends to 203.0.113.3:51820, B to 203.0.113.2:51820)"
say "leaf A, now direct (wirelink show $WG_A):"
show_a
hub_before=$(wg show "$WG_HUB" transfer | awk '{s += $2} END {print s}')
ip netns exec "$LEAFA" ping -q -c 10 -i 0.1 -s 1000 10.99.0.3 >/dev/null
hub_after=$(wg show "$WG_HUB" transfer | awk '{s += $2} END {print s}')
say "ping leaf A -> leaf B (10 x 1000 bytes): ok; the hub received $((hub_after - hub_before)) bytes meanwhile (not relayed)"
sleep 1
echo
echo "leaf A's WireGuard device now:"
wg show "$WG_A" | sed 's/^/  /'
