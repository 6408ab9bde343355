# Runs pyspf (python3-spf) on the cases read from stdin as JSON and prints
# one JSON result per case. DNS comes from each case's zone, answered as
# pyspf's own test driver (test/testspf.py) answers from its zone data.
import json
import socket
import sys

import spf


def make_lookup(zone):
    def lookup(name, qtype, strict=True, timeout=None):
        labels = []
        for label in name.split('.'):
            if label:
                if len(label) > 63:
                    raise spf.TempError('DNS label too long')
                labels.append(label)
        name = '.'.join(labels).lower()
        if name not in zone:
            if name.startswith('error.'):
                raise spf.TempError('DNS timeout')
            return []
        out = []
        pending = True
        for typ, value in zone[name]:
            if typ == 'TIMEOUT':
                if pending:
                    raise spf.TempError('DNS timeout')
                return out
            if typ == qtype:
                pending = False
            if value == 'TIMEOUT':
                if typ == qtype:
                    raise spf.TempError('DNS timeout')
                continue
            if typ == 'AAAA':
                value = bytes(socket.inet_pton(socket.AF_INET6, value))
            elif typ == 'TXT':
                value = (value.encode('utf-8'),)
            elif typ == 'MX':
                value = (value[0], value[1])
            out.append(((name, typ), value))
        return out
    return lookup


def main():
    cases = json.load(sys.stdin)
    results = []
    for case in cases:
        spf.DNSLookup = make_lookup(case['zone'])
        try:
            q = spf.query(i=case['ip'], s=case['mailfrom'], h=case['helo'],
                          receiver=case['receiver'])
            res, _, exp = q.check()
            problem = ''
            if res in ('permerror', 'temperror'):
                problem = exp
            if exp == spf.EXPLANATIONS.get(res) or res != 'fail':
                exp = ''
        except Exception as x:  # a crash is reported, not hidden
            res, exp, problem = 'exception', '', repr(x)
        results.append({'id': case['id'], 'result': res, 'explanation': exp,
                        'problem': problem})
    json.dump(results, sys.stdout)


main()
