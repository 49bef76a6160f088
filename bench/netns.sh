#!/usr/bin/env bash
# Namespace benchmark of the real daemon with wireguard-go and nftables
# (tests/netns/topo.sh builds the networks). Prints figures (median, min and
# max over RUNS runs); not a pass/fail test. Needs root.
#
#   usage: bench/netns.sh [--only SECTION[,SECTION..]] [RUNS] [IDLE_SECONDS]
#          (defaults: every section but failover-late, 5 runs, 120 s)
#   WL_BIN         the wirelink binary (default: build/wirelink of this tree)
#   WL_BENCH_JOBS  runs of the waiting-bound sections (failover, failover-late,
#                  rebind, roam, idle9) that may run at once, each in its own
#                  namespaces (default 1: one after the other). Their figures
#                  are protocol timers, not CPU; the other sections always
#                  run one at a time.
#
# "Routed direct": each leaf's WireGuard has the other at its direct address
# with a live session (handshake within 180 s) and the other's tunnel IP in
# its AllowedIPs (topo_direct). Times count from starting the daemons, or
# from the event.
#
# Sections:
#   public, nat    time to routed direct: public leaves / leaves behind two NATs
#   ipv6           the same, public leaves on an IPv6-only underlay (2001:db8::/64)
#   lan            the same, two leaves on one LAN behind one NAT (no hairpin),
#                  direct on their LAN addresses
#   mesh9, mesh17  hub + 8 (16) public leaves: all 56 (240) leaf pairs routed direct
#   failover       NATed leaves routed direct, A pings B every 0.2 s, UDP between
#                  the NATs' public addresses is cut right away (early in the
#                  daemons' life): time until ping works again; once both have
#                  fallen back (each has the other at its auto address only),
#                  the cut is removed: "recovery", time until routed direct again
#   failover-late  the same with the cut 260 s after start (past FactTTL, 255 s)
#   rebind         NAT A forgets its mappings (conntrack -F) and maps to a new
#                  port range, pings both ways: time until both directions work
#                  again, and until routed direct at A's new public port
#   roam           A's link moves from behind NAT A to the internet
#                  (203.0.113.12): the same two times
#   idle9          hub + 8 public leaves routed direct and idle: wirelink's own
#                  traffic, bytes/s of all 9 nodes together. Counted by an
#                  nftables counter in every node on its WireGuard interface,
#                  output hook, udp dport 51821: every wirelink datagram once,
#                  when it is sent, as its IPv6 packet (payload + 48 bytes of
#                  IPv6 and UDP headers; the WireGuard encapsulation is not
#                  counted). Measured over IDLE_SECONDS after 60 s of settling.
#   footprint      NAT topology routed direct, then idle RSS per daemon and CPU
#                  seconds per hour over IDLE_SECONDS
set -u
cd "$(dirname "$0")/.."
ALL="public nat ipv6 lan mesh9 mesh17 failover failover-late rebind roam idle9 footprint"
ONLY=""
while [ $# -gt 0 ]; do
	case "$1" in
	--only) ONLY=$2; shift 2 ;;
	--list) echo "$ALL"; exit 0 ;;
	-h|--help) sed -n '2,50p' "$0"; exit 0 ;;
	*) break ;;
	esac
done
RUNS=${1:-5} IDLE=${2:-120}
JOBS=${WL_BENCH_JOBS:-1}
BIN=$(realpath -m "${WL_BIN:-$PWD/build/wirelink}")
[ -x "$BIN" ] || { echo "no binary at $BIN: build first (bash scripts/build.sh release) or set WL_BIN" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "bench/netns.sh: needs root (network namespaces)" >&2; exit 2; }
SECTIONS=${ONLY//,/ }
[ -n "$SECTIONS" ] || SECTIONS=${ALL/failover-late /}
for s in $SECTIONS; do
	case " $ALL " in *" $s "*) ;; *) echo "unknown section $s; sections: $ALL" >&2; exit 2 ;; esac
done
. tests/netns/topo.sh
RES=$(mktemp -d /tmp/wl-bench-netns.XXXXXX)
RUNPIDS=()
stop_all() {
	local p
	for p in "${RUNPIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${RUNPIDS[@]}"; do wait "$p" 2>/dev/null; done
	topo_cleanup
	rm -rf "$RES"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

us() { echo "${EPOCHREALTIME/./}"; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b - a) / 1e6 }'; }
until_us() { # deadline-us cmd..: poll every 0.1 s
	local dl=$1; shift
	while ! "$@" >/dev/null 2>&1; do
		[ "$(us)" -ge "$dl" ] && return 1
		sleep 0.1
	done
}
start3() {
	topo_daemon "$BIN" "$HUB" "$WG_HUB"
	topo_daemon "$BIN" "$LEAFA" "$WG_A"
	topo_daemon "$BIN" "$LEAFB" "$WG_B"
}
both_direct() { topo_direct "$WG_A" "$WG_B" "$1" 10.99.0.3 && topo_direct "$WG_B" "$WG_A" "$2" 10.99.0.2; }
both_auto() { topo_auto_only "$WG_A" "$WG_B" && topo_auto_only "$WG_B" "$WG_A"; }
replies() { grep -c ' bytes from ' "$1" 2>/dev/null; }
more_replies() { [ "$(replies "$1")" -ge "$2" ]; }
# back_after LOG T_US: seconds from T_US to the first reply after a loss
back_after() { awk -v a="$2" -v b="$(topo_ping_back "$1" "$(secs 0 "$2")")" 'BEGIN { printf "%.2f", b - a / 1e6 }'; }

# Each run prints "FIGURE VALUE" lines (VALUE a number, or a word saying
# why there is none); it runs in a subshell with its own topology.

# setup3 KIND PREFIX: hub and two leaves, daemons started at T0, routed direct.
setup3() {
	topo_init "$2"
	topo_"$1" >/dev/null 2>&1 && topo_wireguard >/dev/null 2>&1 || return 1
	T0=$(us)
	start3
	until_us $((T0 + 120000000)) both_direct "$EP_B" "$EP_A"
}

run_direct() { # figure topology short r
	if setup3 "$2" "wlb$3$4"; then echo "$1 $(secs "$T0" "$(us)")"; else echo "$1 timeout"; fi
}
run_public() { run_direct public public p "$1"; }
run_nat() { run_direct nat nat n "$1"; }
run_ipv6() { run_direct ipv6 public6 6 "$1"; }
run_lan() { run_direct lan lan l "$1"; }

mesh_setup() { # n prefix: sets T0, MESH_WANT
	local n=$1 i
	topo_init "$2"
	topo_mesh "$n" >/dev/null 2>&1 && topo_mesh_wireguard >/dev/null 2>&1 || return 1
	MESH_WANT=$TOPO_DIR/want
	for i in $(seq "$n"); do echo "$(topo_pub "${MESH_WG[i]}") ${MESH_EP[i]} ${MESH_TUN[i]}/32"; done >"$MESH_WANT"
	T0=$(us)
	topo_daemon "$BIN" "$HUB" "$WG_HUB"
	for i in $(seq "$n"); do topo_daemon "$BIN" "${MESH_NS[i]}" "${MESH_WG[i]}"; done
}
mesh_all() { # n: all ordered leaf pairs routed direct
	local n=$1 i now
	now=$(date +%s)
	for i in $(seq "$n"); do
		wg show "${MESH_WG[i]}" dump 2>/dev/null | awk -v now="$now" -v self="$(topo_pub "${MESH_WG[i]}")" -v want=$((n - 1)) '
			FILENAME == ARGV[1] { if ($1 != self) { ep[$1] = $2; ip[$1] = $3 } next }
			FNR > 1 && ($1 in ep) && $3 == ep[$1] && $5 > 0 && now - $5 < 180 {
				m = split($4, a, ","); for (j = 1; j <= m; j++) if (a[j] == ip[$1]) { c++; break } }
			END { exit c != want }' "$MESH_WANT" - || return 1
	done
}
run_mesh() { # n name r
	if mesh_setup "$1" "wlbm$1x$3" && until_us $((T0 + 300000000)) mesh_all "$1"; then
		echo "$2 $(secs "$T0" "$(us)")"
	else
		echo "$2 timeout"
	fi
}
run_mesh9() { run_mesh 8 mesh9 "$1"; }
run_mesh17() { run_mesh 16 mesh17 "$1"; }

# failover: the cut comes DELAY seconds after start (at once if 0).
run_fo() { # figure short delay r
	local fig=$1 log t_cut t_heal
	setup3 nat "wlb$2$4" || { echo "$fig setup-failed"; return; }
	[ "$3" -gt 0 ] && { sleep "$(secs "$(us)" $((T0 + $3 * 1000000)))" & wait $!; }
	log=$TOPO_DIR/ping.log
	topo_ping "$LEAFA" 10.99.0.3 "$log"
	wait_for 10 more_replies "$log" 5 || { echo "$fig no-ping"; return; }
	t_cut=$(us)
	topo_cut 203.0.113.2 203.0.113.3
	if until_us $((t_cut + 400000000)) topo_ping_back "$log" "$(secs 0 "$t_cut")"; then
		echo "$fig $(back_after "$log" "$t_cut")"
	else
		echo "$fig timeout"
	fi
	if ! until_us $((t_cut + 460000000)) both_auto; then
		echo "recovery no-fallback"; return
	fi
	t_heal=$(us)
	topo_uncut
	if until_us $((t_heal + 120000000)) both_direct "$EP_B" "$EP_A"; then
		echo "recovery $(secs "$t_heal" "$(us)")"
	else
		echo "recovery timeout"
	fi
}
run_failover() { run_fo failover-early f 0 "$1"; }
run_failover-late() { run_fo failover-late t 260 "$1"; }

# rebind / roam: pings both ways, then the event.
run_move() { # kind short r
	local la lb t since new lo hi
	setup3 nat "wlb$2$3" || { echo "$1-both setup-failed"; return; }
	la=$TOPO_DIR/ping-a.log lb=$TOPO_DIR/ping-b.log
	topo_ping "$LEAFA" 10.99.0.3 "$la"
	topo_ping "$LEAFB" 10.99.0.2 "$lb"
	wait_for 10 more_replies "$la" 5 && wait_for 10 more_replies "$lb" 5 || { echo "$1-both no-ping"; return; }
	t=$(us) since=$(secs 0 "$t")
	if [ "$1" = rebind ]; then
		topo_nat_rebind "$NATA" || { echo "$1-both event-failed"; return; }
		lo=${TOPO_NAT_RANGE%-*} hi=${TOPO_NAT_RANGE#*-}
	else
		topo_roam "$LEAFA" "$NATA" 203.0.113.12 || { echo "$1-both event-failed"; return; }
	fi
	if until_us $((t + 400000000)) topo_ping_back "$la" "$since" && until_us $((t + 400000000)) topo_ping_back "$lb" "$since"; then
		local ba bb
		ba=$(back_after "$la" "$t") bb=$(back_after "$lb" "$t")
		echo "$1-both $(awk -v a="$ba" -v b="$bb" 'BEGIN { print (a > b ? a : b) }')"
	else
		echo "$1-both timeout"
	fi
	moved_direct() {
		local ep port
		ep=$(topo_endpoint "$WG_B" "$WG_A")
		if [ "$1" = rebind ]; then
			port=${ep##*:}
			[ "${ep%:*}" = 203.0.113.2 ] && [ "$port" -ge "$lo" ] && [ "$port" -le "$hi" ] || return 1
		else
			[ "$ep" = 203.0.113.12:51820 ] || return 1
		fi
		both_direct "$EP_B" "$ep"
	}
	if until_us $((t + 400000000)) moved_direct "$1"; then
		echo "$1-direct $(secs "$t" "$(us)")"
	else
		echo "$1-direct timeout"
	fi
}
run_rebind() { run_move rebind r "$1"; }
run_roam() { run_move roam o "$1"; }

run_idle9() {
	local n=8 i ns ifc c0=0 c1=0
	mesh_setup "$n" "wlbi$1" && until_us $((T0 + 300000000)) mesh_all "$n" || { echo "idle9 setup-failed"; return; }
	count() { # ns iface: bytes of wirelink datagrams sent so far
		ip netns exec "$1" nft list table inet wlcount 2>/dev/null |
			awk '{ for (i = 1; i < NF; i++) if ($i == "bytes") s += $(i + 1) } END { print s + 0 }'
	}
	local nodes=("$HUB $WG_HUB")
	for i in $(seq "$n"); do nodes+=("${MESH_NS[i]} ${MESH_WG[i]}"); done
	for i in "${nodes[@]}"; do
		set -- $i
		ip netns exec "$1" nft -f - <<-NFT
		table inet wlcount {
			chain out { type filter hook output priority 0; oifname "$2" udp dport 51821 counter; }
		}
		NFT
	done
	sleep 60 & wait $!
	for i in "${nodes[@]}"; do set -- $i; c0=$((c0 + $(count "$1" "$2"))); done
	sleep "$IDLE" & wait $!
	for i in "${nodes[@]}"; do set -- $i; c1=$((c1 + $(count "$1" "$2"))); done
	echo "idle9 $(awk -v b=$((c1 - c0)) -v s="$IDLE" 'BEGIN { printf "%.1f", b / s }')"
}

# run_section SECTION JOBS: RUNS runs, at most JOBS at once.
run_section() {
	local s=$1 jobs=$2 r
	RUNPIDS=()
	for r in $(seq "$RUNS"); do
		while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
		( trap topo_cleanup EXIT; trap 'exit 143' TERM; "run_$s" "$r" ) >"$RES/$s.$r" 2>"$RES/$s.$r.err" &
		RUNPIDS+=($!)
	done
	wait
	RUNPIDS=()
}

summary() { # label unit values...
	local label=$1 unit=$2; shift 2
	printf '%s\n' "$@" | sort -g | awk -v l="$label" -v u="$unit" '
		/^[0-9.]+$/ { v[n++] = $1; next } { bad++ }
		END { if (n) printf "%-34s runs %d  median %.2f %s  min %.2f %s  max %.2f %s%s\n", l, n + bad, v[int((n - 1) / 2)], u, v[0], u, v[n - 1], u, bad ? "  (" bad " without a value)" : "";
		      else printf "%-34s no value in %d runs\n", l, bad }'
}

report() { # section figure label unit
	local vals
	local f
	mapfile -t vals < <(for f in "$RES/$1".*; do case $f in *.err) continue ;; esac; cat "$f"; done 2>/dev/null |
		awk -v f="$2" '$1 == f { print $2 }')
	echo "$2 runs: ${vals[*]}" >&2
	summary "$3" "$4" "${vals[@]}"
}

footprint() {
	if ! setup3 nat wlbfp; then echo "footprint: the leaves did not go direct" >&2; topo_cleanup; return; fi
	echo "idle measurement: direct after $(secs "$T0" "$(us)") s, now idling $IDLE s" >&2
	sleep 5
	cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
	local tck p rss hwm ticks
	tck=$(getconf CLK_TCK)
	declare -A c0
	for p in "${TOPO_DAEMONS[@]}"; do c0[$p]=$(cpu "$p"); done
	sleep "$IDLE"
	for p in "${TOPO_DAEMONS[@]}"; do
		rss=$(awk '/^VmRSS/ {print $2}' "/proc/$p/status")
		hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$p/status")
		ticks=$(( $(cpu "$p") - ${c0[$p]} ))
		awk -v r="$rss" -v h="$hwm" -v t="$ticks" -v hz="$tck" -v s="$IDLE" -v p="$p" 'BEGIN {
			cps = t / hz / s * 3600
			printf "daemon pid %-7s RSS %.2f MB (peak %.2f MB)  idle CPU %.2f s/hour (%.4f %%)\n", p, r / 1024, h / 1024, cps, cps / 36 }'
	done
	topo_cleanup
}

echo "bench/netns.sh: $BIN, $RUNS runs, sections: $SECTIONS" >&2
for s in $SECTIONS; do
	case $s in
	public) run_section public 1; report public public "routed direct (public):" s ;;
	nat) run_section nat 1; report nat nat "routed direct (nat):" s ;;
	ipv6) run_section ipv6 1; report ipv6 ipv6 "routed direct (ipv6-only public):" s ;;
	lan) run_section lan 1; report lan lan "routed direct (same lan):" s ;;
	mesh9) run_section mesh9 1; report mesh9 mesh9 "mesh 9 nodes, all 56 pairs direct:" s ;;
	mesh17) run_section mesh17 1; report mesh17 mesh17 "mesh 17 nodes, all 240 pairs direct:" s ;;
	failover)
		run_section failover "$JOBS"
		report failover failover-early "failover early, ping works again:" s
		report failover recovery "recovery, routed direct again:" s ;;
	failover-late)
		run_section failover-late "$JOBS"
		report failover-late failover-late "failover late, ping works again:" s
		report failover-late recovery "recovery (late), direct again:" s ;;
	rebind)
		run_section rebind "$JOBS"
		report rebind rebind-both "nat rebinding, both ways work:" s
		report rebind rebind-direct "nat rebinding, direct again:" s ;;
	roam)
		run_section roam "$JOBS"
		report roam roam-both "roaming, both ways work:" s
		report roam roam-direct "roaming, direct again:" s ;;
	idle9) run_section idle9 "$JOBS"; report idle9 idle9 "idle wirelink traffic, 9 nodes:" B/s ;;
	footprint) footprint ;;
	esac
done
