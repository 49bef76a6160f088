# Network-namespace topologies for end-to-end tests and the demo: a WireGuard
# hub and two leaves, on public addresses or behind two NATs, with real
# wireguard-go interfaces and nftables masquerade. Source this file.
#
#   topo_init PREFIX     names: namespaces PREFIX-{wan,hub,nata,natb,a,b},
#                        WireGuard interfaces PREFIXh, PREFIXa, PREFIXb
#                        (PREFIX: at most 8 characters, unique on the machine)
#   topo_public          hub 203.0.113.1, leaf A 203.0.113.2, leaf B 203.0.113.3
#   topo_nat             hub 203.0.113.1; leaf A 10.1.0.2 behind NAT 203.0.113.2,
#                        leaf B 10.2.0.2 behind NAT 203.0.113.3 (port-preserving
#                        masquerade, unsolicited inbound dropped)
#   topo_wireguard       wireguard-go on hub/a/b: tunnel 10.99.0.{1,2,3}/24,
#                        leaves know only the hub (endpoint 203.0.113.1:51820,
#                        AllowedIPs 10.99.0.0/24), the hub knows both leaves
#   topo_cleanup         kills what topo started (by PID) and deletes the namespaces
#
# Everything stays inside the namespaces created here; only documentation
# ranges (203.0.113.0/24) and 10.x are used.

TOPO_PIDS=()
TOPO_NS=()
TOPO_DIR=""

topo_init() {
	TOPO_PREFIX=$1
	TOPO_DIR=$(mktemp -d "/tmp/wl-topo-$1.XXXXXX")
	WAN=$1-wan HUB=$1-hub NATA=$1-nata NATB=$1-natb LEAFA=$1-a LEAFB=$1-b
	WG_HUB=${1}h WG_A=${1}a WG_B=${1}b
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

topo_public() {
	topo_wan
	topo_ns "$HUB"; topo_wan_host "$HUB" 203.0.113.1
	topo_ns "$LEAFA"; topo_wan_host "$LEAFA" 203.0.113.2
	topo_ns "$LEAFB"; topo_wan_host "$LEAFB" 203.0.113.3
}

topo_nat_box() { # nat-ns public-addr leaf-ns lan-prefix(10.N.0)
	local nat=$1 pub=$2 leaf=$3 lan=$4
	topo_ns "$nat"; topo_wan_host "$nat" "$pub"
	topo_ns "$leaf"
	topo_veth "$nat" lan0 "$leaf" eth0
	ip -n "$nat" addr add "$lan.1/24" dev lan0
	ip -n "$leaf" addr add "$lan.2/24" dev eth0
	ip -n "$leaf" route add default via "$lan.1"
	ip netns exec "$nat" sysctl -qw net.ipv4.ip_forward=1
	# Masquerade keeps the source port when it can (port-preserving NAT);
	# unsolicited inbound packets are dropped, as a home router does, so
	# they leave no conntrack entry behind.
	ip netns exec "$nat" nft -f - <<-NFT
	table ip nat {
		chain post { type nat hook postrouting priority srcnat; oifname "eth0" masquerade; }
	}
	table inet filter {
		chain inbound { type filter hook input priority filter; iifname "eth0" ct state new drop; }
		chain forwarded { type filter hook forward priority filter; iifname "eth0" ct state new drop; }
	}
	NFT
}

topo_nat() {
	topo_wan
	topo_ns "$HUB"; topo_wan_host "$HUB" 203.0.113.1
	topo_nat_box "$NATA" 203.0.113.2 "$LEAFA" 10.1.0
	topo_nat_box "$NATB" 203.0.113.3 "$LEAFB" 10.2.0
}

topo_wg_up() { # ns iface tunnel-addr: start wireguard-go, wait for its socket
	local ns=$1 ifc=$2 addr=$3
	rm -f "/var/run/wireguard/$ifc.sock"
	ip netns exec "$ns" env WG_PROCESS_FOREGROUND=1 wireguard-go "$ifc" \
		>"$TOPO_DIR/wireguard-go-$ifc.log" 2>&1 &
	TOPO_PIDS+=($!)
	local i
	for i in $(seq 100); do
		[ -S "/var/run/wireguard/$ifc.sock" ] && ip -n "$ns" link show "$ifc" >/dev/null 2>&1 && break
		sleep 0.1
	done
	[ -S "/var/run/wireguard/$ifc.sock" ] || { echo "wireguard-go $ifc did not start" >&2; return 1; }
	(umask 077; wg genkey >"$TOPO_DIR/$ifc.key")
	wg pubkey <"$TOPO_DIR/$ifc.key" >"$TOPO_DIR/$ifc.pub"
	wg set "$ifc" private-key "$TOPO_DIR/$ifc.key" listen-port 51820
	ip -n "$ns" addr add "$addr/24" dev "$ifc"
	ip -n "$ns" link set "$ifc" up
}

topo_pub() { cat "$TOPO_DIR/$1.pub"; }

topo_wireguard() {
	topo_wg_up "$HUB" "$WG_HUB" 10.99.0.1 || return 1
	topo_wg_up "$LEAFA" "$WG_A" 10.99.0.2 || return 1
	topo_wg_up "$LEAFB" "$WG_B" 10.99.0.3 || return 1
	ip netns exec "$HUB" sysctl -qw net.ipv4.ip_forward=1
	wg set "$WG_HUB" peer "$(topo_pub "$WG_A")" allowed-ips 10.99.0.2/32 \
		peer "$(topo_pub "$WG_B")" allowed-ips 10.99.0.3/32
	local leaf
	for leaf in "$WG_A" "$WG_B"; do
		wg set "$leaf" peer "$(topo_pub "$WG_HUB")" endpoint 203.0.113.1:51820 \
			allowed-ips 10.99.0.0/24 persistent-keepalive 25
	done
}

# wait_for TIMEOUT_S CMD...: polls CMD every 0.2 s until it succeeds.
wait_for() {
	local deadline=$((SECONDS + $1)); shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$SECONDS" -ge "$deadline" ] && return 1
		sleep 0.2
	done
}

topo_cleanup() {
	local pid ns
	for pid in "${TOPO_PIDS[@]}"; do kill "$pid" 2>/dev/null; done
	for pid in "${TOPO_PIDS[@]}"; do wait "$pid" 2>/dev/null; done
	for ns in "${TOPO_NS[@]}"; do ip netns del "$ns" 2>/dev/null; done
	TOPO_PIDS=() TOPO_NS=()
	[ -n "$TOPO_DIR" ] && rm -rf "$TOPO_DIR"
}
