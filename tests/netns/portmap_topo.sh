# The port-mapping topology, for tests/netns/test_portmap.sh and
# bench/portmap.sh. Source it after tests/netns/topo.sh, whose building
# blocks it uses (topo_init, topo_ns, topo_veth, topo_wan, topo_wan_host,
# topo_wireguard, wait_for, topo_cleanup); topo.sh itself is not changed.
#
#   pm_topology PREFIX      hub 203.0.113.1; leaf A 10.1.0.2 behind a
#                           symmetric NAT 203.0.113.2 (masquerade
#                           fully-random: a new random port for every
#                           destination), leaf B 10.2.0.2 behind a home NAT
#                           203.0.113.3 (port-preserving); both NATs drop
#                           unsolicited inbound. A's NAT has the nftables
#                           chains miniupnpd fills. Then topo_wireguard.
#   pm_stun                 a minimal STUN responder on the hub,
#                           203.0.113.1:3478
#   pm_miniupnpd            miniupnpd (NAT-PMP/PCP and UPnP-IGD) in A's NAT,
#                           after the STUN responder; waits until it
#                           listens with port forwarding enabled
#   pm_start_daemon NS IFACE LOG [env...]   the daemon; sets PM_LAST_PID
#   pm_stop_daemons         SIGTERM to every daemon started, then wait
#
# miniupnpd 2.3.1 refuses to forward ports while its WAN address is in a
# reserved range (203.0.113.0/24 is one) unless a STUN answer says the
# address is its public one: the STUN responder says exactly that. It runs
# in the foreground (-d) with its files in TOPO_DIR, so nothing of it
# outlives the test and no system service is involved.

PM_DAEMONS=()
PM_MINIUPNPD=${PM_MINIUPNPD:-/usr/sbin/miniupnpd}

# pm_nat NAT-NS PUBLIC LEAF-NS LAN(10.N.0) symmetric|home
pm_nat() {
	local nat=$1 pub=$2 leaf=$3 lan=$4 kind=$5
	topo_ns "$nat" && topo_wan_host "$nat" "$pub" || return 1
	topo_ns "$leaf" || return 1
	topo_veth "$nat" lan0 "$leaf" eth0 || return 1
	ip -n "$nat" addr add "$lan.1/24" dev lan0
	ip -n "$leaf" addr add "$lan.2/24" dev eth0
	ip -n "$leaf" route add default via "$lan.1"
	ip netns exec "$nat" sysctl -qw net.ipv4.ip_forward=1
	if [ "$kind" = home ]; then
		ip netns exec "$nat" nft -f - <<-NFT
		table inet pmnat {
			chain post { type nat hook postrouting priority srcnat; ip saddr $lan.0/24 oifname "eth0" masquerade; }
			chain inbound { type filter hook input priority filter; iifname "eth0" ct state new drop; }
			chain forward { type filter hook forward priority filter; iifname "eth0" ct state new drop; }
		}
		NFT
		return
	fi
	# Symmetric: masquerade fully-random picks a new random source port
	# for every new flow, i.e. for every destination. Only the LAN is
	# masqueraded (miniupnpd's own STUN probes keep their ports). New
	# inbound flows are dropped unless miniupnpd's chain accepts them;
	# its redirections go into prerouting_miniupnpd.
	ip netns exec "$nat" nft -f - <<-NFT
	table inet pmnat {
		chain forward {
			type filter hook forward priority filter; policy accept;
			iifname "eth0" ct state new jump miniupnpd
			iifname "eth0" ct state new drop
		}
		chain miniupnpd { }
		chain prerouting { type nat hook prerouting priority dstnat; policy accept; jump prerouting_miniupnpd; }
		chain postrouting {
			type nat hook postrouting priority srcnat; policy accept;
			jump postrouting_miniupnpd
			ip saddr $lan.0/24 oifname "eth0" masquerade fully-random
		}
		chain prerouting_miniupnpd { }
		chain postrouting_miniupnpd { }
		chain inbound { type filter hook input priority filter; policy accept; iifname "eth0" ct state new drop; }
	}
	NFT
}

pm_topology() {
	topo_init "$1"
	topo_wan || return 1
	topo_ns "$HUB" && topo_wan_host "$HUB" 203.0.113.1 || return 1
	pm_nat "$NATA" 203.0.113.2 "$LEAFA" 10.1.0 symmetric || return 1
	pm_nat "$NATB" 203.0.113.3 "$LEAFB" 10.2.0 home || return 1
	topo_wireguard
}

pm_stun() {
	ip netns exec "$HUB" python3 -u - 203.0.113.1 3478 >"$TOPO_DIR/stun.log" 2>&1 <<-'PY' &
	# Answers every STUN binding request (RFC 5389) with the address and
	# port it came from (XOR-MAPPED-ADDRESS and MAPPED-ADDRESS).
	import socket, struct, sys
	s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
	s.bind((sys.argv[1], int(sys.argv[2])))
	COOKIE = 0x2112A442
	while True:
	    data, (ip, port) = s.recvfrom(2048)
	    if len(data) < 20 or struct.unpack("!H", data[:2])[0] != 0x0001:
	        continue
	    raw = socket.inet_aton(ip)
	    xored = bytes(a ^ b for a, b in zip(raw, struct.pack("!I", COOKIE)))
	    attrs = (struct.pack("!HHBBH", 0x0020, 8, 0, 1, port ^ (COOKIE >> 16)) + xored +
	             struct.pack("!HHBBH", 0x0001, 8, 0, 1, port) + raw)
	    s.sendto(struct.pack("!HH", 0x0101, len(attrs)) + data[4:20] + attrs, (ip, port))
	    print("answered", ip, port)
	PY
	TOPO_PIDS+=($!)
}

pm_miniupnpd() {
	cat >"$TOPO_DIR/miniupnpd.conf" <<-EOF
	ext_ifname=eth0
	listening_ip=lan0
	http_port=0
	enable_natpmp=yes
	enable_upnp=yes
	ext_perform_stun=yes
	ext_stun_host=203.0.113.1
	ext_stun_port=3478
	secure_mode=yes
	system_uptime=yes
	notify_interval=60
	uuid=8f1e2d3c-4b5a-4968-8776-655443322110
	min_lifetime=120
	max_lifetime=86400
	upnp_table_name=pmnat
	upnp_nat_table_name=pmnat
	upnp_forward_chain=miniupnpd
	upnp_nat_chain=prerouting_miniupnpd
	upnp_nat_postrouting_chain=postrouting_miniupnpd
	allow 1024-65535 10.1.0.0/24 1024-65535
	deny 0-65535 0.0.0.0/0 0-65535
	EOF
	ip netns exec "$NATA" "$PM_MINIUPNPD" -d -f "$TOPO_DIR/miniupnpd.conf" \
		-P "$TOPO_DIR/miniupnpd.pid" >"$TOPO_DIR/miniupnpd.log" 2>&1 &
	TOPO_PIDS+=($!)
	wait_for 20 grep -q 'Listening for NAT-PMP/PCP traffic' "$TOPO_DIR/miniupnpd.log" &&
		grep -q 'Port forwarding is now enabled' "$TOPO_DIR/miniupnpd.log"
}

pm_start_daemon() {
	local ns=$1 ifc=$2 log=$3; shift 3
	ip netns exec "$ns" env WIRELINK_CONFIG_PATH="$TOPO_DIR" "$@" "$WL_BIN" --iface "$ifc" \
		--debug >"$log" 2>&1 &
	PM_LAST_PID=$!
	PM_DAEMONS+=("$PM_LAST_PID")
}

pm_stop_daemons() {
	local p
	for p in "${PM_DAEMONS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PM_DAEMONS[@]}"; do wait "$p" 2>/dev/null; done
	PM_DAEMONS=()
}

# pm_direct IFACE PEER-IFACE ENDPOINT SINCE: IFACE has the peer at ENDPOINT
# (ADDR:PORT, or ADDR:* for any port) with a handshake at or after SINCE
# (unix seconds).
pm_direct() {
	local line ep
	line=$(wg show "$1" dump | awk -v k="$(topo_pub "$2")" '$1 == k')
	[ -n "$line" ] || return 1
	ep=$(echo "$line" | cut -f3)
	case "$3" in
	*:\*) [ "${ep%:*}" = "${3%:*}" ] || return 1 ;;
	*) [ "$ep" = "$3" ] || return 1 ;;
	esac
	[ "$(echo "$line" | cut -f5)" -ge "$4" ]
}
pm_has_allowed() { wg show "$1" allowed-ips | awk -v k="$(topo_pub "$2")" '$1 == k' | grep -qw "$3"; }
pm_transfer() { wg show "$1" transfer | awk -v k="$(topo_pub "$2")" '$1 == k {print $'"$3"'}'; }
# The external endpoint of A's mapping, from its log ("" if none yet).
pm_mapped_endpoint() {
	sed -n 's/.*port mapping granted by [0-9.]* ([^)]*): \([0-9.]*:[0-9]*\) .*/\1/p' "$1" | tail -n 1
}
