#!/usr/bin/env python3
"""Client side of the control socket for tests/netns/test_show.sh.

  ctl.py ask SOCK JSON          send one request line, print the answer line
  ctl.py oversize SOCK          send 5000 bytes without a newline: prints the
                                answer and "closed" if the daemon hung up
  ctl.py flood SOCK N           hold N connections, print the answer of one more
  ctl.py stale SOCK             leave a socket file nobody listens on
  ctl.py check-json IFACE-KEY   stdin: `wirelink show --json`; checks the schema
                                (docs/control.md) and prints "PEER-SHORT-KEY PATH"
  ctl.py check-metrics          stdin: Prometheus text; checks every line's
                                grammar, prints "name{labels} value" per sample
Exit status 0 when the check holds, 1 otherwise (the reason on stderr).
"""
import json
import re
import socket
import sys


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    return s


def read_line(s):
    buf = b""
    while not buf.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            break
        buf += chunk
    return buf.decode()


def ask(path, req):
    s = connect(path)
    s.sendall(req.encode() + b"\n")
    print(read_line(s).strip())


def oversize(path):
    s = connect(path)
    s.sendall(b"x" * 5000)
    print(read_line(s).strip())
    try:
        print("closed" if s.recv(1) == b"" else "open")
    except ConnectionResetError:  # the rest of the line was unread: RST
        print("closed")


def flood(path, n):
    held = [connect(path) for _ in range(n)]
    extra = connect(path)
    print(read_line(extra).strip())
    # The held ones still work.
    held[0].sendall(b'{"cmd":"status"}\n')
    ans = json.loads(read_line(held[0]))
    print("held-ok" if ans.get("ok") else "held-broken")


def stale(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(path)
    s.close()  # the file stays, nobody listens


TYPES = {
    "name": str, "public_key": str, "short_key": str, "path": str,
    "rx_bytes": int, "tx_bytes": int, "alive": bool, "healthy": bool,
    "router": bool, "configured": bool, "in_device": bool, "ours": bool,
    "trust": dict, "why": str, "candidates": list,
}
NULLABLE = {
    "via": dict, "endpoint": str, "last_handshake_s_ago": (int, float),
    "basic": bool, "why_text": str, "candidate_current": int,
    "next_try_in_s": (int, float), "retry_in_s": (int, float),
}
WHYS = {"none", "not_member", "path_dead", "basic", "trust_refused",
        "no_candidates", "trying", "candidates_failed", "nat"}
RESULTS = {"untried", "trying", "no_answer", "worked", "died"}


def fail(msg):
    sys.stderr.write(msg + "\n")
    sys.exit(1)


def check_json(own_key):
    doc = json.loads(sys.stdin.readline())
    if doc.get("ok") is not True or doc.get("schema") != 1:
        fail("ok/schema: %r" % {k: doc.get(k) for k in ("ok", "schema")})
    if doc.get("public_key") != own_key or doc.get("role") not in ("leaf", "router"):
        fail("public_key/role: %r %r" % (doc.get("public_key"), doc.get("role")))
    nat = doc.get("nat")
    if not isinstance(nat, dict) or not isinstance(nat.get("rewrites_port"), bool):
        fail("nat: %r" % nat)
    for p in doc["peers"]:
        for k, t in TYPES.items():
            if not isinstance(p.get(k), t) or (t is int and isinstance(p.get(k), bool)):
                fail("peer %s: %s is %r" % (p.get("short_key"), k, p.get(k)))
        for k, t in NULLABLE.items():
            if k not in p or not (p[k] is None or isinstance(p[k], t)):
                fail("peer %s: %s is %r" % (p.get("short_key"), k, p.get(k)))
        if p["path"] not in ("direct", "via", "down") or p["why"] not in WHYS:
            fail("peer %s: path %r why %r" % (p["short_key"], p["path"], p["why"]))
        if (p["why"] == "none") != (p["why_text"] is None) or (p["path"] == "direct") != (p["why"] == "none"):
            fail("peer %s: why %r, why_text %r, path %r" % (p["short_key"], p["why"], p["why_text"], p["path"]))
        if p["short_key"] != p["public_key"][:8]:
            fail("short_key")
        if p["path"] == "via" and not p["via"]:
            fail("via without a router")
        t = p["trust"]
        if t.get("level") not in ("Untrusted", "Endpoint", "AllowedIPs", "Membership", "DelegateTrust") \
                or t.get("how") not in ("config", "router", "device", "none") \
                or not isinstance(t.get("refused"), dict) or not isinstance(t["refused"].get("count"), int) \
                or not isinstance(t["refused"].get("by"), list):
            fail("trust: %r" % t)
        for c in p["candidates"]:
            if not isinstance(c.get("endpoint"), str) or c.get("result") not in RESULTS \
                    or not (c.get("tried_s_ago") is None or isinstance(c["tried_s_ago"], (int, float))):
                fail("candidate: %r" % c)
        print(p["short_key"], p["path"])


COMMENT = re.compile(r"^# (HELP|TYPE) (wirelink_[a-z_]+) (.+)$")
SAMPLE = re.compile(r'^(wirelink_[a-z_]+)\{((?:[a-z_]+="(?:[^"\\\n]|\\.)*",?)*)\} (-?[0-9.e+]+|\+Inf|NaN)$')


def check_metrics():
    types = {}
    n = 0
    for line in sys.stdin.read().splitlines():
        m = COMMENT.match(line)
        if m:
            if m.group(1) == "TYPE":
                if m.group(3) not in ("counter", "gauge", "histogram"):
                    fail("bad type: " + line)
                types[m.group(2)] = m.group(3)
            continue
        m = SAMPLE.match(line)
        if not m:
            fail("not a sample: %r" % line)
        name = m.group(1)
        family = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
        if family not in types:
            fail("sample before its # TYPE: " + line)
        if types[family] == "counter" and not name.endswith("_total"):
            fail("counter without _total: " + name)
        if 'iface="' not in m.group(2):
            fail("no iface label: " + line)
        float(m.group(3))
        print(line)
        n += 1
    if n == 0:
        fail("no samples")


def main():
    cmd = sys.argv[1]
    if cmd == "ask":
        ask(sys.argv[2], sys.argv[3])
    elif cmd == "oversize":
        oversize(sys.argv[2])
    elif cmd == "flood":
        flood(sys.argv[2], int(sys.argv[3]))
    elif cmd == "stale":
        stale(sys.argv[2])
    elif cmd == "check-json":
        check_json(sys.argv[2])
    elif cmd == "check-metrics":
        check_metrics()
    else:
        fail("unknown command " + cmd)


if __name__ == "__main__":
    main()
