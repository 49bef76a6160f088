#!/usr/bin/env bash
# Time stamps on the daemon's log lines (LogTime, --log-time), as the real
# binary writes them: a daemon that cannot open its interface logs two
# errors and exits 1, which is enough to see the line format.
set -u
WL_TOP=${WL_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$WL_TOP/tests/cli/lib.sh"
tmp=$(mktemp -d /tmp/wl-logtime.XXXXXX)
ifc=wlgl$$
trap 'rm -rf "$tmp"; rm -f "/run/wirelink/$ifc.lock"' EXIT
mkdir "$tmp/cfg"

# run NAME [ARGS...]: the daemon on a missing userspace interface, stderr
# to $tmp/NAME.err; env comes from the caller.
run() {
	local name=$1; shift
	"$WL_BIN" --iface "$ifc" --config-path "$tmp/cfg" --backend userspace "$@" 2>"$tmp/$name.err"
}
# every_line NAME REGEX: every line of $tmp/NAME.err matches, and there is one.
every_line() {
	[ -s "$tmp/$1.err" ] && ! grep -Evq -- "$2" "$tmp/$1.err"
}
report() { # TEST NAME REGEX: every line of run NAME's stderr matches REGEX
	if every_line "$2" "$3"; then pass "$1"
	else fail "$1" "$(head -n 2 "$tmp/$2.err" 2>&1 | tr '\n' ' ')"; fi
}
mono='^\[ {0,4}[0-9]{1,}\.[0-9]{3}\] error: '
iso='^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3}[+-][0-9]{2}:[0-9]{2} error: '

unset JOURNAL_STREAM
run default; report default-monotonic default "$mono"
run iso --log-time iso; report flag-iso iso "$iso"
WIRELINK_LOG_TIME=none run none; report env-none none '^error: '
printf 'LogTime: iso\n' >"$tmp/cfg/wirelink.$ifc.yaml"
run file; report file-iso file "$iso"
WIRELINK_LOG_TIME=monotonic run env-over-file; report env-over-file env-over-file "$mono"
rm "$tmp/cfg/wirelink.$ifc.yaml"
# Under the journal: the priority, and no stamp unless one is asked for.
# JOURNAL_STREAM must name stderr itself (DEV:INODE); one inherited from
# elsewhere does not count.
: >"$tmp/journal.err"
JOURNAL_STREAM=$(stat -c '%d:%i' "$tmp/journal.err") run journal
report journal-plain journal '^<3>(wgdev|cannot open)'
: >"$tmp/journal-mono.err"
JOURNAL_STREAM=$(stat -c '%d:%i' "$tmp/journal-mono.err") run journal-mono --log-time monotonic
report journal-asked journal-mono '^<3>\[ {0,4}[0-9]+\.[0-9]{3}\] '
JOURNAL_STREAM=1:2 run inherited; report journal-elsewhere inherited "$mono"
# The first line comes within a minute of the start.
secs=$(sed -n '1s/^\[ *\([0-9]*\)\..*/\1/p' "$tmp/default.err")
check monotonic-from-start test "${secs:-999}" -lt 60
# A bad value names itself.
out=$("$WL_BIN" --log-time=utc --check-config 2>&1); rc=$?
if [ $rc -eq 2 ] && grep -q -- '--log-time: "utc" is not a time stamp kind' <<<"$out"; then pass bad-value
else fail bad-value "exit $rc: $out"; fi
finish
