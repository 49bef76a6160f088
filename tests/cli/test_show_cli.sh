#!/usr/bin/env bash
# wirelink show without a daemon (exit 3, naming the socket), its usage
# errors (exit 2) and its manual; the daemon's --help lists it and the
# ControlGroup and MetricsFile settings. (Against running daemons:
# tests/netns/test_show.sh.)
set -u
WL_TOP=${WL_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$WL_TOP/tests/cli/lib.sh"

iface=wlcnone$(($$ % 10000))
out=$("$WL_BIN" show "$iface" 2>&1); rc=$?
check no_daemon_exit_3 test "$rc" -eq 3
check no_daemon_names_socket grep -qF "no wirelink daemon runs on $iface (/run/wirelink/$iface.sock: no such socket)" <<<"$out"
out=$("$WL_BIN" show --json --metrics 2>&1); rc=$?
check exclusive_options_exit_2 test "$rc" -eq 2
check exclusive_options_say_why grep -q "exclude each other" <<<"$out"
"$WL_BIN" show a b >/dev/null 2>&1; rc=$?
check two_ifaces_exit_2 test "$rc" -eq 2
"$WL_BIN" show a/b >/dev/null 2>&1; rc=$?
check bad_iface_exit_2 test "$rc" -eq 2
help=$("$WL_BIN" show --help); rc=$?
check help_exit_0 test "$rc" -eq 0
for s in SYNOPSIS "--json" "--metrics" "why:" "EXIT STATUS" "docs/control.md"; do
	s2=${s,,}; check "help_has_${s2//[^a-z]/}" grep -qF -- "$s" <<<"$help"
done
main=$("$WL_BIN" --help)
check main_help_lists_show grep -Eq '^  show +what a running daemon knows' <<<"$main"
check main_help_control_group grep -qF -- "--control-group GROUP" <<<"$main"
check main_help_metrics_file grep -qF -- "--metrics-file PATH" <<<"$main"
finish
