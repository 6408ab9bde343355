"""Runs dkimpy's ARC code for Sealpost's differential tests.

  dkimpy_arc.py sign MSG KEYPEM SELECTOR DOMAIN SRVID TIMESTAMP
      prints the ARC set dkimpy adds (fields to prepend), or nothing when
      dkimpy declines to seal.
  dkimpy_arc.py verify MSG KEYS
      prints the chain validation status (pass, fail, none, or "ended" when
      dkimpy reports a terminated chain) and the reason.

KEYS holds one "NAME TXT" line per key record; DNS is never asked.
"""
import sys

import dkim


def load_keys(path):
    keys = {}
    with open(path) as f:
        for line in f:
            name, _, txt = line.strip().partition(" ")
            keys[name.lower().rstrip(".")] = txt.encode()
    return keys


def main():
    cmd = sys.argv[1]
    with open(sys.argv[2], "rb") as f:
        msg = f.read()
    if cmd == "sign":
        with open(sys.argv[3], "rb") as f:
            key = f.read()
        fields = dkim.arc_sign(msg, sys.argv[4].encode(), sys.argv[5].encode(), key,
                               sys.argv[6].encode(), timestamp=sys.argv[7])
        sys.stdout.buffer.write(b"".join(fields))
    elif cmd == "verify":
        keys = load_keys(sys.argv[3])

        def dnsfunc(name, timeout=5):
            return keys.get(name.decode().lower().rstrip("."))

        cv, _, reason = dkim.arc_verify(msg, dnsfunc=dnsfunc)
        print((cv or b"ended").decode(), reason)
    else:
        sys.exit("unknown command " + cmd)


main()
