#!/usr/bin/env bash
# Port mapping end to end, with the real daemon, real wireguard-go, real
# NATs and a real mapping server: Debian's miniupnpd (NAT-PMP/PCP and
# UPnP-IGD) in the NAT of leaf A. A sits behind a symmetric NAT
# (masquerade fully-random), B behind a home NAT; without a mapping the two
# cannot reach each other directly. (tests/netns/portmap_topo.sh)
#
#   pcp     A gets a mapping by PCP, advertises it, B's WireGuard handshakes
#           with A at the mapped endpoint and their traffic is not relayed
#           by the hub; SIGTERM removes the mapping from the NAT.
#   natpmp  the NAT drops PCP datagrams: A falls back to NAT-PMP.
#   upnp    the NAT refuses port 5351 altogether: A goes to UPnP-IGD.
#   none    no miniupnpd: A stays on the hub, logs no mapping line, and its
#           endpoint for B changes no more often than the engine's cycling.
set -u
WL_TOP=${WL_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$WL_TOP/tests/cli/lib.sh"
. "$WL_TOP/tests/netns/topo.sh"
. "$WL_TOP/tests/netns/portmap_topo.sh"
[ "$(id -u)" -eq 0 ] || { echo "SKIP: $suite: needs root for network namespaces"; exit 0; }
command -v wireguard-go >/dev/null || { echo "FAIL: $suite: wireguard-go is not installed"; exit 1; }
[ -x "$PM_MINIUPNPD" ] || { echo "FAIL: $suite: miniupnpd is not installed (scripts/deps.sh test)"; exit 1; }

PREFIX=wlm$(($$ % 100000))
cleanup() { pm_stop_daemons; topo_cleanup; }
trap cleanup EXIT

A_LOG="" B_LOG=""
mapping_lines() { grep -E 'port mapping (granted|changed|lost|refused)' "$1"; }
logs_tail() { echo "A: $(grep -E 'port mapping|trying endpoint' "$A_LOG" | tail -n 6 | tr '\n' '|') B: $(tail -n 3 "$B_LOG" | tr '\n' '|')"; }

# setup KIND: the topology, with miniupnpd for every kind but none; A, B
# and the hub running. Sets T0 (unix seconds) and A_PID.
setup() {
	local kind=$1
	pm_topology "$PREFIX" || { fail "$kind-topology" "could not build the namespaces"; return 1; }
	if [ "$kind" != none ]; then
		pm_stun
		pm_miniupnpd || { fail "$kind-miniupnpd" "$(tail -n 5 "$TOPO_DIR/miniupnpd.log" | tr '\n' ' ')"; return 1; }
	fi
	case "$kind" in
	natpmp) # PCP requests (version 2) vanish; NAT-PMP ones (version 0) pass
		ip netns exec "$NATA" nft add rule inet pmnat inbound udp dport 5351 @th,64,8 2 drop ;;
	upnp) # nothing on 5351: an ICMP port unreachable for either protocol
		ip netns exec "$NATA" nft insert rule inet pmnat inbound udp dport 5351 reject ;;
	esac
	A_LOG=$TOPO_DIR/a.log B_LOG=$TOPO_DIR/b.log
	T0=$(date +%s)
	pm_start_daemon "$HUB" "$WG_HUB" "$TOPO_DIR/hub.log"
	pm_start_daemon "$LEAFA" "$WG_A" "$A_LOG"; A_PID=$PM_LAST_PID
	pm_start_daemon "$LEAFB" "$WG_B" "$B_LOG"
}

sanitizers_clean() {
	if grep -lE 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' "$TOPO_DIR"/*.log >/dev/null 2>&1; then
		fail "$1-sanitizers-clean" "$(grep -hE 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' "$TOPO_DIR"/*.log | head -n 3)"
	else
		pass "$1-sanitizers-clean"
	fi
}

# mapped KIND PROTO-NAME: A gets a mapping by PROTO-NAME and the leaves go
# direct through it.
mapped() {
	local kind=$1 proto=$2 ext
	setup "$kind" || { cleanup; return; }
	if wait_for 30 grep -q "port mapping granted by 10.1.0.1 ($proto): 203.0.113.2:" "$A_LOG"; then
		pass "$kind-granted-by-$proto"
	else
		fail "$kind-granted-by-$proto" "$(logs_tail)"
		cleanup; return
	fi
	ext=$(pm_mapped_endpoint "$A_LOG")
	# miniupnpd's redirection is in the NAT: ext port -> 10.1.0.2:51820
	check "$kind-redirection-in-nat" sh -c "ip netns exec $NATA nft list chain inet pmnat prerouting_miniupnpd | grep -q 'dport ${ext#*:} dnat ip to 10.1.0.2:51820'"
	# B handshakes with A at the mapped endpoint; A sees B at its home NAT
	# (at whatever port that NAT gave the flow).
	if wait_for 60 pm_direct "$WG_B" "$WG_A" "$ext" "$T0" &&
		wait_for 30 pm_direct "$WG_A" "$WG_B" '203.0.113.3:*' "$T0"; then
		pass "$kind-direct-at-mapped-endpoint"
	else
		fail "$kind-direct-at-mapped-endpoint" "mapped $ext; A: $(wg show "$WG_A" dump | tr '\n' ' ') B: $(wg show "$WG_B" dump | tr '\n' ' ') $(logs_tail)"
	fi
	if wait_for 30 pm_has_allowed "$WG_A" "$WG_B" 10.99.0.3/32 && wait_for 30 pm_has_allowed "$WG_B" "$WG_A" 10.99.0.2/32; then
		pass "$kind-allowed-ips-direct"
	else
		fail "$kind-allowed-ips-direct" "$(wg show "$WG_A" allowed-ips | tr '\n' ' ')"
	fi
	# Traffic between the leaves flows directly: the hub relays none of it.
	local hub_rx_a hub_rx_b a_tx relayed sent
	hub_rx_a=$(pm_transfer "$WG_HUB" "$WG_A" 2) hub_rx_b=$(pm_transfer "$WG_HUB" "$WG_B" 2)
	a_tx=$(pm_transfer "$WG_A" "$WG_B" 3)
	check "$kind-ping-a-to-b" ip netns exec "$LEAFA" ping -q -c 20 -i 0.05 -s 1000 -W 2 10.99.0.3
	relayed=$(( $(pm_transfer "$WG_HUB" "$WG_A" 2) - hub_rx_a + $(pm_transfer "$WG_HUB" "$WG_B" 2) - hub_rx_b ))
	sent=$(( $(pm_transfer "$WG_A" "$WG_B" 3) - a_tx ))
	if [ "$sent" -ge 20000 ] && [ "$relayed" -lt 10000 ]; then
		pass "$kind-not-relayed"
	else
		fail "$kind-not-relayed" "sent directly $sent bytes, hub received $relayed bytes meanwhile"
	fi
	# B got no mapping (nothing to ask) and logged none.
	check "$kind-b-no-mapping-lines" sh -c "! grep -qE 'port mapping (granted|changed|lost|refused)' '$B_LOG'"
	# SIGTERM: A exits cleanly and the NAT no longer redirects the port.
	kill -TERM "$A_PID"; wait "$A_PID"; local rc=$?
	check "$kind-sigterm-clean-exit" test "$rc" -eq 0
	check "$kind-mapping-removed-logged" grep -q "port mapping $ext removed ($proto)" "$A_LOG"
	if wait_for 10 sh -c "! ip netns exec $NATA nft list chain inet pmnat prerouting_miniupnpd | grep -q 'dnat ip to 10.1.0.2:51820'"; then
		pass "$kind-mapping-removed-from-nat"
	else
		fail "$kind-mapping-removed-from-nat" "$(ip netns exec "$NATA" nft list chain inet pmnat prerouting_miniupnpd | tr '\n' ' ')"
	fi
	sanitizers_clean "$kind"
	cleanup
}

# Without a mapping server: no direct link, no mapping lines, no flapping.
none() {
	setup none || { cleanup; return; }
	# Watch for 50 s: long enough for the engine to cycle through B's
	# endpoint candidates several times: never tried ones 2 s apart, then
	# one tried before after 5 s, 10 s, 20 s, 40 s (a peer that never
	# answers is tried less and less often, up to once a minute).
	local watch=50 changes prev cur i tries w0 w1
	changes=0 prev="" w0=$(date +%s.%N)
	for i in $(seq $((watch * 5))); do
		cur=$(wg show "$WG_A" endpoints 2>/dev/null | awk -v k="$(topo_pub "$WG_B")" '$1 == k {print $2}')
		if [ -n "$cur" ] && [ "$cur" != "$prev" ]; then
			[ -n "$prev" ] && changes=$((changes + 1))
			prev=$cur
		fi
		sleep 0.2
	done
	w1=$(date +%s.%N)
	check none-no-mapping-lines sh -c "! grep -qE 'port mapping (granted|changed|lost|refused)' '$A_LOG'"
	check none-a-asked-its-gateway grep -q 'port mapping: asking 10.1.0.1 for UDP port 51820' "$A_LOG"
	# Still through the hub: no handshake with B at any address.
	local hs
	hs=$(wg show "$WG_A" latest-handshakes | awk -v k="$(topo_pub "$WG_B")" '$1 == k {print $2}')
	if [ -z "$hs" ] || [ "$hs" -lt "$T0" ]; then
		pass none-stays-on-hub
	else
		fail none-stays-on-hub "A has a handshake with B at $(wg show "$WG_A" endpoints | tr '\n' ' ')"
	fi
	check none-hub-still-carries-traffic ip netns exec "$LEAFA" ping -q -c 3 -W 2 10.99.0.3
	# The endpoint changes only at the engine's candidate cycling, which
	# backs off (above): from the start, at most a try per candidate (B
	# has three: LAN, NAT, the hub's view of it) plus the retries at 5,
	# 15, 35 s and (at most) 75 s after those; never a flap. Counted in
	# the watch only: the pings after it are traffic, which retries sooner.
	tries=$(grep "peer $(topo_pub "$WG_B" | cut -c1-8).*trying endpoint" "$A_LOG" |
		awk -v a="$w0" -v b="$w1" '{ t = substr($1, 2) + 0 } t >= a && t <= b { n++ } END { print n + 0 }')
	if [ "$changes" -le 7 ] && [ "$tries" -le 7 ]; then
		pass none-no-flapping
	else
		fail none-no-flapping "$changes endpoint changes and $tries tries in $watch s"
	fi
	sanitizers_clean none
	cleanup
}

mapped pcp PCP
mapped natpmp NAT-PMP
mapped upnp UPnP-IGD
none
finish
