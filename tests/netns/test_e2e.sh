#!/usr/bin/env bash
# End to end with the real daemon, real wireguard-go and real NAT: a hub and
# two leaves (public addresses, then behind two NATs). The leaves must become
# peers of each other with handshakes on each other's direct addresses,
# route their traffic directly (the hub's counters prove it is not relayed),
# survive a daemon restart, shrug off garbage datagrams, stop cleanly, and
# exit non-zero when their WireGuard link disappears.
set -u
WL_TOP=${WL_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$WL_TOP/tests/cli/lib.sh"
. "$WL_TOP/tests/netns/topo.sh"
[ "$(id -u)" -eq 0 ] || { echo "SKIP: $suite: needs root for network namespaces"; exit 0; }
command -v wireguard-go >/dev/null || { echo "FAIL: $suite: wireguard-go is not installed"; exit 1; }

DAEMONS=()
stop_all() {
	local p
	for p in "${DAEMONS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${DAEMONS[@]}"; do wait "$p" 2>/dev/null; done
	DAEMONS=()
	[ -n "${NOTIFY_PID:-}" ] && kill "$NOTIFY_PID" 2>/dev/null
	topo_cleanup
}
trap stop_all EXIT

# start_daemon NS IFACE LOG [env...]: sets $LAST_PID.
start_daemon() {
	local ns=$1 ifc=$2 log=$3; shift 3
	ip netns exec "$ns" env WIRELINK_CONFIG_PATH="$TOPO_DIR" "$@" "$WL_BIN" --iface "$ifc" --debug >"$log" 2>&1 &
	LAST_PID=$!
	DAEMONS+=("$LAST_PID")
}

# direct IFACE PEER-IFACE ENDPOINT SINCE: IFACE has the peer, at ENDPOINT, with
# a handshake at or after SINCE (unix seconds).
direct() {
	local pub line
	pub=$(topo_pub "$2")
	line=$(wg show "$1" dump | awk -v k="$pub" '$1 == k')
	[ -n "$line" ] || return 1
	[ "$(echo "$line" | cut -f3)" = "$3" ] && [ "$(echo "$line" | cut -f5)" -ge "$4" ]
}
has_allowed() { wg show "$1" allowed-ips | awk -v k="$(topo_pub "$2")" '$1 == k' | grep -qw "$3"; }
transfer() { wg show "$1" transfer | awk -v k="$(topo_pub "$2")" '$1 == k {print $'"$3"'}'; }
# more_stats LOG N: the log holds more than N dump "stats:" lines (a
# function, so wait_for counts again each time it asks).
more_stats() { [ "$(grep -c '^stats:' "$1")" -gt "$2" ]; }
dump_stat() { # pid log key: SIGUSR1 the daemon, read one counter from its dump
	local before
	before=$(grep -c '^stats:' "$2")
	kill -USR1 "$1"
	wait_for 10 more_stats "$2" "$before" || return 1
	grep '^stats:' "$2" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$3=//p"
}

scenario() { # public|nat
	local kind=$1 t0 pa pb
	topo_init "wle$kind"
	topo_"$kind" && topo_wireguard || { fail "$kind-topology" "could not build the namespaces"; return; }
	local A_EP=203.0.113.2:51820 B_EP=203.0.113.3:51820
	t0=$(date +%s)
	local notify_log=$TOPO_DIR/notify.log
	python3 - "$TOPO_DIR/notify.sock" "$notify_log" <<-'PY' &
	import socket, sys
	s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
	s.bind(sys.argv[1])
	with open(sys.argv[2], "a", buffering=1) as log:
	    while True:
	        log.write(s.recv(4096).decode() + "\n")
	PY
	NOTIFY_PID=$!
	wait_for 10 test -S "$TOPO_DIR/notify.sock"
	start_daemon "$HUB" "$WG_HUB" "$TOPO_DIR/hub.log" NOTIFY_SOCKET="$TOPO_DIR/notify.sock"
	local hub_pid=$LAST_PID
	start_daemon "$LEAFA" "$WG_A" "$TOPO_DIR/a.log"; pa=$LAST_PID
	start_daemon "$LEAFB" "$WG_B" "$TOPO_DIR/b.log"; pb=$LAST_PID

	if wait_for 90 direct "$WG_A" "$WG_B" "$B_EP" "$t0" && wait_for 30 direct "$WG_B" "$WG_A" "$A_EP" "$t0"; then
		pass "$kind-leaves-direct"
	else
		fail "$kind-leaves-direct" "A: $(wg show "$WG_A" dump | tr '\n' ' ') B: $(wg show "$WG_B" dump | tr '\n' ' ')"
	fi
	if wait_for 30 has_allowed "$WG_A" "$WG_B" 10.99.0.3/32 && wait_for 30 has_allowed "$WG_B" "$WG_A" 10.99.0.2/32; then
		pass "$kind-allowed-ips-direct"
	else
		fail "$kind-allowed-ips-direct" "$(wg show "$WG_A" allowed-ips | tr '\n' ' ')"
	fi
	check "$kind-systemd-ready" grep -qx 'READY=1' "$notify_log"
	check "$kind-systemd-status" grep -q '^STATUS=2 peers' "$notify_log"

	# Traffic between the leaves flows directly: the hub relays none of it.
	local hub_rx_a hub_rx_b a_tx
	hub_rx_a=$(transfer "$WG_HUB" "$WG_A" 2) hub_rx_b=$(transfer "$WG_HUB" "$WG_B" 2)
	a_tx=$(transfer "$WG_A" "$WG_B" 3)
	if ip netns exec "$LEAFA" ping -q -c 20 -i 0.05 -s 1000 -W 2 10.99.0.3 >/dev/null; then
		pass "$kind-ping-a-to-b"
	else
		fail "$kind-ping-a-to-b" "no reply from 10.99.0.3"
	fi
	local relayed=$(( $(transfer "$WG_HUB" "$WG_A" 2) - hub_rx_a + $(transfer "$WG_HUB" "$WG_B" 2) - hub_rx_b ))
	local sent=$(( $(transfer "$WG_A" "$WG_B" 3) - a_tx ))
	# 20 pings of 1000 bytes: over 20 kB if relayed; gossip is far less.
	if [ "$sent" -ge 20000 ] && [ "$relayed" -lt 10000 ]; then
		pass "$kind-not-relayed"
	else
		fail "$kind-not-relayed" "sent directly $sent bytes, hub received $relayed bytes meanwhile"
	fi

	# A garbage datagram to A's wirelink port, from inside the tunnel: dropped,
	# counted, and the daemon carries on.
	local a_addr parse_before parse_after
	a_addr=$("$WL_BIN" autoaddr "$(topo_pub "$WG_A")")
	parse_before=$(dump_stat "$pa" "$TOPO_DIR/a.log" parse)
	# From the hub's auto address: the only source A's WireGuard accepts
	# from the hub inside the tunnel.
	local hub_addr
	hub_addr=$("$WL_BIN" autoaddr "$(topo_pub "$WG_HUB")")
	ip netns exec "$HUB" python3 -c "
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
idx = socket.if_nametoindex('$WG_HUB')
s.bind(('$hub_addr', 0, 0, idx))
for junk in (b'garbage', b'S' + bytes(10), bytes(range(256)) * 9):
    s.sendto(junk, ('$a_addr', 51821, 0, idx))"
	sleep 1
	parse_after=$(dump_stat "$pa" "$TOPO_DIR/a.log" parse)
	if kill -0 "$pa" 2>/dev/null && [ -n "$parse_after" ] && [ "$parse_after" -ge $(( ${parse_before:-0} + 3 )) ]; then
		pass "$kind-garbage-dropped-and-counted"
	else
		fail "$kind-garbage-dropped-and-counted" "parse drops before ${parse_before:-?} after ${parse_after:-?}, alive: $(kill -0 "$pa" 2>/dev/null && echo yes || echo no)"
	fi

	# A killed and restarted daemon recovers: B sees its new boot id and
	# A hears B again; the leaves stay direct.
	kill -9 "$pa"; wait "$pa" 2>/dev/null
	start_daemon "$LEAFA" "$WG_A" "$TOPO_DIR/a2.log"; pa=$LAST_PID
	local bootid
	wait_for 20 grep -q 'new boot id' "$TOPO_DIR/a2.log"
	bootid=$(sed -n 's/.*new boot id \([0-9a-f]*\).*/\1/p' "$TOPO_DIR/a2.log" | head -n 1)
	if [ -n "$bootid" ] && wait_for 60 grep -q "has boot id $bootid" "$TOPO_DIR/b.log" \
		&& wait_for 60 grep -q "peer $(topo_pub "$WG_B" | cut -c1-8) is alive" "$TOPO_DIR/a2.log" \
		&& ip netns exec "$LEAFA" ping -q -c 3 -W 2 10.99.0.3 >/dev/null; then
		pass "$kind-restart-recovers"
	else
		fail "$kind-restart-recovers" "boot id '$bootid'; restarted log: $(tail -n 5 "$TOPO_DIR/a2.log" | tr '\n' ' ')"
	fi

	# SIGTERM: a clean stop with status 0.
	kill -TERM "$hub_pid"; wait "$hub_pid"; local rc=$?
	check "$kind-sigterm-clean-exit" test "$rc" -eq 0
	# The WireGuard link of B disappears: its daemon exits non-zero.
	ip -n "$LEAFB" link del "$WG_B"
	if wait_for 20 sh -c "! kill -0 $pb 2>/dev/null"; then
		wait "$pb"; rc=$?
		if [ "$rc" -ne 0 ]; then pass "$kind-link-gone-exits-nonzero"; else fail "$kind-link-gone-exits-nonzero" "exit status 0"; fi
	else
		fail "$kind-link-gone-exits-nonzero" "still running 20 s after its link was deleted"
	fi
	# Sanitizers (this is the ASan+UBSan binary) found nothing in any log.
	if grep -lE 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' "$TOPO_DIR"/*.log >/dev/null 2>&1; then
		fail "$kind-sanitizers-clean" "$(grep -hE 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' "$TOPO_DIR"/*.log | head -n 3)"
	else
		pass "$kind-sanitizers-clean"
	fi
	stop_all
}

scenario public
scenario nat
finish
