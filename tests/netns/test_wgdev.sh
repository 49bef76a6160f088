#!/usr/bin/env bash
# The userspace WireGuard backend, rtnetlink (netif) and `wirelink dev show`
# against real wireguard-go interfaces in private network namespaces:
#   1. the shared device suite (tests/wgdev/wgdev_suite.c) with --backend userspace
#   2. `wirelink dev show` (text and --json) against `wg show dump`, also after
#      a real handshake between two namespaces (handshake time, byte counters)
#   3. the auto address added through netif (tests/wgdev/netif_tool autoaddr):
#      fe80::.../64 scope link, non-tentative and bindable at once
#   4. netif link listing and the link-gone watch (wireguard-go is stopped)
#   5. a wedged (SIGSTOPped) wireguard-go times out; a stale socket is refused
#   6. address dumps stay whole while other addresses churn (dump redone on
#      NLM_F_DUMP_INTR)
# Needs root, ip, wireguard-go, wg and python3; otherwise SKIPs.
# Names: namespaces wlu-a$$/wlu-b$$, interfaces wlu$$a/wlu$$b; removed on exit.
set -u
WL_TOP=${WL_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
WL_BUILD=${WL_BUILD:-$WL_TOP/build-asan}
suite=netns-wgdev
. "$WL_TOP/tests/cli/lib.sh"
WL_BIN=$WL_BUILD/wirelink
SUITE_BIN=$WL_BUILD/tests/wgdev/wgdev_suite
NETIF_TOOL=$WL_BUILD/tests/wgdev/netif_tool

skip_all() { echo "SKIP: $suite/all: $1"; exit 0; }
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespaces)"
for t in ip wireguard-go wg python3; do
	command -v "$t" >/dev/null || skip_all "$t not installed (scripts/deps.sh)"
done
for b in "$WL_BIN" "$SUITE_BIN" "$NETIF_TOOL"; do
	[ -x "$b" ] || { echo "FAIL: $suite/build: $b missing"; exit 1; }
done

id=$$
ns_a=wlu-a$id ns_b=wlu-b$id
if_a=wlu${id}a if_b=wlu${id}b
tmp=$(mktemp -d /tmp/wlu-netns.XXXXXX)
pid_a="" pid_b=""
cleanup() {
	for p in $pid_a $pid_b; do kill "$p" 2>/dev/null; done
	for p in $pid_a $pid_b; do wait "$p" 2>/dev/null; done
	ip netns del "$ns_a" 2>/dev/null
	ip netns del "$ns_b" 2>/dev/null
	rm -f "/var/run/wireguard/$if_a.sock" "/var/run/wireguard/$if_b.sock" \
		"/var/run/wireguard/wlu${id}s.sock"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# wait_for SECONDS CMD...: polls CMD every 0.1 s until it succeeds.
wait_for() {
	local limit=$(($1 * 10)); shift
	for _ in $(seq "$limit"); do "$@" && return 0; sleep 0.1; done
	return 1
}
in_a() { ip netns exec "$ns_a" "$@"; }
in_b() { ip netns exec "$ns_b" "$@"; }

# start_wg NS IFACE: starts wireguard-go in the foreground of a background
# job; `ip netns exec` execs it, so $! is wireguard-go's own PID.
start_wg() {
	WG_PROCESS_FOREGROUND=1 ip netns exec "$1" wireguard-go "$2" >"$tmp/$2.log" 2>&1 &
	started_pid=$!
	wait_for 10 test -S "/var/run/wireguard/$2.sock"
}

ip netns add "$ns_a" && ip netns add "$ns_b" || { echo "FAIL: $suite/setup: ip netns add"; exit 1; }
in_a ip link set lo up
in_b ip link set lo up
start_wg "$ns_a" "$if_a"; ok=$?; pid_a=$started_pid
[ $ok -eq 0 ] || { echo "FAIL: $suite/setup: wireguard-go $if_a did not start"; cat "$tmp/$if_a.log"; exit 1; }

# ---- 1. the shared suite ----
in_a "$SUITE_BIN" --iface "$if_a" --backend userspace >"$tmp/suite.out" 2>"$tmp/suite.err"
relay wgdev_suite_exit "$tmp/suite.out" "$tmp/suite.err" $?

# ---- 2. wirelink dev show vs wg ----
k() { wg genkey | wg pubkey; }
p1=$(k) p2=$(k) p3=$(k)
in_a wg set "$if_a" listen-port 51820 \
	peer "$p1" endpoint 192.0.2.1:51820 persistent-keepalive 25 allowed-ips 10.1.0.0/24,fd00:1::/64 \
	peer "$p2" endpoint '[2001:db8::2]:4000' allowed-ips 10.2.0.2/32,::/0 \
	peer "$p3" allowed-ips ''
# compare_show IFACE NS TAG: wirelink dev show (json + text) against wg show dump.
compare_show() {
	local ifc=$1 ns=$2 tag=$3
	ip netns exec "$ns" wg show "$ifc" dump >"$tmp/$tag.dump" || { fail "${tag}_wg_dump" "wg show failed"; return; }
	ip netns exec "$ns" "$WL_BIN" dev show "$ifc" --json >"$tmp/$tag.json" 2>"$tmp/$tag.err"
	check "${tag}_json_exit_0" test $? -eq 0
	ip netns exec "$ns" "$WL_BIN" dev show "$ifc" >"$tmp/$tag.txt" 2>>"$tmp/$tag.err"
	check "${tag}_text_exit_0" test $? -eq 0
	check "${tag}_json_matches_wg" python3 - "$tmp/$tag.json" "$tmp/$tag.dump" "$ifc" <<'PY'
import json, sys
raw = open(sys.argv[1]).read()
assert raw.count("\n") == 1 and raw.endswith("\n"), "not one line"
ours = json.loads(raw)
dump = [l.rstrip("\n").split("\t") for l in open(sys.argv[2]) if l.strip()]
dev = dump[0]
assert dev[0] not in raw, "private key printed"
assert ours["interface"] == sys.argv[3], ours["interface"]
assert ours["backend"] == "userspace", ours["backend"]
assert ours["public_key"] == dev[1], (ours["public_key"], dev[1])
assert ours["listen_port"] == int(dev[2])
assert ours["fwmark"] == (0 if dev[3] == "off" else int(dev[3], 0))
peers = {p["public_key"]: p for p in ours["peers"]}
assert len(peers) == len(ours["peers"]) == len(dump) - 1, (len(peers), len(dump) - 1)
for l in dump[1:]:
    p = peers[l[0]]
    assert (p["endpoint"] or "(none)") == l[2], (p["endpoint"], l[2])
    want = [] if l[3] == "(none)" else l[3].split(",")
    assert sorted(p["allowed_ips"]) == sorted(want), (p["allowed_ips"], want)
    hs = int(l[4])
    assert p["last_handshake"] == (hs if hs else None), (p["last_handshake"], hs)
    assert p["rx_bytes"] == int(l[5]) and p["tx_bytes"] == int(l[6]), (p, l)
    assert p["persistent_keepalive"] == (0 if l[7] == "off" else int(l[7]))
    assert set(p) == {"public_key", "endpoint", "last_handshake", "rx_bytes", "tx_bytes",
                      "persistent_keepalive", "allowed_ips"}, sorted(p)
PY
	check "${tag}_text_matches_wg" python3 - "$tmp/$tag.txt" "$tmp/$tag.dump" <<'PY'
import sys
text = open(sys.argv[1]).read()
dump = [l.rstrip("\n").split("\t") for l in open(sys.argv[2]) if l.strip()]
assert dump[0][0] not in text, "private key printed"
assert "private key: (hidden)" in text
assert f"public key: {dump[0][1]}" in text
assert f"listening port: {dump[0][2]}" in text
blocks = {}
for b in text.split("\n\n")[1:]:
    lines = b.strip().split("\n")
    assert lines[0].startswith("peer: "), lines
    blocks[lines[0][6:]] = {k.strip(): v.strip() for k, v in (x.split(":", 1) for x in lines[1:])}
assert len(blocks) == len(dump) - 1
for l in dump[1:]:
    b = blocks[l[0]]
    assert b.get("endpoint", "(none)") == l[2], (b, l)
    assert sorted(b["allowed ips"].split(", ")) == sorted(l[3].split(",")), (b, l)
    assert ("latest handshake" in b) == (l[4] != "0"), (b, l)
    ka = b.get("persistent keepalive", "off")
    assert ka == ("off" if l[7] == "off" else f"every {l[7]} seconds"), (ka, l[7])
PY
}
compare_show "$if_a" "$ns_a" show

in_a "$WL_BIN" dev show "$if_a" --backend userspace --json >/dev/null 2>&1
check show_backend_userspace test $? -eq 0
in_a "$WL_BIN" dev show "$if_a" --backend bogus >/dev/null 2>&1
check show_bad_backend_exit_2 test $? -eq 2
in_a "$WL_BIN" dev show ../etc >"$tmp/o" 2>&1
check show_rejects_slash sh -c "test $? -eq 1 && grep -q 'Invalid argument' '$tmp/o'"
in_a "$WL_BIN" dev show wlu-nosuch --backend userspace >/dev/null 2>&1
check show_missing_iface_exit_1 test $? -eq 1
"$WL_BIN" dev show --help >"$tmp/help" 2>&1
check show_help sh -c "test $? -eq 0 && grep -q -- '--json' '$tmp/help' && grep -q -- '--backend' '$tmp/help'"

# A real handshake: wlu..b in the second namespace, joined by a veth pair.
start_wg "$ns_b" "$if_b"; ok=$?; pid_b=$started_pid
if [ $ok -ne 0 ]; then
	fail handshake_setup "wireguard-go $if_b did not start"
else
	ip link add "wlu${id}x" netns "$ns_a" type veth peer name "wlu${id}y" netns "$ns_b"
	in_a ip addr add 198.51.100.1/24 dev "wlu${id}x"
	in_b ip addr add 198.51.100.2/24 dev "wlu${id}y"
	in_a ip link set "wlu${id}x" up
	in_b ip link set "wlu${id}y" up
	(umask 077; wg genkey >"$tmp/b.key")
	pub_a=$(in_a wg show "$if_a" public-key)
	pub_b=$(wg pubkey <"$tmp/b.key")
	in_b wg set "$if_b" private-key "$tmp/b.key" listen-port 51821 \
		peer "$pub_a" endpoint 198.51.100.1:51820 allowed-ips 10.99.0.1/32
	in_a wg set "$if_a" peer "$pub_b" endpoint 198.51.100.2:51821 allowed-ips 10.99.0.2/32
	in_a ip addr add 10.99.0.1/24 dev "$if_a"
	in_b ip addr add 10.99.0.2/24 dev "$if_b"
	in_a ip link set "$if_a" up
	in_b ip link set "$if_b" up
	handshaken() { [ "$(in_a wg show "$if_a" latest-handshakes | awk -v k="$pub_b" '$1==k {print $2}')" != 0 ]; }
	if wait_for 20 sh -c "ip netns exec $ns_a ping -c 1 -W 1 10.99.0.2 >/dev/null" && wait_for 10 handshaken; then
		pass handshake_over_veth
		compare_show "$if_a" "$ns_a" after_handshake
		check after_handshake_counters python3 - "$tmp/after_handshake.json" "$pub_b" <<'PY'
import json, sys, time
p = [p for p in json.load(open(sys.argv[1]))["peers"] if p["public_key"] == sys.argv[2]][0]
assert p["last_handshake"] and abs(time.time() - p["last_handshake"]) < 120, p
assert p["rx_bytes"] > 0 and p["tx_bytes"] > 0, p
PY
		# A wedged wireguard-go (stopped) must not hang us: the exchange
		# gives up after the 5 s idle limit (wg_uapi.h).
		kill -STOP "$pid_b"
		t0=$(date +%s%N)
		in_b "$WL_BIN" dev show "$if_b" >/dev/null 2>"$tmp/hung.err"
		rc=$?
		ms=$((($(date +%s%N) - t0) / 1000000))
		kill -CONT "$pid_b"
		check hung_daemon_times_out sh -c "test $rc -eq 1 && grep -q 'timed out' '$tmp/hung.err' && test $ms -ge 4500 && test $ms -lt 20000"
		echo "INFO: $suite: stopped wireguard-go: gave up after $ms ms"
		check resumed_daemon_answers in_b "$WL_BIN" dev show "$if_b" --backend userspace
	else
		fail handshake_over_veth "no handshake within 30 s: $(tail -n 3 "$tmp/$if_a.log" | tr '\n' ' ')"
	fi
fi

# ---- 3. the auto address through netif ----
in_a ip link set "$if_a" up
addr=$(in_a "$NETIF_TOOL" autoaddr "$if_a" 2>"$tmp/auto.err")
check autoaddr_added test -n "$addr"
want=$("$WL_BIN" autoaddr "$(in_a wg show "$if_a" public-key)")
check autoaddr_is_derived_from_key test "$addr" = "$want"
# Immediately (no waiting): present, scope link, not tentative, bindable.
in_a ip -6 addr show dev "$if_a" >"$tmp/ip6"
check autoaddr_in_ip_addr grep -q "inet6 $addr/64 scope link" "$tmp/ip6"
check autoaddr_not_tentative sh -c "grep -A1 'inet6 $addr/64' '$tmp/ip6' | grep -qv tentative && ! grep 'inet6 $addr/64' '$tmp/ip6' | grep -q tentative"
check autoaddr_bindable_at_once in_a python3 -c "
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind(('$addr', 0, 0, socket.if_nametoindex('$if_a')))"
in_a "$NETIF_TOOL" addrs "$if_a" >"$tmp/addrs"
check netif_lists_autoaddr python3 - "$tmp/addrs" "$addr" <<'PY'
import sys
rows = [l.split("\t") for l in open(sys.argv[1]).read().splitlines()]
r = [r for r in rows if r[0] == sys.argv[2] + "/64"]
assert len(r) == 1, rows
flags = int(r[0][2], 16)
assert r[0][1] == "253", r            # RT_SCOPE_LINK
assert flags & 0x02 and not flags & 0x40, hex(flags)  # NODAD, not TENTATIVE
assert any(x[0] == "10.99.0.1/24" and x[1] == "0" for x in rows), rows
PY
in_a "$NETIF_TOOL" autoaddr "$if_a" >/dev/null 2>"$tmp/auto2.err"
check autoaddr_twice_is_eexist sh -c "test $? -eq 1 && grep -q 'File exists' '$tmp/auto2.err'"

# ---- 4. links and the link-gone watch ----
in_a "$NETIF_TOOL" links >"$tmp/links"
check netif_lists_links python3 - "$tmp/links" "$if_a" "wlu${id}x" <<'PY'
import sys
rows = {r[1]: r for r in (l.split("\t") for l in open(sys.argv[1]).read().splitlines())}
assert rows["lo"][2] == "up", rows
assert rows[sys.argv[2]][2] == "up" and rows[sys.argv[2]][3] == "tun", rows[sys.argv[2]]
assert rows[sys.argv[3]][3] == "veth", rows[sys.argv[3]]
PY
ip netns exec "$ns_a" "$NETIF_TOOL" wait-gone "$if_a" 30 >"$tmp/watch" 2>&1 &
watch_pid=$!
if wait_for 10 grep -q ready "$tmp/watch"; then
	kill "$pid_a"
	wait "$pid_a" 2>/dev/null
	pid_a=""
	wait "$watch_pid"
	check watch_reports_link_gone sh -c "test $? -eq 0 && grep -q '^gone ' '$tmp/watch'"
	in_a "$WL_BIN" dev show "$if_a" --backend userspace >/dev/null 2>&1
	check show_after_daemon_exit_fails test $? -eq 1
else
	kill "$watch_pid" 2>/dev/null
	fail watch_reports_link_gone "watcher did not start: $(cat "$tmp/watch")"
fi

# ---- 6. address dumps while addresses change: netif redoes a dump the
# kernel flags as interrupted (NLM_F_DUMP_INTR), keeps the last one after 8
# interrupted tries, and removes duplicates (seen on Linux 6.18 even in
# dumps not flagged). 1500 fixed addresses on the veth; a bounded
# `ip -batch` churns other addresses as fast as it can. Every listing must
# succeed without duplicates; once the churn stops it must be whole.
# Omissions in a listing taken during the churn are possible (the kernel
# does not always flag them), so they are only counted (INFO). ----
veth=wlu${id}x
python3 -c "
for i in range(1, 1501): print(f'addr add fd00:d::{i:x}/128 dev $veth nodad')" >"$tmp/fixed.batch"
if in_a ip -batch "$tmp/fixed.batch" 2>"$tmp/batch.err"; then
	python3 -c "
for r in range(4000):
    for i in range(1, 6): print(f'addr add fd00:e::{i:x}/128 dev $veth nodad')
    for i in range(1, 6): print(f'addr del fd00:e::{i:x}/128 dev $veth')" >"$tmp/churn.batch"
	# `ip -n` (not the in_a function) so that $! is ip itself and the
	# kill below really stops the churn.
	ip -n "$ns_a" -force -batch "$tmp/churn.batch" >/dev/null 2>&1 &
	churn_pid=$!
	ok=0 nodup=0 whole=0 redone=0 gaveup=0
	for _ in $(seq 15); do
		in_a "$NETIF_TOOL" -d addrs "$veth" >"$tmp/dump" 2>"$tmp/dump.err" || continue
		ok=$((ok + 1))
		redone=$((redone + $(grep -c 'redoing' "$tmp/dump.err")))
		grep -q 'may be inconsistent' "$tmp/dump.err" && gaveup=$((gaveup + 1))
		[ "$(sort "$tmp/dump" | uniq -d | wc -l)" -eq 0 ] && nodup=$((nodup + 1))
		[ "$(grep -c '^fd00:d::' "$tmp/dump")" -eq 1500 ] && whole=$((whole + 1))
	done
	kill "$churn_pid" 2>/dev/null
	wait "$churn_pid" 2>/dev/null
	check address_dumps_succeed_under_churn test "$ok" -eq 15
	check address_dumps_without_duplicates test "$nodup" -eq 15
	echo "INFO: $suite: 15 listings under churn: $redone interrupted dumps redone, $gaveup kept after 8 interrupted tries, $whole of 15 whole"
	in_a "$NETIF_TOOL" addrs "$veth" >"$tmp/dump"
	check address_dump_whole_after_churn test "$(grep -c '^fd00:d::' "$tmp/dump")" -eq 1500
else
	fail address_dumps_succeed_under_churn "cannot add the fixed addresses: $(head -n 3 "$tmp/batch.err")"
fi

# ---- 5. a stale socket (daemon gone, file left): refused, and auto
# detection falls back to the kernel backend instead of failing there ----
stale=wlu${id}s
python3 -c "
import socket
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind('/var/run/wireguard/$stale.sock')
s.close()"
"$WL_BIN" dev show "$stale" --backend userspace >/dev/null 2>"$tmp/stale1"
check stale_socket_userspace_refused sh -c "test $? -eq 1 && grep -q 'Connection refused' '$tmp/stale1'"
"$WL_BIN" dev show "$stale" >/dev/null 2>"$tmp/stale2"
check stale_socket_auto_tries_kernel sh -c "test $? -eq 1 && grep -q 'stale UAPI socket, trying the kernel' '$tmp/stale2'"

finish
