#!/usr/bin/python3
"""dnsstub.py: a DNS server that knows nothing, for benchmarks that must not resolve.

    dnsstub.py --log FILE [--rcode nxdomain|refused] [--ready FILE] HOST:PORT...

Listens on UDP and TCP at every HOST:PORT (IPv6 as [addr]:port), answers every query
with the chosen error (NXDOMAIN by default, the question echoed back), and appends one
line per query to FILE: "UNIXTIME PROTO LISTEN CLIENT QNAME QTYPE". Writes "ready" to
the --ready file once every socket listens. Runs until SIGTERM; a TCP client has two
seconds to send its query.
"""

import argparse
import selectors
import signal
import socket
import struct
import sys
import time

RCODES = {"nxdomain": 3, "refused": 5}
QTYPES = {1: "A", 2: "NS", 5: "CNAME", 6: "SOA", 12: "PTR", 15: "MX", 16: "TXT",
          28: "AAAA", 33: "SRV", 35: "NAPTR", 43: "DS", 48: "DNSKEY", 255: "ANY"}


def parse_question(msg):
    """Returns (qname, qtype, end of the question) or None when msg is not a query."""
    if len(msg) < 12 or struct.unpack("!H", msg[4:6])[0] < 1:
        return None
    labels, i = [], 12
    while i < len(msg) and len(labels) < 128:
        n = msg[i]
        if n == 0:
            i += 1
            break
        if n & 0xC0 or i + 1 + n > len(msg):
            return None
        labels.append(msg[i + 1:i + 1 + n].decode("ascii", "replace"))
        i += 1 + n
    else:
        return None
    if i + 4 > len(msg):
        return None
    qtype = struct.unpack("!H", msg[i:i + 2])[0]
    return ".".join(labels) + ".", QTYPES.get(qtype, str(qtype)), i + 4


def answer(msg, rcode):
    q = parse_question(msg)
    if q is None:
        return None, None
    flags = struct.unpack("!H", msg[2:4])[0]
    # QR, the query's opcode and RD, RA, then the error.
    out_flags = 0x8000 | (flags & 0x7900) | 0x0080 | rcode
    reply = msg[0:2] + struct.pack("!HHHHH", out_flags, 1, 0, 0, 0) + msg[12:q[2]]
    return reply, q


def listen(spec):
    host, _, port = spec.rpartition(":")
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    udp = socket.socket(family, socket.SOCK_DGRAM)
    udp.bind((host, int(port)))
    tcp = socket.socket(family, socket.SOCK_STREAM)
    tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    tcp.bind((host, int(port)))
    tcp.listen(16)
    return spec, udp, tcp


def recv_exactly(conn, n):
    data = b""
    while len(data) < n:
        chunk = conn.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def serve_tcp(conn, rcode, record):
    conn.settimeout(2)
    try:
        while True:
            head = recv_exactly(conn, 2)
            if head is None:
                return
            msg = recv_exactly(conn, struct.unpack("!H", head)[0])
            if msg is None:
                return
            reply, q = answer(msg, rcode)
            record("tcp", conn.getpeername(), q)
            if reply is None:
                return
            conn.sendall(struct.pack("!H", len(reply)) + reply)
    except OSError:
        return
    finally:
        conn.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--log", required=True)
    p.add_argument("--rcode", choices=sorted(RCODES), default="nxdomain")
    p.add_argument("--ready")
    p.add_argument("listen", nargs="+")
    a = p.parse_args()
    rcode = RCODES[a.rcode]
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    log = open(a.log, "a", buffering=1)
    sel = selectors.DefaultSelector()
    for spec, udp, tcp in map(listen, a.listen):
        sel.register(udp, selectors.EVENT_READ, ("udp", spec))
        sel.register(tcp, selectors.EVENT_READ, ("tcp", spec))
    if a.ready:
        with open(a.ready, "w") as f:
            f.write("ready\n")

    def record(proto, spec, peer, q):
        name, qtype = q[:2] if q else ("-", "malformed")
        log.write(f"{time.time():.3f} {proto} {spec} {peer[0]}:{peer[1]} {name} {qtype}\n")

    while True:
        for key, _ in sel.select():
            proto, spec = key.data
            if proto == "udp":
                msg, peer = key.fileobj.recvfrom(4096)
                reply, q = answer(msg, rcode)
                record("udp", spec, peer, q)
                if reply is not None:
                    key.fileobj.sendto(reply, peer)
            else:
                conn, _ = key.fileobj.accept()
                serve_tcp(conn, rcode, lambda pr, peer, q: record(pr, spec, peer, q))


if __name__ == "__main__":
    main()
