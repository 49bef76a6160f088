#!/usr/bin/env bash
# Namespace benchmark of port mapping: seconds from starting the daemons
# (release build) until leaf A, behind a symmetric NAT whose miniupnpd
# grants it a mapping, and leaf B, behind a home NAT, are routed directly:
# B has A at A's mapped endpoint and A has B at B's NAT address, both with a
# handshake since the start and the other's tunnel IP in AllowedIPs.
# Without the mapping these two leaves never go direct (test_portmap.sh).
# The topology is tests/netns/portmap_topo.sh; miniupnpd is already up (it
# is the router) when the clock starts. Prints figures; not a pass/fail
# test. Needs root.
#   usage: bench/portmap.sh [RUNS]      (default 5)
#   WL_BIN: the binary (default build/wirelink)
set -u
cd "$(dirname "$0")/.."
RUNS=${1:-5}
WL_BIN=$(realpath -m "${WL_BIN:-$PWD/build/wirelink}")
[ -x "$WL_BIN" ] || { echo "build first: bash scripts/build.sh release (or set WL_BIN)" >&2; exit 2; }
. tests/netns/topo.sh
. tests/netns/portmap_topo.sh
[ -x "$PM_MINIUPNPD" ] || { echo "miniupnpd is missing: bash scripts/deps.sh test" >&2; exit 2; }
PREFIX=wlmb$(($$ % 10000))
stop() { pm_stop_daemons; topo_cleanup; }
trap stop EXIT
now() { date +%s.%N; }
routed() { # iface peer-iface endpoint since
	pm_direct "$1" "$2" "$3" "$4" && wg show "$1" allowed-ips | awk -v k="$(topo_pub "$2")" '$1 == k' | grep -q '10\.99\.'
}

one_run() { # -> RESULT: seconds, or why not
	pm_topology "$PREFIX" >/dev/null 2>&1 || { RESULT=setup-failed; stop; return; }
	pm_stun
	pm_miniupnpd || { RESULT=miniupnpd-failed; stop; return; }
	local t0 s0 t1 i ext=""
	s0=$(date +%s) t0=$(now)
	pm_start_daemon "$HUB" "$WG_HUB" "$TOPO_DIR/hub.log"
	pm_start_daemon "$LEAFA" "$WG_A" "$TOPO_DIR/a.log"
	pm_start_daemon "$LEAFB" "$WG_B" "$TOPO_DIR/b.log"
	for i in $(seq 600); do
		[ -n "$ext" ] || ext=$(pm_mapped_endpoint "$TOPO_DIR/a.log")
		if [ -n "$ext" ] && routed "$WG_B" "$WG_A" "$ext" "$s0" && routed "$WG_A" "$WG_B" '203.0.113.3:*' "$s0"; then
			t1=$(now)
			RESULT=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
			stop
			return
		fi
		sleep 0.1
	done
	RESULT=timeout
	stop
}

vals=()
for r in $(seq "$RUNS"); do one_run; vals+=("$RESULT"); echo "run $r: $RESULT" >&2; done
printf '%s' "${vals[*]}" | tr ' ' '\n' | sort -g | awk '
	/^[0-9.]+$/ { v[n++] = $1; next } { bad++ }
	END { l = "symmetric NAT + port mapping: routed direct"
	      if (n) printf "%s: runs %d  median %.2f s  min %.2f s  max %.2f s%s\n", l, n + bad, v[int((n - 1) / 2)], v[0], v[n - 1], bad ? "  (" bad " failed)" : "";
	      else printf "%s: no successful run\n", l }'
