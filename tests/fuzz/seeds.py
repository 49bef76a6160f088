#!/usr/bin/env python3
"""Writes libFuzzer seed corpora from shared/vectors into OUTDIR/<target>/."""
import json
import os
import sys

vectors, outdir = sys.argv[1], sys.argv[2]


def put(target, name, data):
    d = os.path.join(outdir, target)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


wire = json.load(open(os.path.join(vectors, "wire.json")))
group = wire["signed_group"]
put("fuzz_packet", "good", bytes.fromhex(group["packet_hex"]))
for i, bad in enumerate(wire["bad_packets_from_A_to_B"]):
    put("fuzz_packet", "bad%02d" % i, bytes.fromhex(bad["hex"]))
caps = json.load(open(os.path.join(vectors, "go-captures.json")))
for i, pkt in enumerate(caps["packets"]):
    put("fuzz_packet", "go%02d" % i, bytes.fromhex(pkt))
# Member metadata entries: the value after attr, ttl, subject and length.
for i, fact in enumerate(group["inner_facts"]):
    raw = bytes.fromhex(fact["hex"])
    if raw[0] == ord("M"):
        put("fuzz_member_meta", "inner%02d" % i, raw[1 + 1 + 1 + 32 + 1:])
put("fuzz_member_meta", "unknown", b"b\x01\x01z\x02\xaa\xbbn\x03abc")
