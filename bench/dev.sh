#!/usr/bin/env bash
# Device backend benchmark for the userspace backend: creates a namespace
# with a wireguard-go interface and runs bench_dev (release build) on it.
# The kernel figure comes from the VM (tests/vm), where the module exists.
#   usage: bench/dev.sh [bench_dev options, e.g. --peers 1000 --rounds 20]
# Needs root, ip and wireguard-go. Names: namespace wlu-bench$$, iface wlub$$.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
bin=${WL_BENCH_BUILD:-$top/build}/bench/bench_dev
[ -x "$bin" ] || { echo "bench/dev.sh: build first (scripts/build.sh): $bin missing" >&2; exit 1; }
ns=wlu-bench$$ ifc=wlub$$
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null || true
	rm -f "/var/run/wireguard/$ifc.sock"
}
trap cleanup EXIT
ip netns add "$ns"
WG_PROCESS_FOREGROUND=1 ip netns exec "$ns" wireguard-go "$ifc" >/dev/null 2>&1 &
pid=$!
for _ in $(seq 100); do [ -S "/var/run/wireguard/$ifc.sock" ] && break; sleep 0.1; done
[ -S "/var/run/wireguard/$ifc.sock" ] || { echo "bench/dev.sh: wireguard-go did not start" >&2; exit 1; }
echo "wireguard-go $(wireguard-go --version | head -n 1 | awk '{print $2}'), $(nproc) CPUs, $(date -u +%Y-%m-%d)"
ip netns exec "$ns" "$bin" --iface "$ifc" --backend userspace "$@"
