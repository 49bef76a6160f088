# Shared helpers for shell test suites: PASS/FAIL lines and a failure count.
# Source it, then call check NAME CMD... or pass/fail directly.
WL_BIN=$(realpath -m "${WL_BIN:-${WL_BUILD:-$WL_TOP/build-asan}/wirelink}")
suite=${suite:-$(basename "$0" .sh)}
failures=0
pass() { echo "PASS: $suite/$1"; }
fail() { echo "FAIL: $suite/$1: $2"; failures=$((failures + 1)); }
# check NAME CMD...: passes if CMD exits 0.
check() {
	local name=$1; shift
	local out
	if out=$("$@" 2>&1); then pass "$name"; else fail "$name" "$(echo "$out" | tail -n 5 | tr '\n' ' ')"; fi
}
# relay NAME OUT ERR RC: passes on the PASS/FAIL/SKIP lines of a C suite that
# wrote stdout to OUT and stderr to ERR and exited with RC, counting its FAILs;
# a non-zero exit without a FAIL line (a crash) fails NAME with ERR's tail.
relay() {
	local n
	cat "$2"
	n=$(grep -c '^FAIL: ' "$2")
	failures=$((failures + n))
	if [ "$4" -ne 0 ] && [ "$n" -eq 0 ]; then
		fail "$1" "exit status $4: $(tail -n 5 "$3" | tr '\n' ' ')"
	fi
}
finish() { [ "$failures" -eq 0 ]; exit $?; }
