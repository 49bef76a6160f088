# Network-namespace topologies for end-to-end tests, benchmarks and the
# demo: a WireGuard hub and leaves with real WireGuard interfaces (wireguard-go,
# or wireguard.ko inside the test VM) and nftables NAT, plus the events that
# break and heal paths. Source this file.
#
# Names and setup
#   topo_init PREFIX     names: namespaces PREFIX-{wan,hub,hubr,nata,natb,a,b},
#                        PREFIX-l1..PREFIX-lN (mesh); WireGuard interfaces
#                        PREFIXh, PREFIXa, PREFIXb, PREFIX1..PREFIXN
#                        (PREFIX: at most 8 characters, unique on the machine)
#   topo_public          hub 203.0.113.1, leaf A 203.0.113.2, leaf B 203.0.113.3
#   topo_nat             hub 203.0.113.1; leaf A 10.1.0.2 behind NAT 203.0.113.2,
#                        leaf B 10.2.0.2 behind NAT 203.0.113.3 (port-preserving
#                        masquerade, unsolicited inbound dropped)
#   topo_lan             hub 203.0.113.1; leaves A 10.1.0.2 and B 10.1.0.3 on one
#                        LAN behind one NAT 203.0.113.2 (namespace PREFIX-nata);
#                        the NAT does not hairpin: a packet from the LAN to
#                        its own public address is not sent back in
#   topo_public6         IPv6-only underlay: hub 2001:db8::1, A 2001:db8::2,
#                        B 2001:db8::3 (no IPv4 address on any underlay link)
#   topo_hubfwd          the hub behind a home router's port forward: router
#                        PREFIX-hubr at 203.0.113.1 forwards UDP 51820 to the
#                        hub at 10.3.0.2 (its only addresses are LAN ones);
#                        leaves behind NATs as in topo_nat
#   topo_mesh N          hub 203.0.113.1 and N public leaves 203.0.113.(10+i)
#                        in PREFIX-li; fills MESH_NS, MESH_WG, MESH_EP, MESH_TUN
#                        (index 1..N; tunnel 10.99.0.(1+i)); N <= 40
#   topo_wireguard       WireGuard on hub/a/b: tunnel 10.99.0.{1,2,3}/24,
#                        leaves know only the hub (endpoint $TOPO_HUB_EP,
#                        AllowedIPs 10.99.0.0/24), the hub knows both leaves
#   topo_mesh_wireguard  the same for the hub and the N mesh leaves
#   After a topology: EP_A, EP_B hold the leaves' direct endpoints (what the
#   other leaf should reach them at), TOPO_HUB_EP the hub's configured one.
#
# WireGuard backend: TOPO_BACKEND=wireguard-go (default; the host has no
# wireguard.ko) or kernel (tests/vm/guest-e2e.sh, inside the test VM:
# interfaces made by `ip link add type wireguard`). Kernel devices are seen
# by wg(8) only inside their own namespace, so every wg call on a device
# goes through topo_wg CMD IFACE [ARGS..], which knows where IFACE lives.
#
# Events
#   topo_cut ADDR1 ADDR2   drop UDP between two public addresses (both ways)
#                          in the wan bridge; everyone still reaches the hub
#   topo_uncut             remove the cut
#   topo_cut_drops         packets the cut has dropped so far
#   topo_nat_rebind NAT    the NAT forgets its mappings (conntrack -F) and maps
#                          UDP to a new port range from now on (40000-40999,
#                          then 41000-41999, ...; TOPO_NAT_RANGE), so the
#                          leaf's public port really changes
#   topo_roam LEAF NAT ADDR  move LEAF's link from behind NAT onto the wan
#                          bridge with public address ADDR; its WireGuard
#                          interface and daemon keep running
#   topo_wg_down IFACE     stop an interface's wireguard-go, or delete the kernel
#                          device (the interface goes)
#   topo_hub_up            (re)start the hub's WireGuard with its key, port,
#                          address and leaf peers as at the start (no endpoints:
#                          what a hub's own configuration knows)
#
# Processes
#   topo_daemon BIN NS IFACE [ENV=VALUE..]  wirelink --iface IFACE in NS, no
#                          config file (full-auto), log $TOPO_DIR/IFACE.log;
#                          sets TOPO_LAST_PID
#   topo_stop_daemon IFACE
#   topo_ping NS DST LOG [ping args]  continuous ping -D -O -i 0.2 in background
#   topo_cleanup           kills what topo started (by PID) and deletes the namespaces
#
# Checks (exit status; engine-independent, read from the WireGuard device)
#   topo_direct IFACE PEER-IFACE ENDPOINT TUNNEL-IP [SINCE]  IFACE has the peer
#                          at ENDPOINT with a live session (handshake in the last
#                          180 s and, with SINCE, at or after SINCE) and
#                          TUNNEL-IP/32 in its AllowedIPs: "routed direct"
#   topo_auto_only IFACE PEER-IFACE  the peer's AllowedIPs are only its auto
#                          address (one fe80::/128): traffic to it goes via the hub
#   topo_ping_back LOG SINCE  prints the time of the first reply in LOG after a
#                          lost packet at or after SINCE (unix seconds, fraction
#                          allowed); fails if there is none yet
#
# Everything stays inside the namespaces created here; only documentation
# ranges (203.0.113.0/24, 2001:db8::/32) and 10.x are used.

TOPO_BACKEND=${TOPO_BACKEND:-wireguard-go}
TOPO_PIDS=()
TOPO_NS=()
TOPO_DIR=""
TOPO_DAEMONS=()
declare -gA TOPO_WGPID=() TOPO_DPID=() TOPO_WGNS=()

topo_init() {
	TOPO_PREFIX=$1
	TOPO_DIR=$(mktemp -d "/tmp/wl-topo-$1.XXXXXX")
	WAN=$1-wan HUB=$1-hub HUBR=$1-hubr NATA=$1-nata NATB=$1-natb LEAFA=$1-a LEAFB=$1-b
	WG_HUB=${1}h WG_A=${1}a WG_B=${1}b
	TOPO_HUB_EP=203.0.113.1:51820
	EP_A="" EP_B=""
	TOPO_LEAVES=()
	TOPO_NAT_GEN=0
	MESH_NS=() MESH_WG=() MESH_EP=() MESH_TUN=()
}

topo_ns() { # name: create a namespace with loopback up
	ip netns add "$1" || return 1
	TOPO_NS+=("$1")
	ip -n "$1" link set lo up
}

topo_veth() { # ns1 if1 ns2 if2
	ip link add "$2" netns "$1" type veth peer name "$4" netns "$3" || return 1
	ip -n "$1" link set "$2" up
	ip -n "$3" link set "$4" up
}

# The "internet": a bridge in the wan namespace every public host plugs into.
topo_wan() {
	topo_ns "$WAN"
	ip -n "$WAN" link add br0 type bridge
	ip -n "$WAN" link set br0 up
}

topo_wan_host() { # ns addr: plug ns into the wan bridge as eth0 with addr/24
	topo_veth "$1" eth0 "$WAN" "p-$1" || return 1
	ip -n "$WAN" link set "p-$1" master br0
	ip -n "$1" addr add "$2/24" dev eth0
}

topo_wan_host6() { # ns addr: the same with an IPv6 address (/64, no DAD wait)
	topo_veth "$1" eth0 "$WAN" "p-$1" || return 1
	ip -n "$WAN" link set "p-$1" master br0
	ip -n "$1" addr add "$2/64" dev eth0 nodad
}

topo_public() {
	topo_wan
	topo_ns "$HUB"; topo_wan_host "$HUB" 203.0.113.1
	topo_ns "$LEAFA"; topo_wan_host "$LEAFA" 203.0.113.2
	topo_ns "$LEAFB"; topo_wan_host "$LEAFB" 203.0.113.3
	EP_A=203.0.113.2:51820 EP_B=203.0.113.3:51820
}

topo_public6() {
	topo_wan
	topo_ns "$HUB"; topo_wan_host6 "$HUB" 2001:db8::1
	topo_ns "$LEAFA"; topo_wan_host6 "$LEAFA" 2001:db8::2
	topo_ns "$LEAFB"; topo_wan_host6 "$LEAFB" 2001:db8::3
	TOPO_HUB_EP="[2001:db8::1]:51820"
	EP_A="[2001:db8::2]:51820" EP_B="[2001:db8::3]:51820"
}

# A home router: on the wan at public-addr, a LAN bridge lan0 at
# lan-prefix.1/24 behind it. Masquerade keeps the source port when it can
# (port-preserving NAT); unsolicited inbound packets are dropped, as a home
# router does, so they leave no conntrack entry behind. With a forward-to
# address, UDP 51820 arriving from the wan goes to that LAN host (a port
# forward) and is let in.
topo_nat_router() { # nat-ns public-addr lan-prefix(10.N.0) [forward-to]
	local nat=$1 pub=$2 lan=$3 fwd=${4:-}
	topo_ns "$nat" && topo_wan_host "$nat" "$pub" || return 1
	ip -n "$nat" link add lan0 type bridge
	ip -n "$nat" link set lan0 up
	ip -n "$nat" addr add "$lan.1/24" dev lan0
	ip netns exec "$nat" sysctl -qw net.ipv4.ip_forward=1
	local pre="" accept=""
	if [ -n "$fwd" ]; then
		pre="chain pre { type nat hook prerouting priority dstnat; iifname \"eth0\" udp dport 51820 dnat to $fwd; }"
		accept='iifname "eth0" ct status dnat accept;'
	fi
	ip netns exec "$nat" nft -f - <<-NFT
	table ip nat {
		chain post { type nat hook postrouting priority srcnat; oifname "eth0" masquerade; }
		$pre
	}
	table inet filter {
		chain inbound { type filter hook input priority filter; iifname "eth0" ct state new counter drop; }
		chain forwarded { type filter hook forward priority filter; $accept iifname "eth0" ct state new drop; }
	}
	NFT
}

topo_lan_host() { # nat-ns host-ns addr lan-prefix: host on the router's LAN as eth0
	local nat=$1 host=$2 addr=$3 lan=$4
	topo_ns "$host" || return 1
	topo_veth "$host" eth0 "$nat" "l-$host" || return 1
	ip -n "$nat" link set "l-$host" master lan0
	ip -n "$host" addr add "$addr/24" dev eth0
	ip -n "$host" route add default via "$lan.1"
}

topo_nat_box() { # nat-ns public-addr leaf-ns lan-prefix(10.N.0)
	topo_nat_router "$1" "$2" "$4" && topo_lan_host "$1" "$3" "$4.2" "$4"
}

topo_nat() {
	topo_wan
	topo_ns "$HUB"; topo_wan_host "$HUB" 203.0.113.1
	topo_nat_box "$NATA" 203.0.113.2 "$LEAFA" 10.1.0
	topo_nat_box "$NATB" 203.0.113.3 "$LEAFB" 10.2.0
	EP_A=203.0.113.2:51820 EP_B=203.0.113.3:51820
}

topo_lan() {
	topo_wan
	topo_ns "$HUB"; topo_wan_host "$HUB" 203.0.113.1
	topo_nat_router "$NATA" 203.0.113.2 10.1.0 || return 1
	topo_lan_host "$NATA" "$LEAFA" 10.1.0.2 10.1.0 || return 1
	topo_lan_host "$NATA" "$LEAFB" 10.1.0.3 10.1.0 || return 1
	EP_A=10.1.0.2:51820 EP_B=10.1.0.3:51820
}

topo_hubfwd() {
	topo_wan
	topo_nat_router "$HUBR" 203.0.113.1 10.3.0 10.3.0.2 || return 1
	topo_lan_host "$HUBR" "$HUB" 10.3.0.2 10.3.0 || return 1
	topo_nat_box "$NATA" 203.0.113.2 "$LEAFA" 10.1.0
	topo_nat_box "$NATB" 203.0.113.3 "$LEAFB" 10.2.0
	EP_A=203.0.113.2:51820 EP_B=203.0.113.3:51820
}

topo_mesh() { # N
	local n=$1 i ns
	topo_wan
	topo_ns "$HUB"; topo_wan_host "$HUB" 203.0.113.1
	for i in $(seq "$n"); do
		ns=$TOPO_PREFIX-l$i
		topo_ns "$ns" && topo_wan_host "$ns" "203.0.113.$((10 + i))" || return 1
		MESH_NS[i]=$ns MESH_WG[i]=$TOPO_PREFIX$i
		MESH_EP[i]=203.0.113.$((10 + i)):51820 MESH_TUN[i]=10.99.0.$((1 + i))
	done
}

# topo_wg CMD IFACE [ARGS..]: wg CMD IFACE ARGS where IFACE's device can be
# reached: wireguard-go's UAPI sockets are shared by all namespaces, a
# kernel device answers only inside its own.
topo_wg() {
	if [ "$TOPO_BACKEND" = kernel ]; then
		ip netns exec "${TOPO_WGNS[$2]}" wg "$@"
	else
		wg "$@"
	fi
}

# Starts wireguard-go for IFACE in NS and waits for its socket.
topo_wggo_start() { # ns iface
	local ns=$1 ifc=$2
	rm -f "/var/run/wireguard/$ifc.sock"
	ip netns exec "$ns" env WG_PROCESS_FOREGROUND=1 wireguard-go "$ifc" \
		>>"$TOPO_DIR/wireguard-go-$ifc.log" 2>&1 &
	TOPO_PIDS+=($!)
	TOPO_WGPID[$ifc]=$!
	local i
	for i in $(seq 100); do
		[ -S "/var/run/wireguard/$ifc.sock" ] && ip -n "$ns" link show "$ifc" >/dev/null 2>&1 && break
		sleep 0.1
	done
	[ -S "/var/run/wireguard/$ifc.sock" ] || { echo "wireguard-go $ifc did not start" >&2; return 1; }
}

topo_wg_up() { # ns iface tunnel-addr: a WireGuard device with key, port, address
	local ns=$1 ifc=$2 addr=$3
	if [ "$TOPO_BACKEND" = kernel ]; then
		ip -n "$ns" link add "$ifc" type wireguard || return 1
	else
		topo_wggo_start "$ns" "$ifc" || return 1
	fi
	TOPO_WGNS[$ifc]=$ns
	# A restarted interface keeps its key.
	[ -s "$TOPO_DIR/$ifc.key" ] || (umask 077; wg genkey >"$TOPO_DIR/$ifc.key")
	wg pubkey <"$TOPO_DIR/$ifc.key" >"$TOPO_DIR/$ifc.pub"
	topo_wg set "$ifc" private-key "$TOPO_DIR/$ifc.key" listen-port 51820
	ip -n "$ns" addr add "$addr/24" dev "$ifc"
	ip -n "$ns" link set "$ifc" up
}

topo_wg_down() { # iface
	if [ "$TOPO_BACKEND" = kernel ]; then
		ip -n "${TOPO_WGNS[$1]}" link del "$1"
		return
	fi
	local pid=${TOPO_WGPID[$1]:-}
	[ -n "$pid" ] || return 1
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	unset "TOPO_WGPID[$1]"
	rm -f "/var/run/wireguard/$1.sock"
}

topo_pub() { cat "$TOPO_DIR/$1.pub"; }

# The hub's device as its own configuration has it: key, port, tunnel
# address and one peer per leaf with the leaf's tunnel address.
topo_hub_up() {
	topo_wg_up "$HUB" "$WG_HUB" 10.99.0.1 || return 1
	ip netns exec "$HUB" sysctl -qw net.ipv4.ip_forward=1
	local l
	for l in "${TOPO_LEAVES[@]}"; do
		set -- $l
		topo_wg set "$WG_HUB" peer "$(topo_pub "$1")" allowed-ips "$2/32" || return 1
	done
}

# A leaf: its own WireGuard device, known to the hub, knowing only the hub.
topo_wg_leaf() { # ns iface tunnel-addr
	topo_wg_up "$1" "$2" "$3" || return 1
	TOPO_LEAVES+=("$2 $3")
	topo_wg set "$WG_HUB" peer "$(topo_pub "$2")" allowed-ips "$3/32" || return 1
	topo_wg set "$2" peer "$(topo_pub "$WG_HUB")" endpoint "$TOPO_HUB_EP" \
		allowed-ips 10.99.0.0/24 persistent-keepalive 25
}

topo_wireguard() {
	topo_hub_up || return 1
	topo_wg_leaf "$LEAFA" "$WG_A" 10.99.0.2 || return 1
	topo_wg_leaf "$LEAFB" "$WG_B" 10.99.0.3 || return 1
}

topo_mesh_wireguard() {
	topo_hub_up || return 1
	local i
	for i in "${!MESH_NS[@]}"; do
		topo_wg_leaf "${MESH_NS[i]}" "${MESH_WG[i]}" "${MESH_TUN[i]}" || return 1
	done
}

# --- events -------------------------------------------------------------

topo_cut() { # addr1 addr2
	local fam=ip
	case "$1" in *:*) fam=ip6 ;; esac
	ip netns exec "$WAN" nft -f - <<-NFT
	table bridge wlcut {
		chain cut {
			type filter hook forward priority 0;
			$fam saddr $1 $fam daddr $2 meta l4proto udp counter drop
			$fam saddr $2 $fam daddr $1 meta l4proto udp counter drop
		}
	}
	NFT
}

topo_uncut() { ip netns exec "$WAN" nft delete table bridge wlcut; }

topo_cut_drops() {
	ip netns exec "$WAN" nft list table bridge wlcut 2>/dev/null |
		awk '{ for (i = 1; i < NF; i++) if ($i == "packets") s += $(i + 1) } END { print s + 0 }'
}

topo_nat_rebind() { # nat-ns
	local lo=$((40000 + 1000 * TOPO_NAT_GEN))
	TOPO_NAT_GEN=$((TOPO_NAT_GEN + 1))
	TOPO_NAT_RANGE=$lo-$((lo + 999))
	ip netns exec "$1" nft -f - <<-NFT || return 1
	flush chain ip nat post
	add rule ip nat post oifname "eth0" meta l4proto udp masquerade to :$TOPO_NAT_RANGE
	add rule ip nat post oifname "eth0" masquerade
	NFT
	ip netns exec "$1" conntrack -F >/dev/null 2>&1
}

topo_roam() { # leaf-ns nat-ns public-addr
	local leaf=$1 nat=$2 addr=$3
	ip -n "$nat" link set "l-$leaf" netns "$WAN" || return 1
	ip -n "$WAN" link set "l-$leaf" master br0
	ip -n "$WAN" link set "l-$leaf" up
	ip -n "$leaf" -4 addr flush dev eth0
	ip -n "$leaf" -4 route flush dev eth0 2>/dev/null
	ip -n "$leaf" addr add "$addr/24" dev eth0
}

# --- processes ----------------------------------------------------------

topo_daemon() { # bin ns iface [env..]
	local bin=$1 ns=$2 ifc=$3; shift 3
	ip netns exec "$ns" env WIRELINK_CONFIG_PATH="$TOPO_DIR" "$@" "$bin" --iface "$ifc" \
		>>"$TOPO_DIR/$ifc.log" 2>&1 &
	TOPO_LAST_PID=$!
	TOPO_DAEMONS+=("$!")
	TOPO_DPID[$ifc]=$!
}

topo_stop_daemon() { # iface
	local pid=${TOPO_DPID[$1]:-}
	[ -n "$pid" ] || return 1
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	unset "TOPO_DPID[$1]"
}

topo_ping() { # ns dst log [ping args..]
	local ns=$1 dst=$2 log=$3; shift 3
	ip netns exec "$ns" ping -D -O -n -i 0.2 -W 1 "$@" "$dst" >"$log" 2>&1 &
	TOPO_PIDS+=($!)
	TOPO_LAST_PID=$!
}

# --- checks -------------------------------------------------------------

topo_direct() { # iface peer-iface endpoint tunnel-ip [since]
	local now
	now=$(date +%s)
	topo_wg show "$1" dump 2>/dev/null | awk -v k="$(topo_pub "$2")" -v ep="$3" -v ip="$4/32" \
		-v since="${5:-0}" -v now="$now" '
		NR > 1 && $1 == k && $3 == ep && $5 > 0 && $5 >= since && now - $5 < 180 {
			n = split($4, a, ","); for (i = 1; i <= n; i++) if (a[i] == ip) f = 1 }
		END { exit !f }'
}

# Quiet pairs (docs/quiet.md): the pair of leaves A and B.
# topo_hs_age IFACE PEER-IFACE: seconds since the latest handshake (0: none).
topo_hs_age() {
	topo_wg show "$1" latest-handshakes | awk -v k="$(topo_pub "$2")" -v now="$(date +%s)" \
		'$1 == k { print ($2 > 0 ? now - $2 : 0) }'
}
# topo_quiet BIN: both leaves' daemons (`BIN show`) have the other quiet.
topo_quiet() {
	"$1" show "$WG_A" | grep -q " $(topo_pub "$WG_B" | cut -c1-8) .*quiet" &&
		"$1" show "$WG_B" | grep -q " $(topo_pub "$WG_A" | cut -c1-8) .*quiet"
}
# topo_dormant BIN: wirelink show says A and B are a dormant pair
# (docs/quiet.md, Dormant true), each about the other.
topo_dormant() {
	"$1" show "$WG_A" | grep -q " $(topo_pub "$WG_B" | cut -c1-8) .*dormant" &&
		"$1" show "$WG_B" | grep -q " $(topo_pub "$WG_A" | cut -c1-8) .*dormant"
}
# topo_forget NAT-NS ADDR: the NAT forgets every mapping to or from ADDR, as
# its idle timeout would (its mappings to others, the hub's, stay).
topo_forget() {
	ip netns exec "$1" conntrack -D -p udp --orig-dst "$2" >/dev/null 2>&1
	ip netns exec "$1" conntrack -D -p udp --orig-src "$2" >/dev/null 2>&1
	return 0
}
# topo_nat_drops NAT-NS: packets the NAT dropped as unsolicited so far.
topo_nat_drops() {
	ip netns exec "$1" nft list chain inet filter inbound 2>/dev/null |
		awk '{ for (i = 1; i < NF; i++) if ($i == "packets") s += $(i + 1) } END { print s + 0 }'
}
# topo_sessionless: both handshakes over 185 s old, so neither side has a
# WireGuard session left (RejectAfterTime is 180 s).
topo_sessionless() {
	[ "$(topo_hs_age "$WG_A" "$WG_B")" -ge 185 ] && [ "$(topo_hs_age "$WG_B" "$WG_A")" -ge 185 ]
}

topo_auto_only() { # iface peer-iface
	topo_wg show "$1" dump 2>/dev/null | awk -v k="$(topo_pub "$2")" '
		NR > 1 && $1 == k && $4 ~ /^fe80:[0-9a-f:]*\/128$/ { f = 1 } END { exit !f }'
}

topo_endpoint() { # iface peer-iface: prints the peer's endpoint
	topo_wg show "$1" dump 2>/dev/null | awk -v k="$(topo_pub "$2")" 'NR > 1 && $1 == k { print $3 }'
}

topo_ping_back() { # log since
	awk -v t="$2" '
		{ ts = substr($1, 2, length($1) - 2) + 0 }
		ts < t { next }
		/no answer yet/ { lost = 1; next }
		lost && / bytes from / { printf "%.3f\n", ts; found = 1; exit }
		END { exit !found }' "$1"
}

# wait_for TIMEOUT_S CMD...: polls CMD every 0.2 s until it succeeds.
wait_for() {
	local deadline=$((SECONDS + $1)); shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.2
	done
}

# Pings through a relay, for the tests that cut direct paths: replies
# counted in a ping log, and what the hub received meanwhile.
# topo_replies LOG: ping replies in LOG so far.
topo_replies() { grep -c ' bytes from ' "$1" 2>/dev/null; }
# topo_more_replies LOG N: LOG holds at least N replies.
topo_more_replies() { [ "$(topo_replies "$1")" -ge "$2" ]; }
# topo_hub_rx HUB A B: bytes the device HUB has received from A and B together.
topo_hub_rx() {
	topo_wg show "$1" transfer | awk -v a="$(topo_pub "$2")" -v b="$(topo_pub "$3")" \
		'$1 == a || $1 == b { s += $2 } END { print s + 0 }'
}
# topo_relayed LOG HUB A B: bytes HUB received from A and B while ten more
# pings (1000 bytes each) were answered in LOG; prints it, or "no-replies".
topo_relayed() {
	local before n
	before=$(topo_hub_rx "$2" "$3" "$4") n=$(topo_replies "$1")
	wait_for 10 topo_more_replies "$1" $((n + 10)) || { echo "no-replies"; return; }
	echo $(($(topo_hub_rx "$2" "$3" "$4") - before))
}
# topo_check_relayed NAME LOG MIN: check NAME passes when the hub received
# at least MIN bytes from A and B while ten more pings in LOG were answered
# (topo_relayed); pass and fail are the calling suite's.
topo_check_relayed() {
	local r
	r=$(topo_relayed "$2" "$WG_HUB" "$WG_A" "$WG_B")
	if [ "$r" != no-replies ] && [ "$r" -ge "$3" ]; then
		pass "$1"
	else
		fail "$1" "the hub received $r bytes from the leaves during 10 pings"
	fi
}

topo_cleanup() {
	local pid ns
	for pid in "${TOPO_DAEMONS[@]}"; do kill "$pid" 2>/dev/null; done
	for pid in "${TOPO_DAEMONS[@]}"; do wait "$pid" 2>/dev/null; done
	for pid in "${TOPO_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	for pid in "${TOPO_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
	for ns in "${TOPO_NS[@]}"; do ip netns del "$ns" 2>/dev/null; done
	local ifc
	# A daemon leaves its lock file (empty once it has exited) behind.
	for ifc in "${!TOPO_WGPID[@]}"; do rm -f "/var/run/wireguard/$ifc.sock" "/run/wirelink/$ifc.lock"; done
	TOPO_PIDS=() TOPO_NS=() TOPO_DAEMONS=()
	TOPO_WGPID=() TOPO_DPID=() TOPO_WGNS=()
	# WL_KEEP_LOGS=DIR keeps each topology's logs (daemons, pings) there.
	[ -n "$TOPO_DIR" ] && [ -n "${WL_KEEP_LOGS:-}" ] && mkdir -p "$WL_KEEP_LOGS" &&
		cp -r "$TOPO_DIR" "$WL_KEEP_LOGS/"
	[ -n "$TOPO_DIR" ] && rm -rf "$TOPO_DIR"
	TOPO_DIR=""
}
