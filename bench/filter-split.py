#!/usr/bin/python3
"""filter-split.py: the fixed train/test split of issue 7, written out as files.

    filter-split.py OUT --ham DIR... --spam DIR... --phish MBOX...

Writes OUT/{train,test}/{ham,spam,phish}/NAME, one message per file (without a
leading "From " envelope line: what an MTA hands to a filter), and
OUT/manifest.tsv ("CLASS NAME SHA256 SPLIT" per message, tab-separated), and prints
one line per split and class: "test ham 815".

The rule (docs/benchmarks.md): a message is in the test split when the first byte
of the SHA-256 of its exact bytes is below 77, otherwise in the training split.
A DIR holds one message per file (its bytes as they are, "From " envelope line
included). An MBOX is cut at every line that starts with "From "; a message is
what follows that line up to the next one, without the blank line that ends it
before the next "From " line (or the end of the file), with ">From " at the start
of a line turned back into "From ", and with the file's LF line endings.
"""

import argparse
import hashlib
import os
import sys

TEST_BELOW = 77
MAX_MESSAGES = 100_000  # per input: a bound, far above the corpora's sizes
MAX_BYTES = 64 << 20  # per input file


def in_test(data):
    return hashlib.sha256(data).digest()[0] < TEST_BELOW


def read_bounded(path):
    with open(path, "rb") as f:
        data = f.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        sys.exit(f"{path}: larger than {MAX_BYTES} bytes")
    return data


def dir_messages(path):
    names = sorted(os.listdir(path))
    if len(names) > MAX_MESSAGES:
        sys.exit(f"{path}: more than {MAX_MESSAGES} files")
    for name in names:
        full = os.path.join(path, name)
        if os.path.isfile(full) and not name.startswith("."):
            yield name, read_bounded(full)


def without_envelope(msg):
    if msg.startswith(b"From "):
        return msg[msg.find(b"\n") + 1:] if b"\n" in msg else b""
    return msg


def unquote(line):
    return line[1:] if line.startswith(b">From ") else line


def mbox_messages(path):
    data = read_bounded(path)
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the file's final LF ends the last line
    starts = [i for i, line in enumerate(lines) if line.startswith(b"From ")]
    if not starts or starts[0] != 0:
        sys.exit(f"{path}: not an mbox (no 'From ' line first)")
    if len(starts) > MAX_MESSAGES:
        sys.exit(f"{path}: more than {MAX_MESSAGES} messages")
    base = os.path.splitext(os.path.basename(path))[0]
    for n, start in enumerate(starts):
        end = starts[n + 1] if n + 1 < len(starts) else len(lines)
        body = lines[start + 1:end]
        if body and body[-1] == b"":
            body = body[:-1]  # the separating blank line belongs to the mbox
        msg = b"".join(unquote(line) + b"\n" for line in body)
        yield f"{base}-{n + 1:05d}", msg


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--ham", nargs="+", default=[])
    p.add_argument("--spam", nargs="+", default=[])
    p.add_argument("--phish", nargs="+", default=[])
    a = p.parse_args()
    os.makedirs(a.out, exist_ok=True)
    counts = {}
    manifest = open(os.path.join(a.out, "manifest.tsv"), "w")
    for label, paths in (("ham", a.ham), ("spam", a.spam), ("phish", a.phish)):
        for split in ("train", "test"):
            os.makedirs(os.path.join(a.out, split, label), exist_ok=True)
            counts[split, label] = 0
        for path in paths:
            if os.path.isdir(path):
                prefix = os.path.basename(os.path.normpath(path)) + "-"
                messages = ((prefix + n, m) for n, m in dir_messages(path))
            else:
                messages = mbox_messages(path)
            for name, msg in messages:
                split = "test" if in_test(msg) else "train"
                digest = hashlib.sha256(msg).hexdigest()
                manifest.write(f"{label}\t{name}\t{digest}\t{split}\n")
                with open(os.path.join(a.out, split, label, name), "wb") as f:
                    f.write(without_envelope(msg))
                counts[split, label] += 1
    manifest.close()
    for (split, label), n in sorted(counts.items()):
        print(split, label, n)


if __name__ == "__main__":
    main()
