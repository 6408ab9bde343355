"""Runs dkimpy's ARC code for Sealpost's differential tests.

  dkimpy_arc.py sign MSG KEYPEM SELECTOR DOMAIN SRVID TIMESTAMP
      prints the ARC set dkimpy adds (fields to prepend), or nothing when
      dkimpy declines to seal.
  dkimpy_arc.py verify MSG KEYS
      prints the chain validation status (pass, fail, none, or "ended" when
      dkimpy reports a terminated chain) and the reason.
  dkimpy_arc.py verify-many JSON KEYS
      JSON is a list of messages; prints one status and reason a line.

KEYS holds one "NAME TXT" line per key record; DNS is never asked.
"""
import json
import sys

import dkim


def load_keys(path):
    keys = {}
    with open(path) as f:
        for line in f:
            name, _, txt = line.strip().partition(" ")
            keys[name.lower().rstrip(".")] = txt.encode()
    return keys


def verify(msg, keys):
    def dnsfunc(name, timeout=5):
        return keys.get(name.decode().lower().rstrip("."))

    cv, _, reason = dkim.arc_verify(msg, dnsfunc=dnsfunc)
    return (cv or b"ended").decode() + " " + " ".join(str(reason).split())


def main():
    cmd = sys.argv[1]
    with open(sys.argv[2], "rb") as f:
        msg = f.read()
    if cmd == "verify-many":
        keys = load_keys(sys.argv[3])
        for m in json.loads(msg):
            print(verify(m.encode(), keys))
        return
    if cmd == "sign":
        with open(sys.argv[3], "rb") as f:
            key = f.read()
        fields = dkim.arc_sign(msg, sys.argv[4].encode(), sys.argv[5].encode(), key,
                               sys.argv[6].encode(), timestamp=sys.argv[7])
        sys.stdout.buffer.write(b"".join(fields))
    elif cmd == "verify":
        print(verify(msg, load_keys(sys.argv[3])))
    else:
        sys.exit("unknown command " + cmd)


main()
