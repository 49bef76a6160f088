#!/usr/bin/env bash
# `wirelink config generate` against a real wireguard-go device: the
# output loads with --check-config, and --dump shows the peers, the names
# from the wg-quick file's comments and the hub's trust.
# Needs root, ip, wireguard-go and wg; otherwise SKIPs.
# Names: namespace wlg-$$, interface wlg$$; removed on exit.
set -u
WL_TOP=${WL_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
WL_BUILD=${WL_BUILD:-$WL_TOP/build-asan}
suite=netns-confgen
. "$WL_TOP/tests/cli/lib.sh"
WL_BIN=$WL_BUILD/wirelink

skip_all() { echo "SKIP: $suite/all: $1"; exit 0; }
[ "$(id -u)" -eq 0 ] || skip_all "needs root (network namespaces)"
for t in ip wireguard-go wg; do
	command -v "$t" >/dev/null || skip_all "$t not installed (scripts/deps.sh)"
done
[ -x "$WL_BIN" ] || { echo "FAIL: $suite/build: $WL_BIN missing"; exit 1; }

ns=wlg-$$ ifc=wlg$$
tmp=$(mktemp -d /tmp/wlg-netns.XXXXXX)
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	ip netns del "$ns" 2>/dev/null
	rm -f "/var/run/wireguard/$ifc.sock"
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

ip netns add "$ns" || { echo "FAIL: $suite/setup: ip netns add"; exit 1; }
ip netns exec "$ns" ip link set lo up
WG_PROCESS_FOREGROUND=1 ip netns exec "$ns" wireguard-go "$ifc" >"$tmp/wg.log" 2>&1 &
pid=$!
for _ in $(seq 100); do [ -S "/var/run/wireguard/$ifc.sock" ] && break; sleep 0.1; done
[ -S "/var/run/wireguard/$ifc.sock" ] || { echo "FAIL: $suite/setup: wireguard-go did not start"; exit 1; }

in_ns() { ip netns exec "$ns" "$@"; }
(umask 077 && wg genkey >"$tmp/priv")
hub=$(wg genkey | wg pubkey) laptop=$(wg genkey | wg pubkey) phone=$(wg genkey | wg pubkey)
in_ns wg set "$ifc" private-key "$tmp/priv" listen-port 51820 \
	peer "$hub" endpoint 203.0.113.1:51820 allowed-ips 10.99.0.0/24 \
	peer "$laptop" endpoint 198.51.100.7:40000 allowed-ips 10.99.0.3/32,fd00:99::3/128 \
	peer "$phone" allowed-ips 10.99.0.4/32 || { echo "FAIL: $suite/setup: wg set"; exit 1; }
cat >"$tmp/$ifc.conf" <<CONF
[Interface]
# this box (not a peer)
PrivateKey = $(cat "$tmp/priv")
ListenPort = 51820

# hub
[Peer]
PublicKey = $hub
Endpoint = 203.0.113.1:51820
AllowedIPs = 10.99.0.0/24

[Peer]
# Name = laptop
PublicKey = $laptop

[Peer]
# Alice's phone
PublicKey = $phone
CONF

# generate MODE...: the config in $tmp/MODE/wirelink.$ifc.yaml
generate() {
	local dir=$tmp/$1; shift
	mkdir -p "$dir"
	in_ns "$WL_BIN" config generate "$@" --wg-conf "$tmp/$ifc.conf" "$ifc" \
		>"$dir/wirelink.$ifc.yaml" 2>"$dir/err"
}
loads() { # DIR: --check-config, then --dump into DIR/dump
	"$WL_BIN" --iface "$ifc" --config-path "$1" --check-config >"$1/check" 2>&1 &&
		"$WL_BIN" --iface "$ifc" --config-path "$1" --dump >"$1/dump" 2>&1
}
# peer_has DIR KEY TEXT: the --dump entry of KEY contains TEXT.
peer_has() {
	python3 -c '
import json, sys
cfg = json.load(open(sys.argv[1]))
p = [p for p in cfg["Peers"] if p["PublicKey"] == sys.argv[2]]
sys.exit(0 if p and sys.argv[3] in json.dumps(p[0], sort_keys=True) else 1)' "$1/dump" "$2" "$3"
}

if generate leaf --leaf && loads "$tmp/leaf"; then
	pass leaf-loads
	[ -n "${WL_SHOW:-}" ] && cat "$tmp/leaf/wirelink.$ifc.yaml"
	check leaf-router grep -q '"Router":false' "$tmp/leaf/dump"
	check leaf-hub-trusted peer_has "$tmp/leaf" "$hub" '"Trust": "Membership"'
	check leaf-hub-named peer_has "$tmp/leaf" "$hub" '"Name": "hub"'
	check leaf-hub-endpoint peer_has "$tmp/leaf" "$hub" '"203.0.113.1:51820"'
	check leaf-laptop-named peer_has "$tmp/leaf" "$laptop" '"Name": "laptop"'
	check leaf-laptop-ips peer_has "$tmp/leaf" "$laptop" '"fd00:99::3/128"'
	check leaf-phone-unnamed sh -c "! grep -q Alice '$tmp/leaf/dump'"
	check leaf-phone-commented grep -q "Alice's phone" "$tmp/leaf/wirelink.$ifc.yaml"
	check no-private-key sh -c "! grep -qF '$(cat "$tmp/priv")' '$tmp/leaf/wirelink.$ifc.yaml'"
else
	fail leaf-loads "$(cat "$tmp/leaf/err" "$tmp/leaf/check" 2>/dev/null | tail -n 5 | tr '\n' ' ')"
fi
if generate hub --hub && loads "$tmp/hub"; then
	pass hub-loads
	check hub-router grep -q '"Router":true' "$tmp/hub/dump"
	check hub-trusts-nobody sh -c "! grep -q Trust '$tmp/hub/dump'"
else
	fail hub-loads "$(cat "$tmp/hub/err" "$tmp/hub/check" 2>/dev/null | tail -n 5 | tr '\n' ' ')"
fi
if generate guess && loads "$tmp/guess"; then
	pass guess-loads
	check guess-says-so grep -q 'guessed: a leaf' "$tmp/guess/wirelink.$ifc.yaml"
else
	fail guess-loads "$(cat "$tmp/guess/err" "$tmp/guess/check" 2>/dev/null | tail -n 5 | tr '\n' ' ')"
fi
# A missing interface: exit 1 with its name.
out=$("$WL_BIN" config generate "wlg$$x" 2>&1)
rc=$?
if [ $rc -eq 1 ] && grep -q "wlg$$x" <<<"$out"; then pass missing-device
else fail missing-device "exit $rc: $out"; fi
finish
