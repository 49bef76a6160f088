#!/usr/bin/env bash
# The man pages wirelink(8) and wirelink.json(5), as the build generates
# them from the settings table: they render without warnings, every
# setting of the table is in --help and in both pages, the examples load,
# and `meson install` puts them where man finds them.
set -u
WL_TOP=${WL_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$WL_TOP/tests/cli/lib.sh"
build=${WL_BUILD:-$WL_TOP/build-asan}
man8=$build/man/wirelink.8 man5=$build/man/wirelink.json.5
mangen=$build/man/wirelink-mangen
tmp=$(mktemp -d /tmp/wl-man.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

for p in "$man8" "$man5"; do
	check "built-$(basename "$p")" test -s "$p"
done
# Plain text of a page: no bold/underline overstrikes, no hyphenation,
# long lines, so a flag is always one word on one line.
render() { groff -man -Tascii -P-cbou -rLL=200n "$1" 2>&1; }

# groff's own warnings (-ww: all of them), and man-db's.
if command -v groff >/dev/null; then
	for p in "$man8" "$man5"; do
		out=$(groff -man -Tutf8 -ww -z "$p" 2>&1)
		if [ -z "$out" ]; then pass "groff-clean-$(basename "$p")"
		else fail "groff-clean-$(basename "$p")" "$out"; fi
	done
else
	echo "SKIP: $suite/groff-clean: groff is not installed (scripts/deps.sh test installs groff-base)"
fi
if command -v man >/dev/null; then
	for p in "$man8" "$man5"; do
		out=$(MANWIDTH=80 man --warnings -l "$p" 2>&1 >/dev/null)
		if [ -z "$out" ]; then pass "man-warnings-$(basename "$p")"
		else fail "man-warnings-$(basename "$p")" "$out"; fi
	done
else
	echo "SKIP: $suite/man-warnings: man is not installed (scripts/deps.sh test installs man-db)"
fi
# Every section the pages promise, in order.
has_sections() { # PAGE SECTION...
	local page=$1 prev=0 n; shift
	for s in "$@"; do
		n=$(grep -n -m1 "^\.SH \"\?$s\"\?$" "$page" | cut -d: -f1)
		[ -n "$n" ] || { echo "no section $s"; return 1; }
		[ "$n" -gt "$prev" ] || { echo "section $s out of order"; return 1; }
		prev=$n
	done
}
check sections-8 has_sections "$man8" NAME SYNOPSIS DESCRIPTION OPTIONS COMMANDS ENVIRONMENT \
	FILES SIGNALS "EXIT STATUS" "SEE ALSO"
check sections-5 has_sections "$man5" NAME SYNOPSIS DESCRIPTION PRECEDENCE SETTINGS \
	"PEERS ENTRIES" EXAMPLES "SEE ALSO"
check th-8 grep -q '^\.TH WIRELINK 8 ' "$man8"
check th-5 grep -q '^\.TH WIRELINK.JSON 5 ' "$man5"
check version-in-footer grep -qF "\"wirelink $("$WL_BIN" --version | sed 's/^wirelink //; s/-/\\\\-/g')\"" "$man8"

# Every row of the table: its flag in --help and wirelink(8), its variable
# in both, its file key in wirelink.json(5).
help=$("$WL_BIN" --help)
text8=$(render "$man8") text5=$(render "$man5")
# --help wraps at 78 columns: one line, single spaces, for phrases.
help1=$(tr '\n' ' ' <<<"$help" | tr -s ' ')
rows=$("$mangen" settings)
check settings-listed test "$(echo "$rows" | wc -l)" -ge 10
missing=""
while read -r flag env key; do
	grep -qF -- "--$flag" <<<"$help" || missing="$missing --$flag(help)"
	grep -qF -- "--$flag" <<<"$text8" || missing="$missing --$flag(man8)"
	if [ "$env" != - ]; then
		grep -qF -- "$env" <<<"$help" || missing="$missing $env(help)"
		grep -qF -- "$env" <<<"$text8" || missing="$missing $env(man8)"
	fi
	if [ "$key" != - ]; then
		grep -qE -- "^ +$key: " <<<"$text5" || missing="$missing $key(man5)"
		grep -qF -- "Config file key: $key." <<<"$help1" || missing="$missing $key(help)"
	fi
done <<<"$rows"
if [ -z "$missing" ]; then pass every-setting-everywhere; else fail every-setting-everywhere "$missing"; fi
# Subcommands, and the file-only and Peers keys.
missing=""
for c in decode dev autoaddr config; do
	grep -q "^ *wirelink $c" <<<"$text8" || missing="$missing $c"
done
for k in Peers ReportIfaces HideIfaces PublicKey Name Trust FactExchanger Endpoints AllowedIPs Basic; do
	grep -qE "^ +$k( |$)" <<<"$text5" || missing="$missing $k"
done
for s in SIGHUP SIGUSR1 SIGTERM SIGINT wg-quick wirelink.json; do
	grep -qF "$s" <<<"$text8" || missing="$missing $s"
done
if [ -z "$missing" ]; then pass commands-and-keys; else fail commands-and-keys "missing:$missing"; fi

# The examples in --help and wirelink.json(5) are configs wirelink loads.
example() { # FIRST-LINE LAST-LINE: the lines between them in --help, indent removed
	awk -v a="$1" -v b="$2" '$0 == a {on = 1} on {print substr($0, 5)} $0 == b {on = 0}' <<<"$help"
}
mkdir "$tmp/yaml" "$tmp/json"
example '    Router: false' '        Basic: true' >"$tmp/yaml/wirelink.wg0.yaml"
example '    {' '    }' >"$tmp/json/wirelink.wg0.json"
for fmt in yaml json; do
	out=$("$WL_BIN" --iface wg0 --config-path "$tmp/$fmt" --check-config 2>&1)
	if [ $? -eq 0 ] && grep -q "wirelink.wg0.$fmt" <<<"$out"; then pass "example-$fmt-loads"
	else fail "example-$fmt-loads" "$out"; fi
	grep -qF "$(sed -n 4p "$tmp/$fmt"/*)" <<<"$text5" || fail "example-$fmt-in-man5" "not in wirelink.json(5)"
done

# meson install puts them where man looks (man -w, with MANPATH at the
# staged tree).
if command -v meson >/dev/null && command -v man >/dev/null; then
	if meson install -C "$build" --destdir "$tmp/dest" --no-rebuild >"$tmp/install.log" 2>&1; then
		mandir=$(find "$tmp/dest" -type d -name man -path '*/share/man' | head -n 1)
		got8=$(MANPATH=$mandir man -w 8 wirelink 2>&1)
		got5=$(MANPATH=$mandir man -w 5 wirelink.json 2>&1)
		if [ "$got8" = "$mandir/man8/wirelink.8" ]; then pass installed-8
		else fail installed-8 "man -w 8 wirelink: $got8"; fi
		if [ "$got5" = "$mandir/man5/wirelink.json.5" ]; then pass installed-5
		else fail installed-5 "man -w 5 wirelink.json: $got5"; fi
		if cmp -s "$got8" "$man8"; then pass installed-8-is-built; else fail installed-8-is-built "differs"; fi
	else
		fail install "$(tail -n 5 "$tmp/install.log" | tr '\n' ' ')"
	fi
else
	echo "SKIP: $suite/installed: needs meson and man"
fi
finish
