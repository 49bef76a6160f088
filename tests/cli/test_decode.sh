#!/usr/bin/env bash
# wirelink decode / autoaddr / --version against the shared vectors.
set -u
WL_TOP=${WL_TOP:-$(cd "$(dirname "$0")/../.." && pwd)}
WL_VECTORS=${WL_VECTORS:-$WL_TOP/../shared/vectors}
. "$WL_TOP/tests/cli/lib.sh"
tmp=$(mktemp -d /tmp/wl-cli.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

vec() { python3 -c "import json,sys; d=json.load(open('$WL_VECTORS/wire.json')); print(eval(sys.argv[1]))" "$1"; }
vec "d['keys']['B']['private']" >"$tmp/b.key"
vec "d['keys']['C']['private']" >"$tmp/c.key"
vec "d['signed_group']['packet_hex']" >"$tmp/good.hex"
python3 -c "
import json; d=json.load(open('$WL_VECTORS/wire.json'))
open('$tmp/bad.hex','w').write(''.join(b['hex']+'\n' for b in d['bad_packets_from_A_to_B'] if b['hex']))
open('$tmp/good.bin','wb').write(bytes.fromhex(d['signed_group']['packet_hex']))"

# The vector packet, verified with B's key: 9 facts, every one as stated.
"$WL_BIN" decode --json --key "$tmp/b.key" "$tmp/good.hex" >"$tmp/good.json"; rc=$?
check good_exit_0 test "$rc" -eq 0
check good_json python3 - "$tmp/good.json" "$WL_VECTORS/wire.json" <<'PY'
import json, sys
out = [json.loads(l) for l in open(sys.argv[1])]
vec = json.load(open(sys.argv[2]))
assert len(out) == 1, out
p = out[0]
assert p["ok"] is True and p["error"] is None and p["verified"] is True, p
assert p["attr"] == "S"
assert p["signer"] == vec["keys"]["A"]["public"]
assert p["signer_auto_address"] == vec["keys"]["A"]["auto_address"]
f = p["facts"]
assert len(f) == 9, len(f)
a, c = vec["keys"]["A"]["public"], vec["keys"]["C"]["public"]
want = [
    ("!", "Alive", a, 255, "00112233445566778899aabbccddeeff"),
    ("e", "EndpointV4", a, 255, "192.0.2.1:51820"),
    ("E", "EndpointV6", a, 200, "[2001:db8::1]:51820"),
    ("a", "AllowedCidrV4", c, 255, "10.99.0.3/32"),
    ("A", "AllowedCidrV6", c, 255, "fd00:99::/64"),
    ("M", "MemberMetadata", c, 255, {"name": "leaf-c", "basic": False}),
    ("M", "MemberMetadata", c, 255, {"name": None, "basic": None}),
    ("m", "Member", c, 255, {"name": None, "basic": None}),
    ("e", "EndpointV4", a, 300, "198.51.100.7:1"),
]
for got, w in zip(f, want):
    assert (got["attr"], got["name"], got["subject"], got["ttl"], got["value"]) == w, (got, w)
PY

# Without a key: parsed, not verified, still exit 0.
out=$("$WL_BIN" decode --json <"$tmp/good.hex"); rc=$?
check unverified_stdin python3 -c "import json,sys; p=json.loads(sys.argv[1]); assert p['ok'] and p['verified'] is None and len(p['facts'])==9" "$out"
check unverified_exit_0 test "$rc" -eq 0

# The wrong recipient key: verification fails, exit 1.
out=$("$WL_BIN" decode --json --key "$tmp/c.key" "$tmp/good.hex"); rc=$?
check wrong_key_exit_1 test "$rc" -eq 1
check wrong_key_json python3 -c "import json,sys; p=json.loads(sys.argv[1]); assert p['ok'] is False and p['verified'] is False and 'authentication' in p['error']" "$out"

# --raw reads one binary datagram.
out=$("$WL_BIN" decode --raw "$tmp/good.bin" --key "$tmp/b.key" --json); rc=$?
check raw_input python3 -c "import json,sys; p=json.loads(sys.argv[1]); assert p['ok'] and p['verified'] is True and len(p['facts'])==9" "$out"

# Every bad packet is refused with a reason; exit 1; one object per line.
"$WL_BIN" decode --json --key "$tmp/b.key" "$tmp/bad.hex" >"$tmp/bad.json"; rc=$?
check bad_exit_1 test "$rc" -eq 1
check bad_json python3 - "$tmp/bad.json" "$WL_VECTORS/wire.json" <<'PY'
import json, sys
out = [json.loads(l) for l in open(sys.argv[1])]
vec = [b for b in json.load(open(sys.argv[2]))["bad_packets_from_A_to_B"] if b["hex"]]
assert len(out) == len(vec), (len(out), len(vec))
for o, v in zip(out, vec):
    assert o["ok"] is False and o["error"], (v["name"], o)
PY

# Human-readable output names every fact.
out=$("$WL_BIN" decode --key "$tmp/b.key" "$tmp/good.hex")
check text_output python3 -c "
import sys; t=sys.argv[1]
assert 'signature verified' in t and '9 facts' in t, t
for w in ['Alive','EndpointV4','EndpointV6','AllowedCidrV4','AllowedCidrV6','MemberMetadata','Member ','192.0.2.1:51820','name=leaf-c basic=0']:
    assert w in t, w" "$out"

# Usage errors exit 2 with a message.
"$WL_BIN" decode --bogus >/dev/null 2>&1; check usage_unknown_flag test $? -eq 2
"$WL_BIN" decode --key /nonexistent/key "$tmp/good.hex" >/dev/null 2>&1; check usage_missing_key test $? -eq 2
echo "zz" | "$WL_BIN" decode >/dev/null 2>&1; check not_hex_is_2 test $? -eq 2
check help_exit_0 "$WL_BIN" decode --help

# autoaddr and the top-level flags.
check autoaddr_vector test "$("$WL_BIN" autoaddr 18dCY1rwCNo4aQaWFccKFfhbqG0FGBxDkCSbyQ3awkw=)" = "fe80::7524:a338:e467:40ce"
"$WL_BIN" autoaddr notakey >/dev/null 2>&1; check autoaddr_bad_key_2 test $? -eq 2
check version_prints sh -c "'$WL_BIN' --version | grep -q '^wirelink [0-9]'"
check help_lists_commands sh -c "'$WL_BIN' --help | grep -q decode"
"$WL_BIN" nosuchcommand >/dev/null 2>&1; check unknown_command_2 test $? -eq 2
# tests/vectors is a copy for clones without ../shared: it must not drift.
if [ -d "$WL_TOP/../shared/vectors" ]; then
	for f in "$WL_TOP"/../shared/vectors/*.json; do
		check "vectors_copy_$(basename "$f" .json)" cmp -s "$f" "$WL_TOP/tests/vectors/$(basename "$f")"
	done
else
	echo "SKIP: $suite/vectors_copy: no ../shared/vectors beside this tree to compare with"
fi
finish
