#!/usr/bin/env bash
# A member cannot hurt the network (issue 10), with the real daemon and
# wireguard-go: the hub and three public leaves (tests/netns/flood_lib.sh),
# full-auto, daemons without --debug. Leaf A floods leaf B (the victim) and
# the hub with signed datagrams of novel facts from its own key and auto
# address (tests/netns/flood_tool.c: endpoints about itself, the hub, B and
# C with TTL 65535, a made-up member, a route into the tunnel network),
# WL_FLOOD_RATE datagrams/s to each (default 1000) for WL_FLOOD_SECONDS
# (default 60). B must not notice beyond A's share:
#   - throughout (checked every 5 s): B keeps the hub's route to the tunnel
#     network (10.99.0.0/24 in the hub's AllowedIPs), B and the honest leaf
#     C stay routed direct both ways, B's pings to C over that direct path
#     are answered in every 5 s, and B's fact count stays within A's share
#     of it (per subject 16 endpoints from A and 16 from the hub);
#   - A gets no AllowedIPs beyond its own tunnel address at B;
#   - afterwards: B's and the hub's dumps count facts dropped beyond A's
#     share (over_share) and TTLs cut (ttl_clamped) and untrusted claims,
#     pings still work, every daemon is alive, stops cleanly on SIGTERM, and
#     the logs hold no sanitizer report.
# Every wait is bounded; the whole suite takes about WL_FLOOD_SECONDS + 30 s.
set -u
WL_TOP=${WL_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
. "$WL_TOP/tests/cli/lib.sh"
. "$WL_TOP/tests/netns/topo.sh"
. "$WL_TOP/tests/netns/flood_lib.sh"
[ "$(id -u)" -eq 0 ] || { echo "SKIP: $suite: needs root for network namespaces"; exit 0; }
command -v wireguard-go >/dev/null || { echo "FAIL: $suite: wireguard-go is not installed"; exit 1; }
# The flood tool of the same build as the daemon.
TOOL=${WL_FLOOD_TOOL:-$(dirname "$WL_BIN")/tests/netns/flood_tool}
[ -x "$TOOL" ] || { echo "FAIL: $suite: no flood tool at $TOOL (build first)"; exit 1; }
RATE=${WL_FLOOD_RATE:-1000} SECS=${WL_FLOOD_SECONDS:-60}

info() { echo "# $suite: $*"; }
cleanup() {
	topo_cleanup
	local i
	for i in "${WG_HUB:-}" "${WG_A:-}" "${WG_B:-}" "${WG_C:-}"; do [ -n "$i" ] && rm -f "/run/wirelink/$i.lock"; done
}
fl_topology "wlf$(($$ % 10000))" >/dev/null 2>&1 || { cleanup; fail setup "could not build the namespaces"; finish; }
trap cleanup EXIT
fl_start "$WL_BIN"
BLOG=$TOPO_DIR/$WG_B.log HLOG=$TOPO_DIR/$WG_HUB.log

# --- before: the leaves direct, B pinging C ---------------------------------
all_direct() { fl_direct A B && fl_direct B A && fl_direct B C && fl_direct C B; }
if wait_for 60 all_direct; then
	pass leaves-direct
else
	fail leaves-direct "$(wg show "$WG_B" dump | tr '\n' ' ')"
	finish
fi
hub_route() { wg show "$WG_B" allowed-ips | awk -v k="$(topo_pub "$WG_HUB")" '$1 == k' | grep -qw '10\.99\.0\.0/24'; }
check hub-route-before wait_for 30 hub_route
PING=$TOPO_DIR/ping.log
topo_ping "$NS_B" "$TUN_C" "$PING"
replies() { grep -c ' bytes from ' "$PING"; }
more_replies() { [ "$(replies)" -ge "$1" ]; }
check ping-before wait_for 10 more_replies 5

fl_dump "$PID_B" "$BLOG" || { fail dump-before "B wrote no dump"; finish; }
facts0=$(fl_facts "$BLOG") ok0=$(fl_stat "$BLOG" ok)
# A's share of B's table: 16 endpoints per subject (A, the hub, B, C),
# and as much again through the hub, which holds A's junk within A's
# share there and passes it on (not facts about B itself, B's own subject);
# plus 8 for honest facts that may still arrive (a refreshed endpoint).
bound=$((facts0 + 4 * 16 + 3 * 16 + 8))
info "before the flood: B holds $facts0 facts (bound during the flood: $bound)"

# --- the flood ----------------------------------------------------------------
t0=$SECONDS
fl_flood "$TOOL" "$RATE" "$SECS"
info "A floods B and the hub: $RATE datagrams/s to each for $SECS s"
max_facts=$facts0 samples=0 bad=""
alive() { local p; for p in "$PID_HUB" "$PID_A" "$PID_B" "$PID_C"; do kill -0 "$p" 2>/dev/null || return 1; done; }
# Every 5 s while the flood lasts (and one last time after it).
while :; do
	running=0
	kill -0 "$FLOOD_PID" 2>/dev/null && running=1
	n0=$(replies)
	sleep 5
	samples=$((samples + 1))
	at="at $((SECONDS - t0)) s"
	alive || { bad="a daemon died $at"; break; }
	hub_route || bad="$bad; B lost the hub's route $at"
	fl_direct B C && fl_direct C B || bad="$bad; B and C not routed direct $at"
	more_replies $((n0 + 1)) || bad="$bad; no ping reply from C in 5 s $at"
	if fl_dump "$PID_B" "$BLOG"; then
		f=$(fl_facts "$BLOG")
		[ "$f" -gt "$max_facts" ] && max_facts=$f
	else
		bad="$bad; B wrote no dump within 10 s $at"
	fi
	[ "$running" -eq 1 ] || break
	[ $((SECONDS - t0)) -lt $((SECS + 60)) ] || { bad="$bad; the flood tool still runs $at"; break; }
done
wait "$FLOOD_PID"
flood=$(tail -n 1 "$TOPO_DIR/flood.out")
info "flood tool: $flood"
sent=$(echo "$flood" | sed -n 's/.*sent=\([0-9]*\).*/\1/p')
if [ -z "$bad" ]; then
	pass "intact-during-the-flood"
else
	fail "intact-during-the-flood" "${bad#; }"
fi
info "$samples samples; B's fact count at most $max_facts (before $facts0)"
check facts-bounded test "$max_facts" -le "$bound"
# The flood really reached B: most datagrams sent to it were accepted.
ok1=$(fl_stat "$BLOG" ok)
got=$(( ${ok1:-0} - ${ok0:-0} ))
info "B accepted $got datagrams during the flood; A sent ${sent:-?} (both receivers)"
check flood-reached-b test "$got" -ge $((RATE * SECS / 2))

# --- afterwards ---------------------------------------------------------------
a_allowed() { wg show "$WG_B" allowed-ips | awk -v k="$(topo_pub "$WG_A")" '$1 == k { $1 = ""; print }'; }
extra=$(a_allowed | tr ' ' '\n' | grep -v -e '^$' -e "^$TUN_A/32\$" -e '^fe80:[0-9a-f:]*/128$')
check no-route-hijacked test -z "$extra"
fl_dump "$PID_B" "$BLOG" && fl_dump "$PID_HUB" "$HLOG" || fail dumps-after "no dump within 10 s"
b_share=$(fl_stat "$BLOG" over_share) b_ttl=$(fl_stat "$BLOG" ttl_clamped) b_untr=$(fl_stat "$BLOG" untrusted)
h_share=$(fl_stat "$HLOG" over_share) h_ttl=$(fl_stat "$HLOG" ttl_clamped)
info "B: over_share=$b_share ttl_clamped=$b_ttl untrusted=$b_untr facts=$(fl_facts "$BLOG"); hub: over_share=$h_share ttl_clamped=$h_ttl facts=$(fl_facts "$HLOG")"
check b-over-share test "${b_share:-0}" -gt 0
check b-ttl-clamped test "${b_ttl:-0}" -gt 0
check b-untrusted test "${b_untr:-0}" -gt 0
check hub-over-share test "${h_share:-0}" -gt 0
check hub-ttl-clamped test "${h_ttl:-0}" -gt 0
check facts-bounded-after test "$(fl_facts "$BLOG")" -le "$bound"
check ping-after wait_for 10 more_replies $(($(replies) + 10))
check direct-after all_direct
check hub-route-after hub_route
lost=$(grep -c 'no answer yet' "$PING") answered=$(replies)
info "B's pings to C: $answered answered, $lost unanswered in all"

# --- the end: every daemon alive, a clean stop, no sanitizer report ------------
check daemons-alive alive
rcs=""
for p in "$PID_HUB" "$PID_A" "$PID_B" "$PID_C"; do
	kill -TERM "$p"; wait "$p"; rcs="$rcs $?"
done
TOPO_DAEMONS=()
check sigterm-exit-0 test "$rcs" = " 0 0 0 0"
if grep -hE 'ERROR: AddressSanitizer|runtime error:|LeakSanitizer' "$TOPO_DIR"/*.log >"$TOPO_DIR/san" 2>/dev/null; then
	fail sanitizers-clean "$(head -n 3 "$TOPO_DIR/san" | tr '\n' ' ')"
else
	pass sanitizers-clean
fi
finish
