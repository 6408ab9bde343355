"""Drives a running `sealpost dev` with Python's imaplib, as a mail client
would, after delivering three messages to the demo user over SMTP with
smtplib, and prints one JSON object describing what happened.

Usage: imap_client.py DEV_JSON
"""
import imaplib
import json
import smtplib
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

bodies = {
    "imap one": "Hello one.\r\nThe word is giraffe.\r\n",
    "imap two": "Hello two.\r\n",
    "imap three": "Hello three.\r\n",
}
m = smtplib.SMTP(host, ports["smtp"], timeout=20)
m.ehlo("mx.far.example")
m.starttls(context=ctx)
m.ehlo("mx.far.example")
for subject, body in bodies.items():
    m.sendmail("someone@far.example", [user],
               "From: someone@far.example\r\nTo: %s\r\nSubject: %s\r\n\r\n%s" % (user, subject, body))
m.quit()
out["sent"] = bodies


def s(v):
    return v.decode() if isinstance(v, bytes) else v


# Port 143: login is refused before STARTTLS.
c = imaplib.IMAP4(host, ports["imap"], timeout=20)
out["caps_before_tls"] = sorted(c.capabilities)
try:
    c.login(user, password)
    out["login_before_tls"] = "accepted"
except imaplib.IMAP4.error as e:
    out["login_before_tls"] = str(e)
c.starttls(ssl_context=ctx)
out["caps_after_tls"] = sorted(c.capabilities)
typ, _ = c.login(user, password)
out["login_after_tls"] = typ
typ, data = c.select("INBOX")
out["exists"] = int(data[0])
typ, data = c.fetch("1:*", "(UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
out["subjects"] = [s(d[1]).strip() for d in data if isinstance(d, tuple)]
typ, data = c.fetch("1", "(BODY[])")
out["body1"] = s(data[0][1])
typ, data = c.fetch("1", "(FLAGS)")
out["flags1_after_fetch"] = s(data[0])
typ, data = c.search(None, "BODY", "giraffe")
out["search_giraffe"] = s(data[0])
typ, data = c.uid("SEARCH", None, "UNSEEN")
out["uid_search_unseen"] = s(data[0])
typ, _ = c.store("2", "+FLAGS", "(\\Seen)")
typ, data = c.search(None, "SEEN")
out["search_seen"] = s(data[0])
typ, data = c.copy("3", "Archive")
out["copy"] = typ
typ, data = c.list()
out["list"] = [s(d) for d in data]
c.logout()

# Port 993: expunge message 1, check the copy, log out.
c = imaplib.IMAP4_SSL(host, ports["imaps"], ssl_context=ctx, timeout=20)
c.login(user, password)
typ, data = c.select("Archive")
out["archive_exists"] = int(data[0])
c.select("INBOX")
c.store("1", "+FLAGS", "(\\Deleted)")
typ, data = c.expunge()
out["expunged"] = [s(d) for d in data if d is not None]
typ, data = c.status("INBOX", "(MESSAGES UNSEEN)")
out["status"] = s(data[0])
out["logout"] = c.logout()[0]
print(json.dumps(out))
