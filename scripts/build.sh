#!/usr/bin/env bash
# Builds the three trees the tests use:
#   build/       the release binary (gcc, -O2, hardening, -Werror)
#   build-asan/  the same code with AddressSanitizer + UBSan (what tests run)
#   build-fuzz/  libFuzzer targets (clang, ASan + UBSan)
# "scripts/build.sh release" builds only build/.
set -eu
cd "$(dirname "$0")/.."
setup() { # dir, extra meson args...
	local dir=$1; shift
	if [ ! -f "$dir/build.ninja" ]; then
		meson setup "$dir" "$@" >"$dir.setup.log" 2>&1 || { cat "$dir.setup.log"; exit 1; }
	fi
	ninja -C "$dir" >"$dir.build.log" 2>&1 || { cat "$dir.build.log"; exit 1; }
}
setup build
[ "${1:-all}" = release ] && exit 0
# -O1, as the sanitizers' authors advise: the tests (an hour of 100 nodes in
# the simulator among them) take half the time of -O0; the frame pointer
# keeps ASan's reports whole.
setup build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug \
	-Doptimization=1 -Dc_args=-fno-omit-frame-pointer
CC=clang setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined -Db_lundef=false
