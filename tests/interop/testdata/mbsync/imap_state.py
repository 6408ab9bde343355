"""Reads and changes the demo user's INBOX on a running `sealpost dev` over
implicit TLS with Python's imaplib, for the mbsync test, and prints one JSON
object: the mailbox's UIDVALIDITY, UIDNEXT, and for every message its UID and
flags, keyed by Subject.

Usage:
  imap_state.py DEV_JSON CERT wait COUNT       wait (at most 60 s) for COUNT messages
  imap_state.py DEV_JSON CERT state            print the state
  imap_state.py DEV_JSON CERT change ACTIONS   apply ACTIONS, a JSON object
      {"delete": [subject...], "flag": [subject...], "seen": [subject...]},
      expunge, and print the state afterwards
"""
import imaplib
import json
import re
import ssl
import sys
import time

cfg = json.load(open(sys.argv[1]))
ctx = ssl.create_default_context(cafile=sys.argv[2])
ctx.check_hostname = False  # dev.json names 127.0.0.1; the certificate, mail.example.test
ctx.minimum_version = ssl.TLSVersion.TLSv1_2
FLAG_LETTERS = {"\\Draft": "D", "\\Flagged": "F", "\\Answered": "R", "\\Seen": "S", "\\Deleted": "T"}


def connect():
    c = imaplib.IMAP4_SSL(cfg["host"], cfg["ports"]["imaps"], ssl_context=ctx, timeout=30)
    c.login(cfg["user"], cfg["password"])
    return c


def check(typ, data, what):
    if typ != "OK":
        raise SystemExit("%s: %s %r" % (what, typ, data))
    return data


def state(c):
    data = check(*c.status("INBOX", "(UIDVALIDITY UIDNEXT MESSAGES)"), "STATUS")
    status = data[0].decode()
    out = {
        "uidvalidity": int(re.search(r"UIDVALIDITY (\d+)", status).group(1)),
        "uidnext": int(re.search(r"UIDNEXT (\d+)", status).group(1)),
        "count": int(re.search(r"MESSAGES (\d+)", status).group(1)),
        "messages": {},
    }
    check(*c.select("INBOX", readonly=True), "EXAMINE")
    if out["count"] == 0:
        return out
    data = check(*c.uid("FETCH", "1:*", "(UID FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])"), "FETCH")
    for item in data:
        if not isinstance(item, tuple):
            continue
        meta = item[0].decode()
        uid = int(re.search(r"UID (\d+)", meta).group(1))
        flags = re.search(r"FLAGS \(([^)]*)\)", meta).group(1).split()
        subject = item[1].decode().strip()
        if not subject.startswith("Subject: "):
            raise SystemExit("no subject for UID %d: %r" % (uid, item))
        subject = subject[len("Subject: "):]
        if subject in out["messages"]:
            raise SystemExit("subject %r twice" % subject)
        out["messages"][subject] = {
            "uid": uid,
            "flags": "".join(sorted(FLAG_LETTERS[f] for f in flags if f in FLAG_LETTERS)),
        }
    if len(out["messages"]) != out["count"]:
        raise SystemExit("FETCH returned %d messages, STATUS said %d" % (len(out["messages"]), out["count"]))
    c.close()
    return out


def change(c, actions):
    uids = {s: m["uid"] for s, m in state(c)["messages"].items()}
    check(*c.select("INBOX"), "SELECT")
    for key, flag in (("delete", "\\Deleted"), ("flag", "\\Flagged"), ("seen", "\\Seen")):
        if actions.get(key):
            seq = ",".join(str(uids[s]) for s in actions[key])
            check(*c.uid("STORE", seq, "+FLAGS.SILENT", "(%s)" % flag), "STORE " + flag)
    check(*c.expunge(), "EXPUNGE")
    c.close()


c = connect()
cmd = sys.argv[3]
if cmd == "wait":
    want, deadline = int(sys.argv[4]), time.time() + 60
    while True:
        n = int(re.search(r"MESSAGES (\d+)", check(*c.status("INBOX", "(MESSAGES)"), "STATUS")[0].decode()).group(1))
        if n >= want or time.time() > deadline:
            break
        time.sleep(0.2)
elif cmd == "change":
    change(c, json.loads(sys.argv[4]))
elif cmd != "state":
    raise SystemExit("unknown command " + cmd)
print(json.dumps(state(c)))
c.logout()
