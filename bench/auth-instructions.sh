#!/usr/bin/env bash
# auth-instructions.sh: instructions per operation of the inbound check and
# its parts, counted with callgrind: deterministic, where timings on a
# shared machine swing by tens of percent. Needs valgrind (Debian package).
#
#   bench/auth-instructions.sh                       # Check/rsa/10KiB, where they go
#   bench/auth-instructions.sh 'Check/ed25519/10KiB$' 2000
#   bench/auth-instructions.sh totals                # each operation against its floor
#   bench/auth-instructions.sh misses                # branch and cache misses against the floor
#
# The first form lists the inclusive count of the check's functions per
# operation (callgrind's inclusive counts of Go code that switches stacks
# are approximate; use them to see where the work goes). The second runs
# each benchmark twice, N1 and N2 times, and divides the difference of the
# totals: what one operation costs, setup left out. The benchmarks sign
# with fixed keys, so the counts repeat from run to run.
#
# The "misses" form runs the whole check and its floor under cachegrind's
# simulation of branch prediction and of the first-level caches (32 KiB
# each, as the machine's): per operation, the mispredicted branches and
# the instruction and data cache lines missed. Above the floor these cost
# more time than the instructions do (the parsing's branches depend on
# the data; the check's code does not fit the instruction cache with the
# cryptography's), which is why the timed overhead is about three times
# the instruction count's share. The simulation is simple (a branch's
# history is not kept) and moves a little with code layout, so compare
# runs function by function (cg_annotate) as well as in total.
#
# Instructions are not time (cryptography runs at a higher rate per
# cycle than parsing), but a change that removes instructions from the
# parsing removes time too, and this tells so in one run.
set -euo pipefail
cd "$(dirname "$0")/.."

# Garbage collection and asynchronous preemption off: the first would
# spread its work over whatever runs, the second breaks callgrind.
grind() { # out binary args...
	local out=$1
	shift
	GOGC=off GODEBUG=asyncpreemptoff=1 GOMAXPROCS=1 timeout 600 valgrind --tool=callgrind \
		--callgrind-out-file="$out" "$@" >/dev/null 2>&1
}

if [ "${1:-}" = totals ]; then
	N1=${N1:-100}
	N2=${N2:-600}
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	go test -c -o "$tmp/mailauth.test" ./internal/mailauth
	go test -c -o "$tmp/dkim.test" ./internal/dkim
	# per PKG BENCH: instructions of one operation.
	per() {
		local pkg=$1 bench=$2 n total=()
		for n in "$N1" "$N2"; do
			(cd "internal/$pkg" && grind "$tmp/out" "$tmp/$pkg.test" -test.run '^$' -test.bench "$bench" -test.benchtime "${n}x")
			total+=("$(callgrind_annotate "$tmp/out" 2>/dev/null | awk '/PROGRAM TOTALS/ { gsub(",", "", $1); print $1 }')")
		done
		echo $(((total[1] - total[0]) / (N2 - N1)))
	}
	row() { # what op floor
		printf '| %s | %d | %d | %+d | %+.1f %% |\n' "$1" "$2" "$3" $(($2 - $3)) "$(awk -v a="$2" -v b="$3" 'BEGIN { print (a / b - 1) * 100 }')"
	}
	echo '| operation (10 KiB) | instructions | floor | above | above |'
	echo '| --- | --- | --- | --- | --- |'
	for alg in rsa ed25519; do
		row "whole inbound check, $alg" "$(per mailauth "^BenchmarkCheck\$/^$alg\$/^10KiB\$")" \
			"$(per mailauth "^BenchmarkRawCrypto\$/^$alg\$/^10KiB\$")"
	done
	sha=$(per dkim '^BenchmarkRawSHA256$/^10KiB$')
	for alg in ed25519 rsa2048; do
		row "DKIM verify, $alg" "$(per dkim "^BenchmarkVerify\$/^$alg\$/^10KiB\$")" \
			$((sha + $(per dkim "^BenchmarkRawVerify\$/^$alg\$")))
	done
	row "DKIM sign, ed25519" "$(per dkim '^BenchmarkSign$/^ed25519$/^10KiB$')" \
		$((sha + $(per dkim '^BenchmarkRawSign$/^ed25519$')))
	exit 0
fi

if [ "${1:-}" = misses ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	go test -c -o "$tmp/mailauth.test" ./internal/mailauth
	# count BENCH N: the counts of N operations and their setup, in the
	# order cachegrind prints them: instructions, I1 misses, D1 misses,
	# mispredicted branches.
	count() {
		(cd internal/mailauth && GODEBUG=asyncpreemptoff=1 GOMAXPROCS=1 timeout 600 valgrind --tool=cachegrind \
			--cache-sim=yes --branch-sim=yes --I1=32768,8,64 --D1=32768,8,64 --cachegrind-out-file=/dev/null \
			"$tmp/mailauth.test" -test.run '^$' -test.bench "$1" -test.benchtime "${2}x" 2>&1 >/dev/null) |
			awk -F: '/I +refs|Mispredicts|I1 +misses|D1 +misses/ { split($2, f, " "); gsub(",", "", f[1]); printf "%s ", f[1] } END { print "" }'
	}
	echo '| operation (10 KiB) | instructions | mispredicted branches | I1 lines missed | D1 lines missed |'
	echo '| --- | --- | --- | --- | --- |'
	for alg in rsa ed25519; do
		for bench in Check RawCrypto; do
			read -r -a a <<<"$(count "^Benchmark$bench\$/^$alg\$/^10KiB\$" 500)"
			read -r -a b <<<"$(count "^Benchmark$bench\$/^$alg\$/^10KiB\$" 2500)"
			printf '| %s, %s | %d | %d | %d | %d |\n' "$bench" "$alg" $(((b[0] - a[0]) / 2000)) \
				$(((b[3] - a[3]) / 2000)) $(((b[1] - a[1]) / 2000)) $(((b[2] - a[2]) / 2000))
		done
	done
	exit 0
fi

BENCH=${1:-'Check/rsa/10KiB$'}
N=${2:-2000}
bin=$(mktemp)
out=$(mktemp)
trap 'rm -f "$bin" "$out"' EXIT
go test -c -o "$bin" ./internal/mailauth
(cd internal/mailauth && grind "$out" "$bin" -test.run '^$' -test.bench "$BENCH" -test.benchtime "${N}x")
callgrind_annotate --inclusive=yes --threshold=100 "$out" 2>/dev/null |
	awk -v n="$N" '{c=$1; gsub(",","",c); name=$NF; if (name ~ /^\[/) name=$(NF-1); sub(/.*:/,"",name);
		if (c+0>0) printf "%8.0f  %s\n", c/n, name}' |
	grep -E 'sealpost|context\.With|crypto/rsa\.VerifyPKCS1v15$|sha256\.\(\*Digest\)\.Write$|crypto/sha256\.Sum256$' |
	grep -v -E 'bench|Benchmark|Sign' | awk '$1>=300 && !seen[$2]++' | head -40
