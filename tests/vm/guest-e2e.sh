#!/bin/bash
# The namespace end-to-end scenarios on the kernel's wireguard.ko, inside the
# test VM (run by guest-init.sh in mode e2e, with the bash, nft, iputils ping
# and wg the initramfs carries). The topologies are tests/netns/topo.sh's,
# with TOPO_BACKEND=kernel; the assertions are those of the namespace tests
# with wireguard-go:
#
#   public    tests/netns/test_e2e.sh on public addresses: both leaves have
#             the other at its direct address with a handshake after the
#             start and its tunnel address in AllowedIPs; 20 pings of 1000
#             bytes from A to B are answered and the hub's transfer counters
#             show they were not relayed. A's daemon killed (-9) and started
#             again: B learns its new boot id, A hears B alive again, and A
#             still pings B (the kernel device kept what the first daemon
#             configured; the new one takes it over).
#   nat       the same with both leaves behind port-preserving NATs, and
#             leaf A's daemon run as the unit wirelink-unprivileged@ runs
#             it: `wirelink prestart` as root stages its config (a root-only
#             file naming B), then the daemon as the user wirelink with
#             CAP_NET_ADMIN alone (setpriv). /proc shows its uid and
#             capabilities; every check above and below holds for it, its
#             restart included; a reload (prestart, SIGHUP) renames B.
#   failover  tests/netns/test_heal.sh's failover, on the nat topology: UDP
#             between the NATs' public addresses is cut while A pings B
#             every 0.2 s; ping works again and both leaves reduce the other
#             to its auto address (traffic via the hub, which relays it)
#             within HEAL_S; after the heal both are routed direct again,
#             not relayed, within HEAL_S.
#
# Each scenario first checks that all three daemons said they drive the
# kernel backend. Then every daemon stops on SIGTERM with status 0 and no
# daemon log holds a sanitizer report. Times are printed as "guest: e2e:"
# lines.
#
# Bounds: the namespace tests' own. The guest runs everything on one
# emulated CPU (TCG), but what these wait for is driven by the daemons'
# timers (0.5 s counter sense, the path probe), not by CPU: measured in the
# guest (tests/vm/README.md), the failover takes 2.2-2.6 s and the recovery
# 1.3-2.3 s, also with two guests running at once on a loaded 2-core host;
# the bound is 10 s, as with wireguard-go, and the original's timing needs
# minutes (it waits for the dead path's handshake to age out).
set -u
TOPO_BACKEND=kernel
. /wl/topo.sh
WL_BIN=/wl/wirelink
suite=e2e
DIRECT_S=90 # daemons started -> handshakes on the direct addresses
HEAL_S=10   # cut -> ping back via the hub; heal -> routed direct again
failures=0

pass() { echo "PASS: $suite/$1"; }
fail() { echo "FAIL: $suite/$1: $2"; failures=$((failures + 1)); }
info() { echo "guest: $suite: $*"; }
us() { echo "${EPOCHREALTIME/./}"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1e6 }'; }
# until_us DEADLINE_US CMD..: polls CMD every 0.2 s until it succeeds or the
# deadline (microseconds since the epoch) has passed.
until_us() {
	local dl=$1
	shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$(us)" -ge "$dl" ] && return 1
		sleep 0.2
	done
}

# --- reading the devices (as test_e2e.sh and test_heal.sh do) -------------

# handshake_at IFACE PEER-IFACE ENDPOINT SINCE: IFACE has the peer at
# ENDPOINT with a handshake at or after SINCE (unix seconds).
handshake_at() {
	topo_wg show "$1" dump | awk -v k="$(topo_pub "$2")" -v ep="$3" -v t="$4" \
		'$1 == k && $3 == ep && $5 >= t { f = 1 } END { exit !f }'
}
has_allowed() { # iface peer-iface cidr
	topo_wg show "$1" allowed-ips | awk -v k="$(topo_pub "$2")" '$1 == k' | grep -qw "$3"
}
transfer() { # iface peer-iface field (2 received, 3 sent)
	topo_wg show "$1" transfer | awk -v k="$(topo_pub "$2")" -v f="$3" '$1 == k { print $f }'
}
state() { # iface..: the peers of each device, one line, for failure messages
	local i
	for i in "$@"; do
		printf '%s: %s; ' "$i" "$(topo_wg show "$i" dump 2>/dev/null | tail -n +2 | cut -f1,3,4,5 | tr '\t\n' ' |')"
	done
}
keys() { # iface..: which key is whose, for reading state()
	local i
	for i in "$@"; do printf '%s=%s ' "$i" "$(topo_pub "$i" | cut -c1-8)"; done
}
both_direct() { # ep-of-B ep-of-A
	topo_direct "$WG_A" "$WG_B" "$1" 10.99.0.3 && topo_direct "$WG_B" "$WG_A" "$2" 10.99.0.2
}
both_auto() { topo_auto_only "$WG_A" "$WG_B" && topo_auto_only "$WG_B" "$WG_A"; }
# The daemons' logs, for a failure's diagnosis on the console.
show_logs() {
	local f
	for f in "$TOPO_DIR"/*.log; do
		[ -f "$f" ] && tail -n 25 "$f" | sed "s|^|log ${f##*/}: |"
	done
}

# Leaf A unprivileged (scenario nat): its config is root's alone, as in
# /etc/wireguard, and names B; the daemon reads prestart's staged copy.
UNPRIV=0
WL_USER_ID=101
STAGE=/run/wirelink-config
a_config() { # NAME: A's config names B so
	mkdir -p -m 0700 "$TOPO_DIR/etc"
	printf 'Peers:\n  - PublicKey: %s\n    Name: %s\n' "$(topo_pub "$WG_B")" "$1" >"$TOPO_DIR/etc/wirelink.$WG_A.yaml"
	chmod 0600 "$TOPO_DIR/etc/wirelink.$WG_A.yaml"
}
a_prestart() { "$WL_BIN" prestart --user wirelink --stage-dir "$STAGE" --config-path "$TOPO_DIR/etc" "$WG_A"; }
start_a() { # LOG: A's daemon, as root or (UNPRIV=1) as the unit would run it
	if [ "$UNPRIV" = 0 ]; then
		ip netns exec "$LEAFA" env WIRELINK_CONFIG_PATH="$TOPO_DIR" WIRELINK_DEBUG=1 \
			"$WL_BIN" --iface "$WG_A" >>"$1" 2>&1 &
	else
		# The unit's RuntimeDirectory is the user's (root's daemons can
		# still write there).
		chown wirelink:wirelink /run/wirelink
		a_prestart >>"$1" 2>&1
		ip netns exec "$LEAFA" setpriv --reuid=wirelink --regid=wirelink --clear-groups \
			--inh-caps=-all,+net_admin --ambient-caps=-all,+net_admin --bounding-set=-all,+net_admin \
			env WIRELINK_DEBUG=1 "$WL_BIN" --iface "$WG_A" --config-path "$STAGE" >>"$1" 2>&1 &
	fi
	TOPO_DPID[$WG_A]=$!
	TOPO_DAEMONS+=("$!")
}
start_three() {
	topo_daemon "$WL_BIN" "$HUB" "$WG_HUB" WIRELINK_DEBUG=1
	start_a "$TOPO_DIR/$WG_A.log"
	topo_daemon "$WL_BIN" "$LEAFB" "$WG_B" WIRELINK_DEBUG=1
}
# unprivileged_checks: A runs as wirelink with CAP_NET_ADMIN alone (and its
# own sandbox on top); a reload through prestart renames B.
unprivileged_checks() {
	local st pa=${TOPO_DPID[$WG_A]} log=$TOPO_DIR/$WG_A.log
	st=$(cat "/proc/$pa/status" 2>/dev/null)
	if echo "$st" | grep -qx "Uid:	$WL_USER_ID	$WL_USER_ID	$WL_USER_ID	$WL_USER_ID" &&
		echo "$st" | grep -qx 'CapEff:	0000000000001000' && echo "$st" | grep -qx 'CapAmb:	0000000000000000' &&
		echo "$st" | grep -qx 'Seccomp:	2' && ! grep -q 'cannot lock' "$log"; then
		pass nat-a-unprivileged
	else
		fail nat-a-unprivileged "$(echo "$st" | grep -E '^(Uid|CapEff|CapAmb|Seccomp):' | tr '\n\t' '  ') $(grep 'cannot lock' "$log")"
	fi
	a_config bumble
	local before out rc
	before=$(grep -c 'configuration reloaded' "$log")
	out=$(a_prestart 2>&1)
	rc=$?
	if [ "$rc" != 0 ] || ! echo "$out" | grep -q "wirelink.$WG_A.yaml staged as $STAGE/wirelink.$WG_A.yaml"; then
		fail nat-a-unprivileged-reload "prestart exited $rc: $out"
	elif ! { [ "$(stat -c %u "$STAGE/wirelink.$WG_A.yaml")" = "$WL_USER_ID" ] && grep -q bumble "$STAGE/wirelink.$WG_A.yaml"; }; then
		fail nat-a-unprivileged-reload "staged copy: $(ls -ln "$STAGE" | tr '\n' ' ')"
	elif kill -HUP "$pa" && wait_for 20 sh -c "[ \$(grep -c 'configuration reloaded' '$log') -gt $before ]"; then
		pass nat-a-unprivileged-reload
	else
		fail nat-a-unprivileged-reload "no reload after SIGHUP: $(grep -iE 'reload|config' "$log" | tail -n 4 | tr '\n' ' ')"
	fi
}

# --- scenarios ------------------------------------------------------------

# direct KIND: builds the topology, starts the daemons and checks that the
# leaves go direct and carry their traffic without the hub. Returns 1 when
# the topology could not be built (nothing else to test on it).
sc_direct() {
	local kind=$1 t0 t0us
	topo_init "wk$kind"
	if ! { topo_"$kind" && topo_wireguard; } >"$TOPO_DIR/setup.log" 2>&1; then
		fail "$kind-topology" "could not build the namespaces: $(tail -n 3 "$TOPO_DIR/setup.log" | tr '\n' ' ')"
		return 1
	fi
	UNPRIV=0
	if [ "$kind" = nat ]; then
		UNPRIV=1
		a_config bee
	fi
	t0=$(date +%s) t0us=$(us)
	start_three
	# What this VM is for: every daemon drives wireguard.ko (generic netlink).
	local ifc missing=""
	for ifc in "$WG_HUB" "$WG_A" "$WG_B"; do
		wait_for 20 grep -q "on $ifc (kernel backend)" "$TOPO_DIR/$ifc.log" || missing="$missing $ifc"
	done
	if [ -z "$missing" ]; then
		pass "$kind-kernel-backend"
	else
		fail "$kind-kernel-backend" "no '(kernel backend)' start line from:$missing"
	fi
	if wait_for "$DIRECT_S" handshake_at "$WG_A" "$WG_B" "$EP_B" "$t0" &&
		wait_for 30 handshake_at "$WG_B" "$WG_A" "$EP_A" "$t0"; then
		pass "$kind-leaves-direct"
		info "$kind: handshakes on the direct addresses $(secs "$t0us" "$(us)") s after start"
	else
		fail "$kind-leaves-direct" "$(keys "$WG_A" "$WG_B") $(state "$WG_A" "$WG_B")"
		show_logs
	fi
	if wait_for 30 has_allowed "$WG_A" "$WG_B" 10.99.0.3/32 &&
		wait_for 30 has_allowed "$WG_B" "$WG_A" 10.99.0.2/32; then
		pass "$kind-allowed-ips-direct"
		info "$kind: routed direct $(secs "$t0us" "$(us)") s after start"
	else
		fail "$kind-allowed-ips-direct" "$(topo_wg show "$WG_A" allowed-ips | tr '\n' ' ')"
	fi

	# Traffic between the leaves flows directly: the hub relays none of it.
	local hub_rx_a hub_rx_b a_tx relayed sent
	hub_rx_a=$(transfer "$WG_HUB" "$WG_A" 2) hub_rx_b=$(transfer "$WG_HUB" "$WG_B" 2)
	a_tx=$(transfer "$WG_A" "$WG_B" 3)
	if ip netns exec "$LEAFA" ping -q -c 20 -i 0.05 -s 1000 -W 2 10.99.0.3 >/dev/null; then
		pass "$kind-ping-a-to-b"
	else
		fail "$kind-ping-a-to-b" "no reply from 10.99.0.3"
	fi
	relayed=$(($(transfer "$WG_HUB" "$WG_A" 2) - hub_rx_a + $(transfer "$WG_HUB" "$WG_B" 2) - hub_rx_b))
	sent=$(($(transfer "$WG_A" "$WG_B" 3) - a_tx))
	# 20 pings of 1000 bytes: over 20 kB if relayed; gossip is far less.
	if [ "$sent" -ge 20000 ] && [ "$relayed" -lt 10000 ]; then
		pass "$kind-not-relayed"
	else
		fail "$kind-not-relayed" "sent directly $sent bytes, hub received $relayed bytes meanwhile"
	fi
	[ "$UNPRIV" = 1 ] && unprivileged_checks
	restart_recovers "$kind"
}

# restart_recovers KIND: A's daemon killed and started again (test_e2e.sh's
# restart check): B sees its new boot id, A hears B again, the ping works.
restart_recovers() {
	local kind=$1 pa=${TOPO_DPID[$WG_A]} log=$TOPO_DIR/a2.log bootid short
	# B's short key, as the log names it ("peer KEY" or "peer NAME (KEY)");
	# matched as fixed text: a key may hold '+' or '/'.
	short=$(topo_pub "$WG_B" | cut -c1-8)
	kill -9 "$pa"
	wait "$pa" 2>/dev/null
	# Its own log, so that the old daemon's lines cannot match.
	start_a "$log"
	wait_for 20 grep -q 'new boot id' "$log"
	bootid=$(sed -n 's/.*new boot id \([0-9a-f]*\).*/\1/p' "$log" | head -n 1)
	if [ -n "$bootid" ] && wait_for 60 grep -q "has boot id $bootid" "$TOPO_DIR/$WG_B.log" &&
		wait_for 60 grep -qF -e "peer $short is alive" -e "($short) is alive" "$log" &&
		ip netns exec "$LEAFA" ping -q -c 3 -W 2 10.99.0.3 >/dev/null; then
		pass "$kind-restart-recovers"
	else
		fail "$kind-restart-recovers" "boot id '$bootid'; restarted log: $(tail -n 5 "$log" | tr '\n' ' ')"
	fi
}

# failover: on the running nat topology (test_heal.sh's sc_failover).
sc_failover() {
	local log=$TOPO_DIR/ping.log t_cut dl back ok=1 fell=0 r
	topo_ping "$LEAFA" 10.99.0.3 "$log" -s 1000
	if ! wait_for 10 topo_more_replies "$log" 5; then
		fail failover-setup "no ping replies before the cut"
		return
	fi
	t_cut=$(us)
	topo_cut 203.0.113.2 203.0.113.3
	dl=$((t_cut + HEAL_S * 1000000))
	if until_us "$dl" topo_ping_back "$log" "$(secs 0 "$t_cut")"; then
		back=$(topo_ping_back "$log" "$(secs 0 "$t_cut")")
		pass "failover-ping-works-again-within-${HEAL_S}s"
		info "failover: ping back $(awk -v a="$t_cut" -v b="$back" 'BEGIN { printf "%.2f", b - a / 1e6 }') s after the cut"
	else
		ok=0
		fail "failover-ping-works-again-within-${HEAL_S}s" "no reply within $HEAL_S s of the cut ($(topo_cut_drops) packets dropped by the cut)"
	fi
	if until_us "$dl" both_auto; then
		fell=1
		pass failover-both-reduced-to-auto-address
		info "failover: both reduced to the auto address $(secs "$t_cut" "$(us)") s after the cut"
	else
		fail failover-both-reduced-to-auto-address "$HEAL_S s after the cut: $(keys "$WG_A" "$WG_B") $(state "$WG_A" "$WG_B")"
	fi
	if [ "$ok" = 1 ]; then
		# 10 pings of 1000 bytes each way through the hub: over 20 kB.
		topo_check_relayed failover-relayed-by-hub "$log" 15000
	else
		fail failover-relayed-by-hub "no traffic gets through"
	fi
	if [ "$(topo_cut_drops)" -gt 0 ]; then
		pass failover-cut-effective
	else
		fail failover-cut-effective "the cut dropped no packet"
	fi
	if [ "$ok" = 0 ] || [ "$fell" = 0 ]; then show_logs; fi

	# The path heals.
	local t_heal
	t_heal=$(us)
	topo_uncut
	if [ "$fell" = 0 ]; then
		echo "SKIP: $suite/failover-direct-again-within-${HEAL_S}s: the leaves never fell back to the hub, nothing to recover from"
	elif until_us $((t_heal + HEAL_S * 1000000)) both_direct "$EP_B" "$EP_A"; then
		info "failover: routed direct again $(secs "$t_heal" "$(us)") s after the path healed"
		r=$(topo_relayed "$log" "$WG_HUB" "$WG_A" "$WG_B")
		if [ "$r" != no-replies ] && [ "$r" -lt 10000 ]; then
			pass "failover-direct-again-within-${HEAL_S}s"
		else
			fail "failover-direct-again-within-${HEAL_S}s" "the devices say direct but the hub received $r bytes during 10 pings"
		fi
	else
		fail "failover-direct-again-within-${HEAL_S}s" "$HEAL_S s after the heal: $(keys "$WG_A" "$WG_B") $(state "$WG_A" "$WG_B")"
		show_logs
	fi
}

# quietidle: test_heal.sh's quietidle on wireguard.ko. Two public leaves
# with QuietPeriod 240 s and Dormant false (a dormant pair would send
# nothing at all) go quiet; once both handshakes are over 185 s old
# (no session left: RejectAfterTime is 180 s) UDP between them is cut and A
# pings B. The pings wait behind a handshake nobody answers; what the watch
# sees is our initiations and the tunnel device's counters. The kernel's
# device counts a packet it sends, not one it holds for a handshake, so
# this is what tells whether the watch starts on wireguard.ko too.
QUIET_S=240
sc_quietidle() {
	topo_init wkquiet
	if ! { topo_public && topo_wireguard; } >"$TOPO_DIR/setup.log" 2>&1; then
		fail quietidle-topology "could not build the namespaces: $(tail -n 3 "$TOPO_DIR/setup.log" | tr '\n' ' ')"
		return 1
	fi
	local ifc t0us
	t0us=$(us)
	for ifc in "$WG_HUB:$HUB" "$WG_A:$LEAFA" "$WG_B:$LEAFB"; do
		topo_daemon "$WL_BIN" "${ifc#*:}" "${ifc%%:*}" WIRELINK_DEBUG=1 WIRELINK_LOG_TIME=iso \
			WIRELINK_QUIET_PERIOD=$QUIET_S WIRELINK_DORMANT=false
	done
	if ! wait_for 120 topo_quiet "$WL_BIN"; then
		fail quietidle-quiet "not quiet within 120 s: $("$WL_BIN" show "$WG_A" | tr '\n' ' ')"
		show_logs
		return 0
	fi
	info "quietidle: quiet $(secs "$t0us" "$(us)") s after start"
	if ! wait_for $((QUIET_S + 60)) topo_sessionless; then
		fail quietidle-idle "handshakes never both over 185 s old: $(topo_hs_age "$WG_A" "$WG_B"), $(topo_hs_age "$WG_B" "$WG_A") s"
		return 0
	fi
	local log=$TOPO_DIR/ping.log t_cut
	t_cut=$(us)
	topo_cut 203.0.113.2 203.0.113.3
	topo_ping "$LEAFA" 10.99.0.3 "$log"
	info "quietidle: cut and pings from $(date -u +%T.%N)"
	if until_us $((t_cut + HEAL_S * 1000000)) topo_more_replies "$log" 1; then
		pass "quietidle-ping-answered-within-${HEAL_S}s"
		info "quietidle: first reply $(secs "$t_cut" "$(us)") s after the pings began"
		# What each side's daemon did meanwhile (the watch's timing).
		tail -n 8 "$TOPO_DIR/$WG_A.log" | sed "s|^|guest: e2e: quietidle: A: |"
		tail -n 8 "$TOPO_DIR/$WG_B.log" | sed "s|^|guest: e2e: quietidle: B: |"
	else
		fail "quietidle-ping-answered-within-${HEAL_S}s" "$(keys "$WG_A" "$WG_B") $(state "$WG_A" "$WG_B")"
		show_logs
	fi
	if until_us $((t_cut + HEAL_S * 1000000)) both_auto; then
		pass quietidle-both-reduced-to-auto-address
	else
		fail quietidle-both-reduced-to-auto-address "$(keys "$WG_A" "$WG_B") $(state "$WG_A" "$WG_B")"
	fi
	topo_check_relayed quietidle-relayed-by-hub "$log" 1500
}

# exited PID: the child has ended (a zombie until waited for: kill -0 would
# still succeed on it).
exited() { [ ! -e "/proc/$1" ] || awk '{ exit $3 != "Z" }' "/proc/$1/stat"; }

# stop KIND: SIGTERM to every daemon (each must exit 0 within 30 s: a daemon
# that hangs on its way out, as LeakSanitizer's exit check can under a
# filter, fails here instead of holding the VM until its timeout), no
# sanitizer report in any daemon log, the namespaces removed.
sc_stop() {
	local kind=$1 ifc pid rc bad=""
	for ifc in "$WG_HUB" "$WG_A" "$WG_B"; do
		pid=${TOPO_DPID[$ifc]:-}
		[ -n "$pid" ] || continue
		kill -TERM "$pid" 2>/dev/null
		if wait_for 30 exited "$pid"; then
			wait "$pid"
			rc=$?
		else
			kill -KILL "$pid"
			wait "$pid" 2>/dev/null
			rc=hung
		fi
		unset "TOPO_DPID[$ifc]"
		[ "$rc" = 0 ] || bad="$bad $ifc:$rc"
	done
	if [ -z "$bad" ]; then
		pass "$kind-sigterm-clean-exit"
	else
		fail "$kind-sigterm-clean-exit" "exit status (interface:status)$bad"
	fi
	if grep -hE 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' "$TOPO_DIR"/*.log >"$TOPO_DIR/san" 2>/dev/null; then
		fail "$kind-sanitizers-clean" "$(head -n 3 "$TOPO_DIR/san" | tr '\n' ' ')"
	else
		pass "$kind-sanitizers-clean"
	fi
	topo_cleanup
}

t_all=$(us)
# /wl/scenarios (vm.sh, WL_VM_E2E): which to run; public and nat by default.
for kind in $(cat /wl/scenarios 2>/dev/null || echo public nat); do
	t=$(us)
	if [ "$kind" = quietidle ]; then
		sc_quietidle && sc_stop "$kind"
	elif sc_direct "$kind"; then
		[ "$kind" = nat ] && sc_failover
		sc_stop "$kind"
	fi
	topo_cleanup
	info "$kind: scenario took $(secs "$t" "$(us)") s"
done
info "all scenarios took $(secs "$t_all" "$(us)") s"
[ "$failures" -eq 0 ]
