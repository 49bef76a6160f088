#!/usr/bin/env bash
# Runs every libFuzzer target in $WL_FUZZ_BUILD/tests/fuzz for a bounded time
# (WL_FUZZ_SECONDS, default 45) under ASan+UBSan, starting from seeds made
# from shared/vectors plus tests/fuzz/corpus/<target>/, WL_FUZZ_JOBS (default:
# the number of cores) at a time. Prints one PASS line per target with its
# execution count, or FAIL on any finding.
set -u
top=${WL_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
build=${WL_FUZZ_BUILD:-$top/build-fuzz}
vectors=${WL_VECTORS:-$top/../shared/vectors}
[ -f "$vectors/wire.json" ] || vectors=$top/tests/vectors
seconds=${WL_FUZZ_SECONDS:-45}
work=$(mktemp -d /tmp/wl-fuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT
python3 "$top/tests/fuzz/seeds.py" "$vectors" "$work/seeds" || { echo "FAIL: fuzz: cannot make seeds"; exit 1; }
jobs=${WL_FUZZ_JOBS:-$(nproc 2>/dev/null || echo 1)}
[ "$jobs" -ge 1 ] 2>/dev/null || jobs=1

# fuzz_one TARGET: runs it, then writes its PASS/FAIL lines to
# $work/NAME.result (targets run side by side; results print in order).
fuzz_one() {
	local target=$1 name corpus log status execs a
	name=$(basename "$target")
	corpus=$work/corpus-$name
	mkdir -p "$corpus" "$work/artifacts-$name"
	cp "$work/seeds/$name"/* "$corpus"/ 2>/dev/null
	cp "$top/tests/fuzz/corpus/${name#fuzz_}"/* "$corpus"/ 2>/dev/null
	log=$work/$name.log
	"$target" -max_total_time="$seconds" -print_final_stats=1 -max_len=4096 \
		-artifact_prefix="$work/artifacts-$name/" "$corpus" >"$log" 2>&1
	status=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	{
		if [ "$status" -eq 0 ]; then
			echo "PASS: fuzz/$name: ${execs:-?} executions in $seconds s, no finding"
		else
			echo "FAIL: fuzz/$name: exit $status after ${execs:-?} executions; report:"
			grep -E 'ERROR|SUMMARY|runtime error|Test unit written' "$log" | head -n 20 | sed 's/^/    /'
			for a in "$work/artifacts-$name"/*; do
				[ -f "$a" ] && echo "    input (hex): $(od -An -tx1 -v "$a" | tr -d ' \n' | head -c 600)"
			done
		fi
	} >"$work/$name.result"
}

# One target per core: each still gets its full WL_FUZZ_SECONDS.
targets=()
for target in "$build"/tests/fuzz/fuzz_*; do
	[ -f "$target" ] && [ -x "$target" ] && targets+=("$target")
done
[ "${#targets[@]}" -gt 0 ] || { echo "FAIL: fuzz: no fuzz targets in $build/tests/fuzz"; exit 1; }
running=0
for target in "${targets[@]}"; do
	if [ "$running" -ge "$jobs" ]; then
		wait -n
		running=$((running - 1))
	fi
	fuzz_one "$target" &
	running=$((running + 1))
done
wait
rc=0
for target in "${targets[@]}"; do
	name=$(basename "$target")
	if [ -f "$work/$name.result" ]; then
		cat "$work/$name.result"
		grep -q '^FAIL' "$work/$name.result" && rc=1
	else
		echo "FAIL: fuzz/$name: no result"
		rc=1
	fi
done
exit $rc
