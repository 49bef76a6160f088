#!/usr/bin/env bash
# `wirelink show` and the control socket against real daemons: a hub and two
# leaves behind two NATs. With UDP between the NATs cut, leaf A shows B "via"
# the hub with a reason; once the cut is lifted, "direct" at B's endpoint.
# --json holds to the documented schema, --metrics to the exposition format
# (and the MetricsFile too); reload and log requests work; the socket is
# root's (0600), or a ControlGroup's (0660); an oversized request, a ninth
# client and garbage are refused cleanly; a stale socket file is replaced;
# without a daemon `wirelink show` exits 3 and the socket is gone.
set -u
WL_TOP=${WL_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$WL_TOP/tests/cli/lib.sh"
. "$WL_TOP/tests/netns/topo.sh"
[ "$(id -u)" -eq 0 ] || { echo "SKIP: $suite: needs root for network namespaces"; exit 0; }
command -v wireguard-go >/dev/null || { echo "FAIL: $suite: wireguard-go is not installed"; exit 1; }

CTL=(python3 "$WL_TOP/tests/netns/ctl.py")
RUN=/run/wirelink
DAEMONS=()
stop_all() {
	local p
	for p in "${DAEMONS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${DAEMONS[@]}"; do wait "$p" 2>/dev/null; done
	DAEMONS=()
	topo_cleanup
}
trap stop_all EXIT

start_daemon() { # ns iface log [env...]; sets LAST_PID
	local ns=$1 ifc=$2 log=$3; shift 3
	ip netns exec "$ns" env WIRELINK_CONFIG_PATH="$TOPO_DIR" "$@" "$WL_BIN" --iface "$ifc" --debug >"$log" 2>&1 &
	LAST_PID=$!
	DAEMONS+=("$LAST_PID")
}

# shows IFACE PATTERN: `wirelink show IFACE` prints a line matching PATTERN
# (extended regular expression) — a function, so wait_for asks again.
shows() { "$WL_BIN" show "$1" 2>&1 | grep -Eq "$2"; }
# peer_line IFACE KEY8: the table line of that peer and the line after it.
peer_line() { "$WL_BIN" show "$1" | grep -A1 -F " $2 "; }
# direct_at IFACE KEY8 ENDPOINT: the table says that peer is direct there.
direct_at() { "$WL_BIN" show "$1" | awk -v k="$2" -v ep="$3" '$2 == k && $3 == "direct" && $4 == ep {f = 1} END {exit !f}'; }

prefix=wlc$(($$ % 100000))
topo_init "$prefix"
topo_nat && topo_wireguard || { fail topology "could not build the namespaces"; finish; }
KA=$(topo_pub "$WG_A"); KB=$(topo_pub "$WG_B")
B8=${KB:0:8}

# A stale socket where the hub's will be (a daemon that crashed): replaced.
"${CTL[@]}" stale "$RUN/$WG_HUB.sock"
# A direct path is impossible at first: UDP between the two NATs is cut.
topo_cut 203.0.113.2 203.0.113.3
start_daemon "$HUB" "$WG_HUB" "$TOPO_DIR/hub.log"; HUB_PID=$LAST_PID
start_daemon "$LEAFA" "$WG_A" "$TOPO_DIR/a.log" WIRELINK_METRICS_FILE="$TOPO_DIR/a.prom"; A_PID=$LAST_PID
start_daemon "$LEAFB" "$WG_B" "$TOPO_DIR/b.log" WIRELINK_CONTROL_GROUP=nogroup; B_PID=$LAST_PID

if wait_for 20 shows "$WG_HUB" "interface: $WG_HUB"; then pass stale-socket-replaced
else fail stale-socket-replaced "$("$WL_BIN" show "$WG_HUB" 2>&1 | head -n 3 | tr '\n' ' ')"; fi

# Before: B is reached via the hub, and A says why it is not direct.
if wait_for 60 shows "$WG_A" "why: (trying candidate|all [0-9]+ candidates failed)"; then
	line=$(peer_line "$WG_A" "$B8")
	if echo "$line" | grep -q " via " && echo "$line" | grep -Eq "why: (trying candidate|all [0-9]+ candidates failed)"; then
		pass before-direct-via-hub-with-reason
	else fail before-direct-via-hub-with-reason "$(echo "$line" | tr '\n' '|')"; fi
else fail before-direct-via-hub-with-reason "$("$WL_BIN" show "$WG_A" 2>&1 | tr '\n' '|')"; fi
echo "# before:"; "$WL_BIN" show "$WG_A" | sed 's/^/#   /'

# After: the cut is lifted, B goes direct at its NAT's address.
topo_uncut
if wait_for 90 direct_at "$WG_A" "$B8" "$EP_B"; then
	line=$(peer_line "$WG_A" "$B8")
	if ! echo "$line" | grep -q "why:"; then pass after-direct-with-endpoint
	else fail after-direct-with-endpoint "$(echo "$line" | tr '\n' '|')"; fi
else fail after-direct-with-endpoint "$("$WL_BIN" show "$WG_A" 2>&1 | tr '\n' '|')"; fi
echo "# after:"; "$WL_BIN" show "$WG_A" | sed 's/^/#   /'

# --json: the documented schema; B is direct in it too.
if out=$("$WL_BIN" show "$WG_A" --json | "${CTL[@]}" check-json "$KA" 2>&1) && echo "$out" | grep -qx "$B8 direct"; then
	pass json-schema
else fail json-schema "$out"; fi

# --metrics: every line in the exposition grammar; the counters moved as
# the scenario says (A went direct to B once, measured in the histogram).
check_metrics() { # text file: grammar, then the scenario's counters
	local samples
	samples=$("${CTL[@]}" check-metrics <"$1") || return 1
	echo "$samples" | grep -Eq "^wirelink_peers\{iface=\"$WG_A\",path=\"direct\"\} 2$" &&
	echo "$samples" | grep -Eq "^wirelink_path_changes_total\{iface=\"$WG_A\",to=\"direct\"\} [1-9]" &&
	echo "$samples" | grep -Eq "^wirelink_time_to_direct_seconds_count\{iface=\"$WG_A\"\} [1-9]" &&
	echo "$samples" | grep -Eq "^wirelink_time_to_direct_seconds_bucket\{iface=\"$WG_A\",le=\"\+Inf\"\} [1-9]" &&
	echo "$samples" | grep -Eq "^wirelink_datagrams_received_total\{iface=\"$WG_A\"\} [1-9]" &&
	echo "$samples" | grep -Eq "^wirelink_datagrams_dropped_total\{iface=\"$WG_A\",reason=\"bad_signature\"\} 0$"
}
"$WL_BIN" show "$WG_A" --metrics >"$TOPO_DIR/metrics.txt"
if check_metrics "$TOPO_DIR/metrics.txt"; then pass metrics
else fail metrics "$("${CTL[@]}" check-metrics <"$TOPO_DIR/metrics.txt" 2>&1 | tail -n 3 | tr '\n' '|')"; fi
# The MetricsFile is rewritten every few seconds: the same text, as fresh.
if wait_for 15 check_metrics "$TOPO_DIR/a.prom"; then pass metrics-file
else fail metrics-file "$(ls -l "$TOPO_DIR"/a.prom* 2>&1 | tr '\n' ' ')"; fi

# reload and log requests.
ans=$("${CTL[@]}" ask "$RUN/$WG_A.sock" '{"cmd":"reload"}')
if [ "$ans" = '{"ok":true,"schema":1}' ] && wait_for 10 grep -q "configuration reloaded" "$TOPO_DIR/a.log"; then
	pass reload-request
else fail reload-request "$ans"; fi
a1=$("${CTL[@]}" ask "$RUN/$WG_A.sock" '{"cmd":"log","level":"info"}')
a2=$("${CTL[@]}" ask "$RUN/$WG_A.sock" '{"cmd":"log"}')
a3=$("${CTL[@]}" ask "$RUN/$WG_A.sock" '{"cmd":"log","level":"loud"}')
if [ "$a1" = '{"ok":true,"schema":1,"level":"info"}' ] && [ "$a2" = "$a1" ] &&
	echo "$a3" | grep -q '"ok":false,"error":"level must be one of' &&
	grep -q "log level set to info (control socket)" "$TOPO_DIR/a.log"; then
	pass log-request
else fail log-request "$a1 | $a2 | $a3"; fi
ans=$("${CTL[@]}" ask "$RUN/$WG_A.sock" '{"cmd":"facts"}')
if echo "$ans" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["ok"] and any(f["attr"].startswith("Endpoint") for f in d["facts"])'; then
	pass facts-request
else fail facts-request "$(echo "$ans" | head -c 300)"; fi

# Garbage and limits: refused with a reason, the daemon unharmed.
a1=$("${CTL[@]}" ask "$RUN/$WG_A.sock" '{"cmd":"rm -rf"}')
a2=$("${CTL[@]}" ask "$RUN/$WG_A.sock" 'not json')
a3=$("${CTL[@]}" oversize "$RUN/$WG_A.sock")
a4=$("${CTL[@]}" flood "$RUN/$WG_A.sock" 8)
if echo "$a1" | grep -q '"ok":false,"error":"unknown cmd' && echo "$a2" | grep -q '"ok":false,"error":"request is not JSON' &&
	[ "$a3" = $'{"ok":false,"error":"request line longer than 4096 bytes"}\nclosed' ] &&
	[ "$a4" = $'{"ok":false,"error":"too many clients (at most 8)"}\nheld-ok' ] &&
	shows "$WG_A" "interface: $WG_A"; then
	pass bad-requests-refused
else fail bad-requests-refused "$a1 | $a2 | $a3 | $a4"; fi

# Permissions: A's socket is root's; B's is also ControlGroup nogroup's.
NOBODY=(setpriv --reuid=nobody --regid=nogroup --clear-groups /usr/bin/python3 "$WL_TOP/tests/netns/ctl.py")
modes="$(stat -c '%a %U %G' "$RUN/$WG_A.sock") / $(stat -c '%a %U %G' "$RUN/$WG_B.sock")"
if [ "$modes" = "600 root root / 660 root nogroup" ] &&
	"${NOBODY[@]}" ask "$RUN/$WG_A.sock" '{"cmd":"status"}' 2>&1 | grep -q PermissionError &&
	"${NOBODY[@]}" ask "$RUN/$WG_B.sock" '{"cmd":"status"}' | grep -q '"ok":true'; then
	pass socket-permissions
else fail socket-permissions "$modes"; fi

# Without a daemon: exit 3 naming the socket; the socket and the metrics
# file are gone with the daemon.
kill "$A_PID"; wait "$A_PID" 2>/dev/null
out=$("$WL_BIN" show "$WG_A" 2>&1); rc=$?
if [ "$rc" -eq 3 ] && echo "$out" | grep -qF "$RUN/$WG_A.sock" && [ ! -e "$RUN/$WG_A.sock" ] && [ ! -e "$TOPO_DIR/a.prom" ]; then
	pass no-daemon-exit-3
else fail no-daemon-exit-3 "rc $rc: $out"; fi
finish
