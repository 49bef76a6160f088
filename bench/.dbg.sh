#!/usr/bin/env bash
# Namespace benchmark of the real daemon (release build) with wireguard-go:
#   - seconds from daemon start until both leaves are direct (each has the
#     other at its public/NAT address with a handshake and its tunnel IP in
#     AllowedIPs), for the public and the NAT topology, over RUNS runs each;
#   - idle RSS per daemon and CPU seconds per hour idle, measured over
#     IDLE_SECONDS of steady state on the NAT topology.
# Prints figures; not a pass/fail test. Needs root.
#   usage: bench/netns.sh [RUNS] [IDLE_SECONDS]     (defaults 5 and 120)
set -u
cd "$(dirname "$0")/.."
RUNS=${1:-5} IDLE=${2:-120}
BIN=$PWD/build/wirelink
[ -x "$BIN" ] || { echo "build first: bash scripts/build.sh release" >&2; exit 2; }
. tests/netns/topo.sh
DAEMONS=()
stop() { local p; for p in "${DAEMONS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; DAEMONS=(); topo_cleanup; }
trap stop EXIT

start() { # ns iface
	( ip netns exec "$1" env WIRELINK_CONFIG_PATH="$TOPO_DIR" "$BIN" --debug --iface "$2" 2>&1 & echo $! > "$TOPO_DIR/$2.pid"; wait ) | while IFS= read -r l; do echo "$EPOCHREALTIME $l"; done >"$TOPO_DIR/$2.log" &
	sleep 0.05; DAEMONS+=($(cat "$TOPO_DIR/$2.pid"))
}
direct() { # iface peer-iface endpoint
	wg show "$1" dump | awk -v k="$(topo_pub "$2")" -v ep="$3" '$1 == k && $3 == ep && $5 > 0 {f=1} END {exit !f}' &&
		wg show "$1" allowed-ips | awk -v k="$(topo_pub "$2")" '$1 == k' | grep -q '10\.99\.'
}
now() { date +%s.%N; }

one_run() { # kind [keep] -> sets RESULT to seconds or "timeout"
	topo_init "wlb$1"
	topo_"$1" >/dev/null 2>&1 && topo_wireguard >/dev/null 2>&1 || { RESULT=setup-failed; stop; return; }
	local t0 t1 i
	t0=$(now); echo "$EPOCHREALTIME START" > "$TOPO_DIR/t0"
	start "$HUB" "$WG_HUB"; start "$LEAFA" "$WG_A"; start "$LEAFB" "$WG_B"
	for i in $(seq 1200); do
		if direct "$WG_A" "$WG_B" 203.0.113.3:51820 && direct "$WG_B" "$WG_A" 203.0.113.2:51820; then
			t1=$(now)
			RESULT=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
			cp -r "$TOPO_DIR" /tmp/dbg-$RESULT; [ "${2:-}" = keep ] || stop
			return
		fi
		sleep 0.1
	done
	RESULT=timeout
	stop
}

summary() { # label values...
	local label=$1; shift
	printf '%s' "$*" | tr ' ' '\n' | sort -g | awk -v l="$label" '
		/^[0-9.]+$/ { v[n++] = $1; next } { bad++ }
		END { if (n) printf "%-30s runs %d  median %.2f s  min %.2f s  max %.2f s%s\n", l, n + bad, v[int((n - 1) / 2)], v[0], v[n - 1], bad ? "  (" bad " failed)" : "";
		      else printf "%-30s no successful run\n", l }'
}

for kind in public; do
	vals=()
	for r in $(seq "$RUNS"); do one_run "$kind"; vals+=("$RESULT"); done
	echo "$kind runs: ${vals[*]}" >&2
	summary "time to direct ($kind):" "${vals[@]}"
done

# Idle footprint: bring up the NAT topology, wait until direct, then measure.
exit 0
echo "idle measurement: direct after $RESULT s, now idling $IDLE s" >&2
sleep 5
cpu() { awk '{print $14 + $15}' "/proc/$1/stat"; }
tck=$(getconf CLK_TCK)
declare -A c0
for p in "${DAEMONS[@]}"; do c0[$p]=$(cpu "$p"); done
sleep "$IDLE"
for p in "${DAEMONS[@]}"; do
	rss=$(awk '/^VmRSS/ {print $2}' "/proc/$p/status")
	hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$p/status")
	ticks=$(( $(cpu "$p") - ${c0[$p]} ))
	awk -v r="$rss" -v h="$hwm" -v t="$ticks" -v hz="$tck" -v s="$IDLE" -v p="$p" 'BEGIN {
		cps = t / hz / s * 3600
		printf "daemon pid %-7s RSS %.2f MB (peak %.2f MB)  idle CPU %.2f s/hour (%.4f %%)\n", p, r / 1024, h / 1024, cps, cps / 36 }'
done
