#!/usr/bin/env bash
# Never deaf (issue 10, points 3 and 5), with a hub and one leaf A on public
# addresses, a daemon beside each (A's at --debug, with a notify socket):
#   - A's link goes down: A says so, its sd_notify STATUS says the link is
#     down and that sending fails, and it gossips again once the link is
#     back up, without a restart: its auto address is back, its sockets are
#     bound again, its new boot id reaches the hub and the hub's facts reach
#     A (its count of good datagrams grows);
#   - A's auto address is deleted: the same, and the log says so;
#   - a second wirelink on A's interface exits 1 naming the interface and
#     the PID of the first, which carries on;
#   - a flood of bad datagrams at --debug makes a bounded number of log
#     lines, and the "N more suppressed" summaries account for the rest.
# Every wait is bounded.
set -u
WL_TOP=${WL_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$WL_TOP/tests/cli/lib.sh"
. "$WL_TOP/tests/netns/topo.sh"
[ "$(id -u)" -eq 0 ] || { echo "SKIP: $suite: needs root for network namespaces"; exit 0; }

topo_init wld
cleanup() {
	topo_cleanup
	# Our daemons' interface locks (the daemons are gone: nobody holds them).
	rm -f "/run/wirelink/$WG_HUB.lock" "/run/wirelink/$WG_A.lock"
}
trap cleanup EXIT
topo_wan && topo_ns "$HUB" && topo_wan_host "$HUB" 203.0.113.1 &&
	topo_ns "$LEAFA" && topo_wan_host "$LEAFA" 203.0.113.2 &&
	topo_hub_up && topo_wg_leaf "$LEAFA" "$WG_A" 10.99.0.2 ||
	{ fail setup "could not build the namespaces"; finish; }

# A's sd_notify messages, one per line.
NOTIFY_LOG=$TOPO_DIR/notify.log
python3 - "$TOPO_DIR/notify.sock" "$NOTIFY_LOG" <<-'PY' &
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a", buffering=1) as log:
    while True:
        log.write(s.recv(4096).decode() + "\n")
PY
TOPO_PIDS+=($!)
wait_for 10 test -S "$TOPO_DIR/notify.sock" || { fail setup "no notify socket"; finish; }

ALOG=$TOPO_DIR/$WG_A.log HLOG=$TOPO_DIR/$WG_HUB.log
topo_daemon "$WL_BIN" "$HUB" "$WG_HUB" WIRELINK_DEBUG=1
topo_daemon "$WL_BIN" "$LEAFA" "$WG_A" WIRELINK_DEBUG=1 NOTIFY_SOCKET="$TOPO_DIR/notify.sock"
PA=$TOPO_LAST_PID
A_AUTO=$("$WL_BIN" autoaddr "$(topo_pub "$WG_A")")
HUB_AUTO=$("$WL_BIN" autoaddr "$(topo_pub "$WG_HUB")")
A8=$(topo_pub "$WG_A" | cut -c1-8) H8=$(topo_pub "$WG_HUB" | cut -c1-8)

# dump_stat KEY: SIGUSR1 A, read one counter of its latest "stats:" line.
stats_after() { [ "$(grep -c '^stats:' "$ALOG")" -gt "$1" ]; }
dump_stat() {
	local before
	before=$(grep -c '^stats:' "$ALOG")
	kill -USR1 "$PA"
	wait_for 10 stats_after "$before" || return 1
	grep '^stats:' "$ALOG" | tail -n 1 | tr ' ' '\n' | sed -n "s/^$1=//p"
}
has_auto() { ip -n "$LEAFA" -6 addr show dev "$WG_A" | grep -q "$A_AUTO/64"; }
last_status() { grep '^STATUS=' "$NOTIFY_LOG" | tail -n 1; }
# Lines of A's log after line $1 (a count taken before an event).
log_since() { tail -n +"$(($1 + 1))" "$ALOG"; }

# gossip_back NAME SINCE WHY: after an event at A's log line SINCE, A picked
# a new boot id for WHY, the hub heard it (A can send), and the hub's
# resend reached A (A can receive): both ways work again.
gossip_back() {
	local name=$1 since=$2 why=$3 id ok0=$4 ok1
	if ! wait_for 20 sh -c "tail -n +$((since + 1)) '$ALOG' | grep -q 'new boot id [0-9a-f]*: $why'"; then
		fail "$name-new-boot-id" "$(log_since "$since" | tail -n 5 | tr '\n' ' ')"
		return
	fi
	id=$(log_since "$since" | sed -n "s/.*new boot id \([0-9a-f]*\): $why.*/\1/p" | head -n 1)
	pass "$name-new-boot-id"
	if wait_for 20 grep -q "peer $A8 has boot id $id" "$HLOG"; then
		pass "$name-hub-hears-a"
	else
		fail "$name-hub-hears-a" "the hub never saw boot id $id: $(tail -n 3 "$HLOG" | tr '\n' ' ')"
	fi
	local deadline=$((SECONDS + 20))
	while ok1=$(dump_stat ok) && [ "${ok1:-0}" -le "$ok0" ] && [ "$SECONDS" -lt "$deadline" ]; do
		sleep 0.5
	done
	if [ -n "$ok1" ] && [ "$ok1" -gt "$ok0" ]; then
		pass "$name-a-hears-hub"
	else
		fail "$name-a-hears-hub" "A's good datagrams stayed at $ok0 (now ${ok1:-?})"
	fi
}

# --- start: both daemons up, alive to each other ----------------------------
if wait_for 20 grep -q 'listening on' "$ALOG" && wait_for 30 grep -q "peer $H8 is alive" "$ALOG" &&
	wait_for 30 grep -q "peer $A8 is alive" "$HLOG"; then
	pass start-gossip
else
	fail start-gossip "A: $(tail -n 3 "$ALOG" | tr '\n' ' ') hub: $(tail -n 3 "$HLOG" | tr '\n' ' ')"
fi
check start-status-healthy sh -c "grep '^STATUS=' '$NOTIFY_LOG' | tail -n 1 | grep -q '^STATUS=1 peers'"

# --- a second daemon on A's interface: refused before it touches anything ---
out=$(ip netns exec "$LEAFA" env WIRELINK_CONFIG_PATH="$TOPO_DIR" timeout 20 "$WL_BIN" --iface "$WG_A" 2>&1)
rc=$?
check second-daemon-exits-1 test "$rc" -eq 1
want="another wirelink (PID $PA) is already running on $WG_A (lock /run/wirelink/$WG_A.lock); exiting"
if echo "$out" | grep -qF "$want"; then
	pass second-daemon-message
else
	fail second-daemon-message "got: $(echo "$out" | tr '\n' ' ')"
fi
check second-daemon-said-nothing-else test "$(echo "$out" | wc -l)" -eq 1
check first-daemon-carries-on kill -0 "$PA"
check lock-file-0644 test "$(stat -c %a "/run/wirelink/$WG_A.lock")" = 644
check lock-dir-0755 test "$(stat -c %a /run/wirelink)" = 755

# --- A's link goes down, then up again ---------------------------------------
ok0=$(dump_stat ok)
n0=$(wc -l <"$ALOG")
ip -n "$LEAFA" link set "$WG_A" down
if wait_for 10 sh -c "tail -n +$((n0 + 1)) '$ALOG' | grep -q 'notice: $WG_A is down: wirelink can neither send nor receive until it is up again'"; then
	pass down-logged
else
	fail down-logged "$(log_since "$n0" | tail -n 5 | tr '\n' ' ')"
fi
check down-status-says-so wait_for 10 sh -c "grep '^STATUS=' '$NOTIFY_LOG' | tail -n 1 | grep -q '^STATUS=$WG_A is down; '"
# Sending fails while the link is down: the first failure is logged once,
# and the status says so. A sends at the latest with its next Alive to the
# hub: A has a public address the hub sees it at, so that is every two
# AlivePeriods (60 s, docs/quiet.md), at a jittered tick.
if wait_for 75 sh -c "grep '^STATUS=' '$NOTIFY_LOG' | tail -n 1 | grep -q 'sending fails ('"; then
	pass down-status-sending-fails
else
	fail down-status-sending-fails "$(last_status)"
fi
check down-send-failure-logged-once test "$(log_since "$n0" | grep -c "warning: sending on $WG_A fails: ")" -eq 1
n1=$(wc -l <"$ALOG")
ip -n "$LEAFA" link set "$WG_A" up
if wait_for 10 sh -c "tail -n +$((n1 + 1)) '$ALOG' | grep -q 'notice: $WG_A is up again; put our address $A_AUTO back on it, binding ports 51821 and 51822 again'"; then
	pass up-logged
else
	fail up-logged "$(log_since "$n1" | tail -n 5 | tr '\n' ' ')"
fi
check up-auto-address-back wait_for 10 has_auto
check up-auto-address-not-tentative sh -c "! ip -n $LEAFA -6 addr show dev $WG_A | grep '$A_AUTO/64' | grep -q tentative"
check up-listening-again wait_for 10 sh -c "tail -n +$((n1 + 1)) '$ALOG' | grep -q 'listening on \[$A_AUTO%$WG_A\]:51821'"
gossip_back up "$n1" "the interface was down" "$ok0"
check up-sending-works-again-logged wait_for 30 sh -c "tail -n +$((n1 + 1)) '$ALOG' | grep -q 'notice: sending on $WG_A works again, [0-9.]* s after the first failure ([0-9]* datagrams lost)'"
check up-status-clear wait_for 20 sh -c "grep '^STATUS=' '$NOTIFY_LOG' | tail -n 1 | grep -q '^STATUS=1 peers'"

# --- A's auto address is deleted while the link stays up ---------------------
ok0=$(dump_stat ok)
n2=$(wc -l <"$ALOG")
ip -n "$LEAFA" -6 addr del "$A_AUTO/64" dev "$WG_A"
if wait_for 10 sh -c "tail -n +$((n2 + 1)) '$ALOG' | grep -q 'notice: our address $A_AUTO was removed from $WG_A; put it back, binding ports 51821 and 51822 again'"; then
	pass deleted-logged
else
	fail deleted-logged "$(log_since "$n2" | tail -n 5 | tr '\n' ' ')"
fi
check deleted-auto-address-back wait_for 10 has_auto
gossip_back deleted "$n2" "our address was gone" "$ok0"

# --- a flood of bad datagrams at --debug: bounded lines, the rest summed up --
parse0=$(dump_stat parse)
n3=$(wc -l <"$ALOG")
# 3000 datagrams over about 3 s (30 bursts of 100), so the flood outlasts
# the first burst of lines and the limiter's steady state shows too.
FLOOD=3000
t0=$SECONDS
ip netns exec "$HUB" python3 -c "
import socket, time
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
idx = socket.if_nametoindex('$WG_HUB')
s.bind(('$HUB_AUTO', 0, 0, idx))
for i in range($FLOOD):
    s.sendto(b'garbage %d' % i, ('$A_AUTO', 51821, 0, idx))
    if i % 100 == 99:
        time.sleep(0.1)"
# Every bad datagram A received is either one line of its own or counted in
# a summary; the last summary comes within a second of the flood's end.
# accounted: reads A's drop counter afresh (some datagrams may still have
# been on their way) into parse1 and compares.
flood_lines() { log_since "$n3" | grep -c 'debug: dropped a [0-9]*-byte datagram from '; }
flood_sums() { log_since "$n3" | grep -c 'debug: dropped datagrams: [0-9]* more suppressed$'; }
flood_suppressed() {
	log_since "$n3" | sed -n 's/.*debug: dropped datagrams: \([0-9]*\) more suppressed$/\1/p' |
		awk '{ s += $1 } END { print s + 0 }'
}
parse1=$parse0
accounted() {
	parse1=$(dump_stat parse) || return 1
	[ $(($(flood_lines) + $(flood_suppressed))) -eq $((parse1 - parse0)) ]
}
wait_for 15 accounted
secs=$((SECONDS - t0 + 1))
lines=$(flood_lines) sums=$(flood_sums) sup=$(flood_suppressed)
got=$((parse1 - parse0))
# wireguard-go and the socket buffers drop some of a flood this fast.
check flood-received test "$got" -ge 200
# The limiter's promise: 5 at once, then a line and a summary per second.
if [ "$lines" -le $((5 + secs)) ] && [ "$sums" -ge 1 ] && [ "$sums" -le $((1 + secs)) ]; then
	pass flood-lines-bounded
else
	fail flood-lines-bounded "$lines lines and $sums summaries for $got bad datagrams in about $secs s"
fi
if [ $((lines + sup)) -eq "$got" ]; then
	pass flood-summaries-account-for-the-rest
else
	fail flood-summaries-account-for-the-rest "$lines lines + $sup suppressed != $got drops"
fi
echo "# flood: $got bad datagrams in about $secs s -> $lines lines, $sums summaries"

# --- the end: A stops cleanly, and the sanitizers saw nothing ---------------
kill -TERM "$PA"; wait "$PA"; rc=$?
unset "TOPO_DPID[$WG_A]"
check sigterm-exit-0 test "$rc" -eq 0
if grep -lE 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' "$TOPO_DIR"/*.log >/dev/null 2>&1; then
	fail sanitizers-clean "$(grep -hE 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' "$TOPO_DIR"/*.log | head -n 3)"
else
	pass sanitizers-clean
fi
finish
