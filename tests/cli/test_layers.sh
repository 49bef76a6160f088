#!/usr/bin/env bash
# The layers the build enforces (scripts/check-layers.py, run by meson before
# anything compiles): the tree as it is passes; a lower layer that includes
# a higher one, or a pure layer that reads a clock or writes output, is
# refused with the file, line and rule; and the core library really waits
# for the check in the build graph.
set -u
WL_TOP=${WL_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$WL_TOP/tests/cli/lib.sh"
build=${WL_BUILD:-$WL_TOP/build-asan}
checker=$WL_TOP/scripts/check-layers.py
tmp=$(mktemp -d /tmp/wl-layers.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

check tree-is-clean python3 "$checker" "$WL_TOP/src"

# refused CASE FILE LINE EXPECTED: appends LINE to a copy of FILE and wants
# the checker to fail with EXPECTED in its message.
refused() {
	local name=$1 file=$2 line=$3 want=$4
	rm -rf "$tmp/src" && cp -r "$WL_TOP/src" "$tmp/src"
	printf '%s\n' "$line" >>"$tmp/src/$file"
	local out rc
	out=$(python3 "$checker" "$tmp/src" 2>&1); rc=$?
	if [ "$rc" -eq 1 ] && printf '%s' "$out" | grep -qF -- "$want"; then
		pass "$name"
	else
		fail "$name" "exit $rc, output: $(printf '%s' "$out" | head -n 3 | tr '\n' ' ')"
	fi
}
refused core-includes-sys core/engine.h '#include "sys/wgdev.h"' \
	'src/core/engine.h'
refused core-includes-config core/apply.c '#include "config/config.h"' \
	'src/core may include only common, wire, core'
refused wire-includes-core wire/fact.c '#include "core/engine.h"' \
	'src/wire may include only common, wire'
refused sys-includes-daemon sys/udp.c '#include "daemon/driver.h"' \
	'src/sys may include only common, wire, core, sys'
refused config-includes-daemon config/config.c '#include "daemon/daemon.h"' \
	'src/config may include'
refused core-reads-clock core/engine.c 'static void f(void) { clock_gettime(0, 0); }' \
	'calls clock_gettime(): src/core is pure'
refused core-writes-stderr core/apply.c 'static void g(void) { fprintf(stderr, "x"); }' \
	'calls fprintf(): src/core is pure'
refused wire-random wire/packet.c 'static void h(void) { randombytes_buf(0, 0); }' \
	'calls randombytes_buf()'

# A comment or string that merely names a call is no violation.
rm -rf "$tmp/src" && cp -r "$WL_TOP/src" "$tmp/src"
printf '%s\n' '/* time(NULL) is an input */' 'static const char *s = "printf(";' >>"$tmp/src/core/rng.c"
check comments-and-strings-ignored python3 "$checker" "$tmp/src"

# The build graph: the core library waits for the check.
if [ -f "$build/build.ninja" ]; then
	check core-lib-depends-on-check grep -Eq '^build libwl_core\.a\.p/.*\|\|.*layers-checked\.h' \
		"$build/build.ninja"
else
	echo "SKIP: $suite/core-lib-depends-on-check: no build.ninja in $build"
fi
finish
