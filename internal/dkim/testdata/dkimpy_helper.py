# Runs dkimpy for the differential tests in differential_test.go.
#
#   dkimpy_helper.py verify MSG KEYS COUNT
#       KEYS: lines "name TXT-value"; prints pass or fail for each of the
#       first COUNT DKIM-Signature fields, one per line.
#   dkimpy_helper.py sign MSG KEYFILE SELECTOR DOMAIN ALG HEADER BODY LENGTH
#       prints the DKIM-Signature field dkimpy makes (LENGTH: yes or no).
import sys

import dkim


def load_keys(path):
    keys = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                name, value = line.split(" ", 1)
                keys[name.lower().rstrip(".")] = value.encode()
    return keys


def verify(msg_path, keys_path, count):
    keys = load_keys(keys_path)

    def dnsfunc(name, timeout=5):
        if isinstance(name, bytes):
            name = name.decode()
        return keys.get(name.lower().rstrip("."))

    with open(msg_path, "rb") as f:
        msg = f.read()
    d = dkim.DKIM(msg)
    for i in range(int(count)):
        try:
            ok = d.verify(idx=i, dnsfunc=dnsfunc)
        except dkim.DKIMException as e:
            print("fail", e)
            continue
        print("pass" if ok else "fail")


def sign(msg_path, key_path, selector, domain, alg, header, body, length):
    with open(msg_path, "rb") as f:
        msg = f.read()
    with open(key_path, "rb") as f:
        key = f.read()
    sig = dkim.sign(msg, selector.encode(), domain.encode(), key,
                    canonicalize=(header.encode(), body.encode()),
                    signature_algorithm=alg.encode(),
                    length=(length == "yes"))
    sys.stdout.buffer.write(sig)


if __name__ == "__main__":
    if sys.argv[1] == "verify":
        verify(*sys.argv[2:])
    else:
        sign(*sys.argv[2:])
