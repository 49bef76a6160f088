# A member that floods (issue 10), for tests/netns/test_flood.sh and
# bench/flood.sh. Source it after tests/netns/topo.sh, whose mesh topology
# it uses (topo.sh itself is not changed).
#
#   fl_topology PREFIX   topo_init + topo_mesh 3 + topo_mesh_wireguard: the
#                        hub 203.0.113.1 and three public leaves; leaf 1 is
#                        the attacker A, leaf 2 the victim B, leaf 3 the
#                        honest leaf C. Sets NS_x, WG_x, EP_x, TUN_x (x = A,
#                        B, C; the hub is $HUB, $WG_HUB)
#   fl_start BIN [ENV=VALUE..]  a daemon beside each of the four interfaces;
#                        PID_HUB, PID_A, PID_B, PID_C; logs $TOPO_DIR/IFACE.log
#   fl_direct X Y        X has Y routed direct (topo_direct with Y's endpoint
#                        and tunnel /32)
#   fl_flood TOOL RATE SECONDS   A floods B and the hub, RATE datagrams/s to
#                        each, from A's own key and auto address, with
#                        endpoint facts also about the hub, B and C; output in
#                        $TOPO_DIR/flood.out, FLOOD_PID set
#   fl_dump PID LOG      SIGUSR1 the daemon, wait (10 s at most) until its
#                        dump has been written
#   fl_stat LOG KEY      a counter of the latest dump's "stats:" line
#   fl_facts LOG         the number of fact lines in the latest dump
#   fl_cpu PID           CPU ticks used so far (utime + stime)
#   fl_rss PID           resident memory, kB (VmRSS)

fl_topology() { # prefix
	topo_init "$1"
	topo_mesh 3 && topo_mesh_wireguard || return 1
	NS_A=${MESH_NS[1]} WG_A=${MESH_WG[1]} EP_A=${MESH_EP[1]} TUN_A=${MESH_TUN[1]}
	NS_B=${MESH_NS[2]} WG_B=${MESH_WG[2]} EP_B=${MESH_EP[2]} TUN_B=${MESH_TUN[2]}
	NS_C=${MESH_NS[3]} WG_C=${MESH_WG[3]} EP_C=${MESH_EP[3]} TUN_C=${MESH_TUN[3]}
}

fl_start() { # bin [env..]
	local bin=$1; shift
	topo_daemon "$bin" "$HUB" "$WG_HUB" "$@"; PID_HUB=$TOPO_LAST_PID
	topo_daemon "$bin" "$NS_A" "$WG_A" "$@"; PID_A=$TOPO_LAST_PID
	topo_daemon "$bin" "$NS_B" "$WG_B" "$@"; PID_B=$TOPO_LAST_PID
	topo_daemon "$bin" "$NS_C" "$WG_C" "$@"; PID_C=$TOPO_LAST_PID
}

fl_direct() { # X Y (A, B or C)
	local x=WG_$1 y=WG_$2 ep=EP_$2 tun=TUN_$2
	topo_direct "${!x}" "${!y}" "${!ep}" "${!tun}"
}

fl_flood() { # tool rate seconds
	ip netns exec "$NS_A" "$1" --key "$TOPO_DIR/$WG_A.key" --iface "$WG_A" \
		--to "$(topo_pub "$WG_B")" --to "$(topo_pub "$WG_HUB")" \
		--about "$(topo_pub "$WG_HUB")" --about "$(topo_pub "$WG_B")" --about "$(topo_pub "$WG_C")" \
		--rate "$2" --seconds "$3" >"$TOPO_DIR/flood.out" 2>&1 &
	FLOOD_PID=$!
	TOPO_PIDS+=("$FLOOD_PID")
}

fl_stats_after() { [ "$(grep -c '^stats:' "$1")" -gt "$2" ]; }
fl_dump() { # pid log
	local n
	n=$(grep -c '^stats:' "$2")
	kill -USR1 "$1" 2>/dev/null || return 1
	wait_for 10 fl_stats_after "$2" "$n"
}
fl_stat() { # log key
	grep '^stats:' "$1" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$2=//p"
}
fl_facts() { # log: fact lines between the latest "facts (N):" and its "peers (N):"
	awk '/^facts \([0-9]+\):$/ { n = 0; in_f = 1; next } /^peers \(/ { in_f = 0; last = n }
		in_f && /^  / { n++ } END { print last + 0 }' "$1"
}
fl_cpu() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
fl_rss() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
