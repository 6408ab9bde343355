"""Drives a running `sealpost dev` with Python's imaplib under COMPRESS=DEFLATE
(RFC 4978), after STARTTLS on 143 and on 993, and prints one JSON object
describing what happened. imaplib cannot compress by itself: after the
server's OK to COMPRESS, the connection is wrapped in raw deflate (zlib with
wbits -15) both ways, every command ending in a sync flush.

Usage: imap_compress.py DEV_JSON
"""
import imaplib
import io
import json
import smtplib
import ssl
import sys
import zlib

cfg = json.load(open(sys.argv[1]))
host, user, password = cfg["host"], cfg["user"], cfg["password"]
ports = cfg["ports"]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE  # the dev certificate is self-signed
imaplib.Commands.setdefault("COMPRESS", ("AUTH", "SELECTED"))
body = "Compressible.\r\n" * 2000


class Inflated(io.RawIOBase):
    """The decompressed bytes the server sends."""

    def __init__(self, sock):
        self.sock, self.d, self.buf = sock, zlib.decompressobj(-15), b""
        self.raw_bytes = 0

    def readable(self):
        return True

    def readinto(self, b):
        while not self.buf:
            raw = self.sock.recv(65536)
            if not raw:
                return 0
            self.raw_bytes += len(raw)
            self.buf = self.d.decompress(raw)
        n = min(len(b), len(self.buf))
        b[:n] = self.buf[:n]
        self.buf = self.buf[n:]
        return n


class DeflateSocket:
    """What imaplib needs of a socket, compressed."""

    def __init__(self, sock):
        self.sock, self.c = sock, zlib.compressobj(6, zlib.DEFLATED, -15)
        self.inflated = Inflated(sock)

    def sendall(self, data):
        self.sock.sendall(self.c.compress(data) + self.c.flush(zlib.Z_SYNC_FLUSH))

    def makefile(self, mode):
        return io.BufferedReader(self.inflated)

    def shutdown(self, how):
        self.sock.shutdown(how)

    def close(self):
        self.sock.close()


def compress(c):
    typ, data = c._simple_command("COMPRESS", "DEFLATE")
    if typ == "OK":
        c.sock = DeflateSocket(c.sock)
        c.file = c.sock.makefile("rb")
    return typ


def session(c, out):
    c.login(user, password)
    out["compress"] = compress(c)
    typ, data = c._simple_command("COMPRESS", "DEFLATE")
    out["again"] = "%s %s" % (typ, data[0].decode())
    typ, data = c.select("INBOX")
    out["exists"] = int(data[0])
    typ, data = c.fetch("1", "(BODY.PEEK[])")
    got = data[0][1].decode()
    out["body_ok"] = got.endswith(body)
    typ, data = c.append("INBOX", None, None, ("Subject: appended\r\n\r\n" + body).encode())
    out["append"] = typ
    typ, data = c.search(None, "ALL")
    out["search_all"] = data[0].decode()
    out["noop"] = c.noop()[0]
    out["raw_bytes"] = c.sock.inflated.raw_bytes
    out["logout"] = c.logout()[0]


m = smtplib.SMTP(host, ports["smtp"], timeout=20)
m.ehlo("mx.far.example")
m.starttls(context=ctx)
m.ehlo("mx.far.example")
m.sendmail("someone@far.example", [user], "From: someone@far.example\r\nTo: %s\r\nSubject: big\r\n\r\n%s" % (user, body))
m.quit()

result = {"body_bytes": len(body)}
c = imaplib.IMAP4(host, ports["imap"], timeout=20)
c.starttls(ssl_context=ctx)
result["starttls"] = {}
session(c, result["starttls"])
c = imaplib.IMAP4_SSL(host, ports["imaps"], ssl_context=ctx, timeout=20)
result["imaps"] = {}
session(c, result["imaps"])
print(json.dumps(result))
