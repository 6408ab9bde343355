#!/usr/bin/env bash
# auth-instructions.sh: instructions per operation of the inbound check and
# its parts, counted with callgrind: deterministic, where timings on a
# shared machine swing by tens of percent. Needs valgrind (Debian package).
#
#   bench/auth-instructions.sh                       # Check/rsa/10KiB
#   bench/auth-instructions.sh 'Check/ed25519/10KiB$' 2000
#
# Instructions are not time (cryptography runs at a higher rate per
# cycle than parsing), but a change that removes instructions from the
# parsing removes time too, and this tells so in one run.
set -euo pipefail

BENCH=${1:-'Check/rsa/10KiB$'}
N=${2:-2000}
cd "$(dirname "$0")/.."
bin=$(mktemp)
out=$(mktemp)
trap 'rm -f "$bin" "$out"' EXIT
go test -c -o "$bin" ./internal/mailauth
# Garbage collection and asynchronous preemption off: the first would
# spread its work over whatever runs, the second breaks callgrind.
GOGC=off GODEBUG=asyncpreemptoff=1 GOMAXPROCS=1 timeout 600 valgrind --tool=callgrind \
	--callgrind-out-file="$out" "$bin" -test.run '^$' -test.bench "$BENCH" -test.benchtime "${N}x" >/dev/null 2>&1
callgrind_annotate --inclusive=yes --threshold=100 "$out" 2>/dev/null |
	awk -v n="$N" '{c=$1; gsub(",","",c); name=$NF; if (name ~ /^\[/) name=$(NF-1); sub(/.*:/,"",name);
		if (c+0>0) printf "%8.0f  %s\n", c/n, name}' |
	grep -E 'sealpost|context\.With|crypto/rsa\.VerifyPKCS1v15$|sha256\.\(\*Digest\)\.Write$|crypto/sha256\.Sum256$' |
	grep -v -E 'bench|Benchmark|Sign' | awk '$1>=300 && !seen[$2]++' | head -40
