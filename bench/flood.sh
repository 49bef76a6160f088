#!/usr/bin/env bash
# Namespace benchmark of a member that floods (issue 10, "a member cannot
# hurt the network"): the hub and three public leaves with wireguard-go,
# full-auto, the release build (tests/netns/flood_lib.sh). Once the leaves
# are routed direct, leaf A floods leaf B (the victim) and the hub with
# RATE valid signed datagrams of novel facts a second each, for SECONDS
# (tests/netns/flood_tool.c: full 1212-byte groups of endpoints about A,
# the hub, B and C with TTL 65535, a made-up member, a route into the
# tunnel network). Prints, as the median, min and max over RUNS runs:
#   - the victim's and the hub's wirelink CPU during the flood, % of one
#     core (utime + stime from /proc/PID/stat over the flood), and the
#     victim's wireguard-go for comparison (it decrypts every datagram);
#   - their RSS (VmRSS) before and after the flood;
#   - the datagrams/s the victim's wirelink accepted (verified) meanwhile;
#   - facts dropped beyond A's share (over_share in the SIGUSR1 dump), and
#     the victim's fact count before and after.
# Not a pass/fail test. Needs root. The issue's target: victim and hub each
# below 10 % of a core.
#   usage: bench/flood.sh [RUNS] [SECONDS] [RATE]   (default 5 60 1000)
#   WL_BIN: the binary (default build/wirelink); the flood tool is the one
#   of the same build (WL_FLOOD_TOOL overrides)
set -u
cd "$(dirname "$0")/.."
case "${1:-}" in -h|--help) sed -n '2,22p' "$0"; exit 0 ;; esac
RUNS=${1:-5} SECS=${2:-60} RATE=${3:-1000}
WL_BIN=$(realpath -m "${WL_BIN:-$PWD/build/wirelink}")
TOOL=${WL_FLOOD_TOOL:-$(dirname "$WL_BIN")/tests/netns/flood_tool}
[ -x "$WL_BIN" ] && [ -x "$TOOL" ] || { echo "build first: bash scripts/build.sh release (or set WL_BIN)" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "bench/flood.sh: needs root (network namespaces)" >&2; exit 2; }
. tests/netns/topo.sh
. tests/netns/flood_lib.sh
PREFIX=wlfb$(($$ % 1000))
RES=$(mktemp -d /tmp/wl-bench-flood.XXXXXX)
RUNPID=""
stop_all() {
	[ -n "$RUNPID" ] && { kill "$RUNPID" 2>/dev/null; wait "$RUNPID" 2>/dev/null; }
	rm -rf "$RES"
}
trap stop_all EXIT
trap 'exit 130' INT TERM

us() { echo "${EPOCHREALTIME/./}"; }
pct() { # ticks microseconds -> % of one core
	awk -v t="$1" -v u="$2" -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.1f", t / hz / (u / 1e6) * 100 }'
}
mb() { awk -v k="$1" 'BEGIN { printf "%.2f", k / 1024 }'; }
all_direct() { fl_direct A B && fl_direct B A && fl_direct B C && fl_direct C B; }

run_cleanup() { # the topology, and our daemons' interface locks
	local i
	topo_cleanup
	for i in "${WG_HUB:-}" "${WG_A:-}" "${WG_B:-}" "${WG_C:-}"; do [ -n "$i" ] && rm -f "/run/wirelink/$i.lock"; done
}

# One run: prints "FIGURE VALUE" lines.
one_run() {
	fl_topology "$PREFIX" >/dev/null 2>&1 || { echo "setup failed"; return; }
	fl_start "$WL_BIN"
	local blog=$TOPO_DIR/$WG_B.log hlog=$TOPO_DIR/$WG_HUB.log wgb=${TOPO_WGPID[$WG_B]}
	wait_for 60 all_direct || { echo "direct timeout"; return; }
	sleep 5
	fl_dump "$PID_B" "$blog" || { echo "dump failed"; return; }
	local f0 ok0 rb0 rh0 cb0 ch0 cw0 t0 t1
	f0=$(fl_facts "$blog") ok0=$(fl_stat "$blog" ok)
	rb0=$(fl_rss "$PID_B") rh0=$(fl_rss "$PID_HUB")
	cb0=$(fl_cpu "$PID_B") ch0=$(fl_cpu "$PID_HUB") cw0=$(fl_cpu "$wgb")
	t0=$(us)
	fl_flood "$TOOL" "$RATE" "$SECS"
	wait "$FLOOD_PID"
	t1=$(us)
	echo "victim-cpu $(pct $(($(fl_cpu "$PID_B") - cb0)) $((t1 - t0)))"
	echo "hub-cpu $(pct $(($(fl_cpu "$PID_HUB") - ch0)) $((t1 - t0)))"
	echo "victim-wg-cpu $(pct $(($(fl_cpu "$wgb") - cw0)) $((t1 - t0)))"
	echo "victim-rss-before $(mb "$rb0")"
	echo "victim-rss-after $(mb "$(fl_rss "$PID_B")")"
	echo "hub-rss-before $(mb "$rh0")"
	echo "hub-rss-after $(mb "$(fl_rss "$PID_HUB")")"
	fl_dump "$PID_B" "$blog" && fl_dump "$PID_HUB" "$hlog" || { echo "dump failed"; return; }
	echo "victim-rx $(awk -v n=$(($(fl_stat "$blog" ok) - ok0)) -v u=$((t1 - t0)) 'BEGIN { printf "%.0f", n / (u / 1e6) }')"
	echo "victim-over-share $(fl_stat "$blog" over_share)"
	echo "hub-over-share $(fl_stat "$hlog" over_share)"
	echo "victim-facts-before $f0"
	echo "victim-facts-after $(fl_facts "$blog")"
	echo "flood $(tail -n 1 "$TOPO_DIR/flood.out")" >&2
}

summary() { # label unit decimals figure
	local f
	for f in "$RES"/run.*; do case $f in *.err) continue ;; esac; awk -v k="$4" '$1 == k { print $2 }' "$f"; done |
		sort -g | awk -v l="$1" -v u="${2:+ $2}" -v d="$3" '
		function val(x) { return sprintf("%." d "f", x) u }
		/^[0-9.]+$/ { v[n++] = $1; next } { bad++ }
		END { if (n) printf "%-44s runs %d  median %s  min %s  max %s%s\n", l, n + bad, val(v[int((n - 1) / 2)]), val(v[0]), val(v[n - 1]), bad ? "  (" bad " without a value)" : "";
		      else printf "%-44s no value\n", l }'
}

echo "bench/flood.sh: $WL_BIN, $RUNS runs, A floods B and the hub with $RATE datagrams/s each for $SECS s" >&2
for r in $(seq "$RUNS"); do
	( trap run_cleanup EXIT; trap 'exit 143' TERM; one_run ) >"$RES/run.$r" 2>"$RES/run.$r.err" &
	RUNPID=$!
	wait "$RUNPID"
	RUNPID=""
	echo "run $r: $(tr '\n' ' ' <"$RES/run.$r")" >&2
	sed 's/^/  /' "$RES/run.$r.err" >&2
done
summary "victim wirelink CPU during the flood:" "%" 1 victim-cpu
summary "hub wirelink CPU during the flood:" "%" 1 hub-cpu
summary "victim wireguard-go CPU (for comparison):" "%" 1 victim-wg-cpu
summary "victim datagrams accepted per second:" "/s" 0 victim-rx
summary "victim RSS before the flood:" MB 2 victim-rss-before
summary "victim RSS after the flood:" MB 2 victim-rss-after
summary "hub RSS before the flood:" MB 2 hub-rss-before
summary "hub RSS after the flood:" MB 2 hub-rss-after
summary "victim facts dropped beyond the share:" "" 0 victim-over-share
summary "hub facts dropped beyond the share:" "" 0 hub-over-share
summary "victim facts before the flood:" "" 0 victim-facts-before
summary "victim facts after the flood:" "" 0 victim-facts-after
