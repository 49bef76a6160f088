#!/usr/bin/env bash
# Drop-in configs from the original Go wirelink (issue 11, item 4), as the
# real binary reads them: every case of tests/config-corpus/ is copied into
# a fresh config directory as wirelink.wlcorp0.EXT (a case may have several
# files: CASE.json and CASE.yaml are both copied) and loaded with --dump.
#   CASE.expect  the dump must contain these keys with these values (a JSON
#                subset: settings added later do not break it; null = the
#                key is absent or null); exit status 0
#   CASE.warn    the exact warning lines on stderr, in order, and nothing
#                else ('@' = the case's file, '@@' = DIR/wirelink.wlcorp0)
#   CASE.error   instead of .expect: exit status 2 with this message
# Also: an unknown WIRELINK_* variable is a warning (it was exit 2), and the
# corpus is in the config fuzzer's seeds.
set -u
WL_TOP=${WL_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$WL_TOP/tests/cli/lib.sh"
corpus=$WL_TOP/tests/config-corpus
tmp=$(mktemp -d /tmp/wl-corpus.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# Our environment must not leak into the runs.
unset_wl=()
for v in $(env | sed -n 's/^\(WIRELINK_[A-Za-z0-9_]*\)=.*/\1/p'); do unset_wl+=(-u "$v"); done
wl() { env "${unset_wl[@]}" "$@"; }

# compare EXPECT_FILE DUMP_FILE: prints what differs; exit 0 if nothing.
compare() {
	python3 - "$1" "$2" <<'EOF'
import json, sys
want = json.load(open(sys.argv[1]))
try:
    got = json.load(open(sys.argv[2]))
except ValueError as e:
    print("the dump is not JSON: %s" % e); sys.exit(1)
bad = []
def sub(w, g, path):
    if isinstance(w, dict):
        if not isinstance(g, dict):
            bad.append("%s: want a mapping, got %r" % (path, g)); return
        for k, v in w.items():
            if v is None:
                if g.get(k) is not None:
                    bad.append("%s.%s: want absent or null, got %r" % (path, k, g[k]))
            elif k not in g:
                bad.append("%s.%s: missing" % (path, k))
            else:
                sub(v, g[k], "%s.%s" % (path, k))
    elif isinstance(w, list):
        if not isinstance(g, list) or len(g) != len(w):
            bad.append("%s: want %r, got %r" % (path, w, g)); return
        for i, (a, b) in enumerate(zip(w, g)):
            sub(a, b, "%s[%d]" % (path, i))
    elif type(w) is not type(g) or w != g:
        bad.append("%s: want %r, got %r" % (path, w, g))
sub(want, got, "")
print("; ".join(bad))
sys.exit(1 if bad else 0)
EOF
}

# expand FILE DIR SINGLE: the lines of FILE with '@@' and '@' replaced.
expand() {
	local line
	while IFS= read -r line; do
		line=${line//@@/$2/wirelink.wlcorp0}
		printf '%s\n' "${line//@/$3}"
	done <"$1"
}

# check_warnings NAME WARN_FILE ERR_FILE DIR SINGLE: ERR has exactly the
# expected lines (each expected text inside its line: log prefixes vary).
check_warnings() {
	local -a want got
	mapfile -t want < <(expand "$2" "$4" "$5")
	mapfile -t got <"$3"
	if [ "${#got[@]}" -ne "${#want[@]}" ]; then
		fail "$1" "${#got[@]} lines on stderr, want ${#want[@]}: $(cat "$3")"
		return 1
	fi
	local i
	for i in "${!want[@]}"; do
		case "${got[$i]}" in
		*"${want[$i]}"*) ;;
		*) fail "$1" "stderr line $((i + 1)): got '${got[$i]}', want '${want[$i]}'"; return 1 ;;
		esac
	done
}

ntp=$(getent services ntp/udp | awk '{print $2}')
cases=$(ls "$corpus" | sed -n 's/\.\(expect\|error\)$//p' | sort -u)
for c in $cases; do
	if [ "$c" = service-port ] && [ "$ntp" != 123/udp ]; then
		echo "SKIP: $suite/$c: this machine's services database has no ntp 123/udp"
		continue
	fi
	dir=$tmp/$c
	mkdir "$dir"
	single=
	for f in "$corpus/$c".*; do
		ext=${f##*.}
		case "$ext" in expect|warn|error) continue ;; esac
		cp "$f" "$dir/wirelink.wlcorp0.$ext"
		single=$dir/wirelink.wlcorp0.$ext
	done
	wl "$WL_BIN" --iface wlcorp0 --config-path "$dir" --dump >"$dir/out" 2>"$dir/err"
	rc=$?
	if [ -f "$corpus/$c.error" ]; then
		want=$(expand "$corpus/$c.error" "$dir" "$single")
		if [ "$rc" -ne 2 ]; then
			fail "$c" "exit status $rc, want 2: $(cat "$dir/err")"
		elif ! grep -qxF "wirelink: $want" "$dir/err"; then
			fail "$c" "got '$(cat "$dir/err")', want 'wirelink: $want'"
		else
			pass "$c"
		fi
		continue
	fi
	if [ "$rc" -ne 0 ]; then
		fail "$c" "exit status $rc: $(cat "$dir/err")"
		continue
	fi
	if ! why=$(compare "$corpus/$c.expect" "$dir/out"); then
		fail "$c" "$why"
		continue
	fi
	check_warnings "$c" "$corpus/$c.warn" "$dir/err" "$dir" "$single" || continue
	# What was loaded means the same written out: the dump loads to the
	# same dump, without the warnings about how the input was written (one
	# about a limitation, like a zone, may recur).
	mkdir "$dir/again"
	cp "$dir/out" "$dir/again/wirelink.wlcorp0.json"
	wl "$WL_BIN" --iface wlcorp0 --config-path "$dir/again" --dump >"$dir/again/out" 2>"$dir/again/err"
	if [ $? -ne 0 ] || ! cmp -s "$dir/out" "$dir/again/out" ||
		{ [ -s "$dir/again/err" ] && ! grep -q 'has a zone' "$dir/again/err"; }; then
		fail "$c" "its dump does not load back clean: $(cat "$dir/again/err")"
		continue
	fi
	pass "$c"
done

# An unknown WIRELINK_* variable: a warning naming it, not exit 2.
mkdir "$tmp/env"
out=$(wl WIRELINK_NO_SUCH_SETTING=1 "$WL_BIN" --iface wlcorp0 --config-path "$tmp/env" \
	--check-config 2>&1)
rc=$?
case "$rc:$out" in
0:*"environment: WIRELINK_NO_SUCH_SETTING: unknown variable, ignored (known: WIRELINK_IFACE,"*"configuration OK"*)
	pass unknown-env-variable-warns ;;
*) fail unknown-env-variable-warns "exit status $rc: $out" ;;
esac

# Every corpus config is a seed of the config fuzzer.
missing=
for f in "$corpus"/*; do
	case "$f" in *.expect|*.warn|*.error) continue ;; esac
	cmp -s "$f" "$WL_TOP/tests/fuzz/corpus/config/corpus-$(basename "$f")" || missing="$missing $(basename "$f")"
done
if [ -z "$missing" ]; then pass corpus-seeds-the-fuzzer; else fail corpus-seeds-the-fuzzer "not in tests/fuzz/corpus/config:$missing"; fi
finish
