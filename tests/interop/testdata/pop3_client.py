"""Drives a running `sealpost dev` with Python's poplib, as a mail client
would, after delivering three messages to the demo user over SMTP with
smtplib, and prints one JSON object describing what happened.

Usage: pop3_client.py DEV_JSON
"""
import json
import poplib
import smtplib
import socket
import ssl
import sys

cfg = json.load(open(sys.argv[1]))
host, user, password = cfg["host"], cfg["user"], cfg["password"]
ports = cfg["ports"]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE  # the dev certificate is self-signed
ctx.minimum_version = ssl.TLSVersion.TLSv1_2
out = {}

# Three messages through the MX port. The second has lines starting with
# dots, which SMTP and POP3 both stuff and unstuff.
bodies = {
    "pop one": "Hello one.\r\n",
    "pop two": "Hello two.\r\n.starts with a dot\r\n..two dots\r\n.\r\nend\r\n",
    "pop three": "Hello three.\r\n" + "line\r\n" * 50,
}
m = smtplib.SMTP(host, ports["smtp"], timeout=20)
m.ehlo("mx.far.example")
m.starttls(context=ctx)
m.ehlo("mx.far.example")
for subject, body in bodies.items():
    m.sendmail("someone@far.example", [user],
               "From: someone@far.example\r\nTo: %s\r\nSubject: %s\r\n\r\n%s" % (user, subject, body))
m.quit()


def subject_of(lines):
    for line in lines:
        if line == b"":
            break
        if line.startswith(b"Subject: "):
            return line[len(b"Subject: "):].decode()
    return None


def snapshot(p):
    """Lists the maildrop: subject, size from LIST, octets from RETR, UIDL."""
    msgs = {}
    _, listing, _ = p.list()
    _, uidls, _ = p.uidl()
    uid = dict(l.decode().split(" ", 1) for l in uidls)
    for entry in listing:
        num, size = entry.decode().split(" ")
        _, lines, octets = p.retr(int(num))
        s = subject_of(lines)
        msgs[s] = {"num": int(num), "size": int(size), "octets": octets, "uidl": uid[num],
                   "body": b"\r\n".join(lines[lines.index(b"") + 1:]).decode() + "\r\n"}
    return msgs


# Port 110: no login before STLS, then USER/PASS.
p = poplib.POP3(host, ports["pop3"], timeout=20)
caps = p.capa()
out["caps_before_tls"] = sorted(caps)
try:
    p.user(user)
    out["user_before_tls"] = "accepted"
except poplib.error_proto as e:
    out["user_before_tls"] = e.args[0].decode()
p.stls(context=ctx)
out["caps_after_tls"] = sorted(p.capa())
p.user(user)
p.pass_(password)
count, size = p.stat()
out["stat"] = [count, size]
first = snapshot(p)
out["first"] = first
_, top, _ = p.top(first["pop three"]["num"], 2)
out["top"] = [l.decode() for l in top]
p.dele(first["pop one"]["num"])
out["quit1"] = p.quit().decode()

# Port 995: the deletion took effect at QUIT; UIDLs are stable. DELE and
# then a dropped connection deletes nothing.
p = poplib.POP3_SSL(host, ports["pop3s"], context=ctx, timeout=20)
p.user(user)
p.pass_(password)
second = snapshot(p)
out["second"] = second
p.dele(second["pop two"]["num"])
p.sock.shutdown(socket.SHUT_RDWR)
p.sock.close()

# Port 995 with AUTH PLAIN would need poplib's internals; USER/PASS again.
p = poplib.POP3_SSL(host, ports["pop3s"], context=ctx, timeout=20)
p.user(user)
p.pass_(password)
third = snapshot(p)
out["third"] = sorted(third)
p.dele(third["pop two"]["num"])
out["quit3"] = p.quit().decode()

# A wrong password.
p = poplib.POP3_SSL(host, ports["pop3s"], context=ctx, timeout=20)
p.user(user)
try:
    p.pass_("not the password")
    out["wrong_password"] = "accepted"
except poplib.error_proto as e:
    out["wrong_password"] = e.args[0].decode()
p.quit()

out["sent"] = bodies
print(json.dumps(out))
