#!/usr/bin/env bash
# The shared WireGuard device suite (tests/wgdev/wgdev_suite.c) against the
# in-memory backend (src/sys/wg_mem.c), so the model the simulator and the
# core tests run on is held to the checks wireguard-go and the kernel pass.
# Its own PASS/FAIL/SKIP lines pass through; checks that need a real
# interface SKIP and say so.
set -u
WL_TOP=${WL_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
suite=cli-wgdev-memory
. "$WL_TOP/tests/cli/lib.sh"
SUITE_BIN=${WL_BUILD:-$WL_TOP/build-asan}/tests/wgdev/wgdev_suite
[ -x "$SUITE_BIN" ] || { echo "FAIL: $suite/build: $SUITE_BIN missing"; exit 1; }
tmp=$(mktemp -d /tmp/wl-wgmem.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

"$SUITE_BIN" --backend memory >"$tmp/suite.out" 2>"$tmp/suite.err"
relay wgdev_suite_exit "$tmp/suite.out" "$tmp/suite.err" $?
finish
