#!/usr/bin/env python3
"""Writes seed inputs for fuzz_genl: WireGuard generic netlink dump replies
(family id 0x1d, as fuzz_genl.c expects) built from the layout in
linux/wireguard.h. Usage: genl_seeds.py OUTDIR"""
import os
import socket
import struct
import sys

FAMILY = 0x1D
NESTED = 0x8000
NLMSG_ERROR, NLMSG_DONE = 2, 3
NLM_F_MULTI, NLM_F_ACK_TLVS = 0x2, 0x200


def attr(t, payload):
    a = struct.pack("=HH", 4 + len(payload), t) + payload
    return a + b"\0" * (-len(a) % 4)


def nest(t, *parts):
    return attr(t | NESTED, b"".join(parts))


def msg(mtype, payload, flags=NLM_F_MULTI, seq=1):
    return struct.pack("=IHHII", 16 + len(payload), mtype, flags, seq, 0) + payload


def genl(attrs):
    return msg(FAMILY, struct.pack("=BBH", 0, 1, 0) + b"".join(attrs))


def done(err=0):
    return msg(NLMSG_DONE, struct.pack("=i", err))


def sin(ip, port):
    return struct.pack("=H", socket.AF_INET) + struct.pack("!H", port) + \
        socket.inet_pton(socket.AF_INET, ip) + b"\0" * 8


def sin6(ip, port):
    return struct.pack("=H", socket.AF_INET6) + struct.pack("!HI", port, 0) + \
        socket.inet_pton(socket.AF_INET6, ip) + struct.pack("=I", 0)


def aip(fam, ip, cidr):
    return nest(0, attr(1, struct.pack("=H", fam)), attr(2, socket.inet_pton(fam, ip)),
                attr(3, struct.pack("=B", cidr)))


def peer(key, *extra):
    return nest(0, attr(1, key), *extra)


def device(*extra):
    return [attr(1, struct.pack("=I", 7)), attr(2, b"wg0\0"), attr(3, b"\x11" * 32),
            attr(4, b"\x22" * 32), attr(6, struct.pack("=H", 51820)),
            attr(7, struct.pack("=I", 0))] + list(extra)


def main(out):
    os.makedirs(out, exist_ok=True)
    k1, k2 = b"\x01" * 32, b"\x02" * 32
    full = genl(device(nest(8,
        peer(k1, attr(2, b"\0" * 32), attr(4, sin("192.0.2.1", 51820)),
             attr(5, struct.pack("=H", 25)), attr(6, struct.pack("=qq", 1700000000, 5)),
             attr(7, struct.pack("=Q", 1000)), attr(8, struct.pack("=Q", 2000)),
             attr(10, struct.pack("=I", 1)),
             nest(9, aip(socket.AF_INET, "10.0.0.0", 24), aip(socket.AF_INET6, "fd00::", 64))),
        peer(k2, attr(4, sin6("2001:db8::1", 4500)))))) + done()
    split = genl(device(nest(8, peer(k1, nest(9, aip(socket.AF_INET, "10.1.0.0", 16)))))) + \
        genl([attr(1, struct.pack("=I", 7)), nest(8,
            peer(k1, nest(9, aip(socket.AF_INET, "10.2.0.0", 16))),
            peer(k2, nest(9, aip(socket.AF_INET6, "fd01::1", 128))))]) + done()
    err = msg(NLMSG_ERROR, struct.pack("=i", -95) + struct.pack("=IHHII", 16, FAMILY, 0, 1, 0) +
              attr(1, b"not a wireguard device\0"), flags=0x100 | NLM_F_ACK_TLVS)
    seeds = {"full": full, "split-peer": split, "empty": genl(device()) + done(),
             "error-ext-ack": err, "done-error": done(-19)}
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)


if __name__ == "__main__":
    main(sys.argv[1])
