#!/usr/bin/env bash
# compare-filter.sh: spam and phishing filtering, Sealpost against SpamAssassin and rspamd.
#
# In one run, on the same corpora and the same split (issue 7; bench/filter-split.py):
#   - splits ../shared/conformance (SpamAssassin public corpus: easy_ham + hard_ham = ham,
#     spam = spam; Nazario's three oldest mboxes = phish) into train and test files;
#   - SpamAssassin (Debian's spamd, local tests only): sa-learn on the training split
#     (ham as ham, spam and phish as spam), then spamd with one child scores the test
#     split through spamc, one message after the other; spam when the score is at least
#     required_score (5, the default);
#   - rspamd (Debian's, network modules off, Bayes in a private redis): rspamc learn_ham /
#     learn_spam on the training split, then one normal worker scans the test split over
#     HTTP, one message after the other; spam when the action is "add header", "rewrite
#     subject", "soft reject" or "reject" (the default thresholds), not spam when it is
#     "no action" or "greylist";
#   - Sealpost: sealpost filter train --split train, then sealpost filter eval --split test.
# and prints one Markdown table: spam recall, ham false-positive rate, phishing recall
# (a phishing message is caught when classified spam), accuracy (the share of all test
# messages judged right), messages per second per core (per
# CPU second of the server's processes) and wall time.
#
# Network: the measuring part runs in its own network namespace (unshare --net) where
# only loopback exists, so nothing can leave the machine. DNS goes to stubs on loopback
# (bench/dnsstub.py) that answer NXDOMAIN and log every query; the system's resolvers
# (from /etc/resolv.conf) are put on the namespace's loopback with a stub each, and the
# run fails if a single query reaches them.
#
# Run by hand, as root (it installs spamassassin, spamc, spamd, rspamd and redis-server
# from Debian if missing, without starting their system services, and uses unshare).
# Every server listens on 127.0.0.1 only and is stopped at exit; every step has a
# timeout, and the whole run MAX_SECONDS.
#
#   bench/compare-filter.sh                  # prints the table
#   bench/compare-filter.sh --out FILE       # and writes it to FILE
#   SEALPOST=/path/to/sealpost bench/compare-filter.sh
#   KEEP=1 bench/compare-filter.sh           # keeps the temporary directory (logs, verdicts)
#   FILTERS="rspamd sealpost" bench/compare-filter.sh   # a subset
#   MAX_SECONDS=1800 SCAN_TIMEOUT=1200 bench/compare-filter.sh   # on a busy machine

# The counts and figures come from eval and from sourced files; the inner cleanup is a trap.
# shellcheck disable=SC2154,SC1090,SC1091,SC2317
set -euo pipefail

MAX_SECONDS=${MAX_SECONDS:-840}      # the whole script
SCAN_TIMEOUT=${SCAN_TIMEOUT:-600}    # seconds for one filter to scan the test split
LEARN_TIMEOUT=${LEARN_TIMEOUT:-300}  # seconds for one filter to learn the training split
FILTERS=${FILTERS:-"spamassassin rspamd sealpost"} # which to run
PY=/usr/bin/python3

. "$(dirname "$0")/lib.sh"

out_file=
while [ $# -gt 0 ]; do
	case $1 in
	--out) out_file=${2:?--out needs a file}; shift 2 ;;
	--inner) break ;;
	*) die "usage: $0 [--out FILE]" ;;
	esac
done

repo=$(cd "$(dirname "$0")/.." && pwd)
corpus=$repo/../shared/conformance
ham_dirs=("$corpus/spamassassin/easy_ham" "$corpus/spamassassin/hard_ham")
spam_dirs=("$corpus/spamassassin/spam")
phish_boxes=("$corpus/phishing-nazario/phishing0.mbox" "$corpus/phishing-nazario/phishing1.mbox"
	"$corpus/phishing-nazario/20051114.mbox")

# ---------------------------------------------------------------------------------------
# Inside the namespace: everything that runs a filter.
# ---------------------------------------------------------------------------------------

# tree_ticks PID: CPU clock ticks used so far by PID and all its descendants, the
# children it has reaped included.
tree_ticks() {
	local p=$1 c sum=0
	[ -r "/proc/$p/stat" ] || { echo 0; return; }
	# Fields after the ")" of the command name: utime is the 12th, cstime the 15th.
	sum=$(sed 's/.*) //' "/proc/$p/stat" | awk '{print $12 + $13 + $14 + $15}')
	for c in $(ps -o pid= --ppid "$p"); do
		sum=$((sum + $(tree_ticks "$c")))
	done
	echo "$sum"
}

now() { date +%s.%N; }

# start_stubs: the DNS stubs. spamd's and rspamd's each on their own loopback port; one
# on port 53 of every address /etc/resolv.conf names, put on loopback first.
start_stubs() {
	local ns addrs=() a
	ip link set lo up
	while read -r ns; do
		case $ns in
		*:*) ip -6 addr add "$ns/128" dev lo 2>/dev/null || true; addrs+=("[$ns]:53") ;;
		127.*) addrs+=("$ns:53") ;;
		*) ip addr add "$ns/32" dev lo; addrs+=("$ns:53") ;;
		esac
	done < <(sed -n 's/^[[:space:]]*nameserver[[:space:]]\+\([^[:space:]%]\+\).*/\1/p' /etc/resolv.conf 2>/dev/null)
	# Whatever is configured, the usual defaults too.
	for a in 127.0.0.1:53 "[::1]:53" 127.0.0.53:53; do
		case " ${addrs[*]} " in *" $a "*) ;; *) addrs+=("$a") ;; esac
	done
	sa_dns=$(free_port)
	rs_dns=$(free_port)
	[ "$sa_dns" != "$rs_dns" ] || rs_dns=$(free_port)
	touch "$work/dns-system.log" "$work/dns-spamassassin.log" "$work/dns-rspamd.log"
	start_stub system "${addrs[@]}"
	start_stub spamassassin "127.0.0.1:$sa_dns"
	start_stub rspamd "127.0.0.1:$rs_dns"
	log "DNS stubs: spamd 127.0.0.1:$sa_dns, rspamd 127.0.0.1:$rs_dns, system resolvers ${addrs[*]}"
}

start_stub() {
	local name=$1 i
	shift
	timeout "$MAX_SECONDS" "$PY" "$repo/bench/dnsstub.py" --log "$work/dns-$name.log" \
		--ready "$work/dns-$name.ready" "$@" 2>"$work/dns-$name.err" &
	pids+=($!)
	for ((i = 0; i < 50; i++)); do
		[ -s "$work/dns-$name.ready" ] && return
		sleep 0.1
	done
	cat "$work/dns-$name.err" >&2
	die "the DNS stub $name did not start"
}

split_corpora() {
	log "splitting the corpora (SHA-256 of each message, first byte < 77: test)"
	timeout 300 "$PY" "$repo/bench/filter-split.py" "$work/split" --ham "${ham_dirs[@]}" \
		--spam "${spam_dirs[@]}" --phish "${phish_boxes[@]}" >"$work/split.counts"
	local split label n
	while read -r split label n; do
		eval "count_${split}_$label=$n"
	done <"$work/split.counts"
	# Sealpost's own record of the split, where there is one, must say the same.
	local recorded=$repo/internal/filter/corpus/testdata/split.tsv
	if [ -f "$recorded" ]; then
		cmp -s <(cut -f3,4 "$work/split/manifest.tsv" | sort -u) <(awk -F'\t' '$3 == "train" || $3 == "test" {print $2 "\t" $3}' "$recorded" | sort -u) ||
			die "the split differs from $recorded"
		log "the split is the one recorded in internal/filter/corpus/testdata/split.tsv"
	fi
	log "train: $count_train_ham ham, $count_train_spam spam, $count_train_phish phish;" \
		"test: $count_test_ham ham, $count_test_spam spam, $count_test_phish phish"
}

# figures NAME WALL TICKS: from $work/NAME.verdicts ("CLASS FILE VERDICT DETAIL" lines, VERDICT
# spam|ham|error), the figures in $work/NAME.figures as shell assignments.
figures() {
	local name=$1 wall=$2 ticks=$3 hz
	hz=$(getconf CLK_TCK)
	awk -v wall="$wall" -v cpu="$(calc "$ticks / $hz" 3)" '
	{ n[$1]++; if ($3 == "spam") s[$1]++; if ($3 == "error") e++ }
	END {
		total = n["ham"] + n["spam"] + n["phish"]
		printf "spam_recall=%.4f\nham_fp_rate=%.4f\nphish_recall=%.4f\n", s["spam"] / n["spam"], s["ham"] / n["ham"], s["phish"] / n["phish"]
		printf "spam_caught=%d\nspam_n=%d\nham_fp=%d\nham_n=%d\nphish_caught=%d\nphish_n=%d\nerrors=%d\n", s["spam"], n["spam"], s["ham"], n["ham"], s["phish"], n["phish"], e
		printf "wall=%.1f\ncpu=%.1f\nper_core=%.1f\nper_wall=%.1f\n", wall, cpu, total / cpu, total / wall
	}' "$work/$name.verdicts" >"$work/$name.figures"
}

# ---- SpamAssassin ----------------------------------------------------------------------

spamassassin_config() {
	local sa=$work/sa
	mkdir -p "$sa/site" "$sa/bayes"
	# Debian's plugin list, as shipped.
	cp /etc/spamassassin/*.pre "$sa/site/"
	cat >"$sa/site/local.cf" <<-EOF
		# Local tests only: no DNS, no network checks, no learning while scoring.
		required_score 5
		use_bayes 1
		bayes_path $sa/bayes/bayes
		bayes_file_mode 0777
		bayes_auto_learn 0
		bayes_auto_expire 0
		bayes_learn_during_report 0
		skip_rbl_checks 1
		use_razor2 0
		use_pyzor 0
		dns_available no
		dns_server 127.0.0.1:$sa_dns
		dns_local_ports_none
		report_safe 0
		lock_method flock
	EOF
	chmod -R a+rwX "$sa"
}

run_spamassassin() {
	local sa=$work/sa port magic nham nspam dir label f out rc t0 t1 c0 c1 spamd_pid i
	spamassassin_config
	log "SpamAssassin: sa-learn on the training split"
	for label in ham spam phish; do
		dir=$work/split/train/$label
		if [ "$label" = ham ]; then set -- --ham; else set -- --spam; fi
		timeout "$LEARN_TIMEOUT" sa-learn --local --siteconfigpath "$sa/site" "$1" "$dir" \
			>>"$sa/learn.out" 2>>"$sa/learn.err" || { tail "$sa/learn.err" >&2; die "sa-learn failed"; }
	done
	chmod -R a+rwX "$sa"
	magic=$(timeout 120 sa-learn --local --siteconfigpath "$sa/site" --dump magic 2>/dev/null)
	nham=$(awk '/non-token data: nham/ {print $3}' <<<"$magic")
	nspam=$(awk '/non-token data: nspam/ {print $3}' <<<"$magic")
	log "SpamAssassin: Bayes learned $nham ham, $nspam spam (minimum 200 each)"
	[ "${nham:-0}" -ge 200 ] && [ "${nspam:-0}" -ge 200 ] || die "SpamAssassin's Bayes is below its minimum learn counts"
	sa_learned="$nham ham, $nspam spam and phish"

	port=$(free_port)
	log "SpamAssassin: spamd on 127.0.0.1:$port, one child"
	timeout "$MAX_SECONDS" spamd --local --siteconfigpath "$sa/site" --nouser-config --username nobody \
		--listen "127.0.0.1:$port" --allowed-ips 127.0.0.1 --max-children 1 --min-children 1 \
		--min-spare 1 --max-spare 1 --max-conn-per-child 100000 --timeout-child 60 \
		--pidfile "$sa/spamd.pid" --syslog "$sa/spamd.log" >"$sa/spamd.out" 2>&1 &
	spamd_pid=$!
	pids+=("$spamd_pid")
	wait_port "$port" 120 || { tail "$sa/spamd.out" "$sa/spamd.log" >&2 || true; die "spamd did not start"; }
	# The child is ready once it is forked and spamc is answered: warm up with one message.
	local first=("$work"/split/train/ham/*)
	for ((i = 0; i < 60; i++)); do
		spamc -d 127.0.0.1 -p "$port" -c -x -t 60 <"${first[0]}" >/dev/null 2>&1 && break
		[ "$?" = 1 ] && break
		sleep 1
	done
	log "SpamAssassin: scanning the test split"
	: >"$work/spamassassin.verdicts"
	c0=$(tree_ticks "$spamd_pid")
	t0=$(now)
	for label in ham spam phish; do
		for f in "$work/split/test/$label"/*; do
			rc=0
			out=$(spamc -d 127.0.0.1 -p "$port" -c -x -t 60 -s 33554432 <"$f" 2>&1) || rc=$?
			case $rc in
			0) echo "$label ${f##*/} ham $out" ;;
			1) echo "$label ${f##*/} spam $out" ;;
			*) echo "$label ${f##*/} error rc=$rc" ;;
			esac
			[ "$(calc "$(now) - $t0" 0)" -lt "$SCAN_TIMEOUT" ] || die "SpamAssassin took more than ${SCAN_TIMEOUT}s to scan (on a busy machine, raise SCAN_TIMEOUT and MAX_SECONDS)"
		done >>"$work/spamassassin.verdicts"
	done
	t1=$(now)
	c1=$(tree_ticks "$spamd_pid")
	figures spamassassin "$(calc "$t1 - $t0" 3)" $((c1 - c0))
	stop_pids "$spamd_pid"
}

# ---- rspamd ----------------------------------------------------------------------------

# Modules that ask the network (DNS lists, hash services, URL fetches), that learn from
# what they scan (the test split must not teach them), or that need an MTA's context.
rspamd_off_modules="rbl emails fuzzy_check dcc asn spf dkim dmarc arc mx_check url_redirector
multimap whitelist reputation ratelimit greylist neural replies rspamd_update external_services
antivirus spamtrap p0f bimi http_headers clickhouse elastic metadata_exporter dkim_signing"

rspamd_config() {
	local rs=$work/rspamd m
	mkdir -p "$rs/local/local.d" "$rs/local/override.d" "$rs/db" "$rs/run" "$rs/log"
	cat >"$rs/rspamd.conf" <<-EOF
		# Debian's configuration (common.conf: modules, rules, scores, actions, statistics),
		# with private directories, two workers on loopback and the changes in local.d.
		.include "\$CONFDIR/common.conf"
		options {
		  pidfile = "$rs/run/rspamd.pid";
		  .include "\$CONFDIR/options.inc"
		  .include(try=true; priority=1,duplicate=merge) "\$LOCAL_CONFDIR/local.d/options.inc"
		}
		logging {
		  type = "file";
		  filename = "$rs/log/rspamd.log";
		  .include "\$CONFDIR/logging.inc"
		}
		worker "normal" {
		  bind_socket = "127.0.0.1:$rs_port";
		  .include "\$CONFDIR/worker-normal.inc"
		  count = 1;
		}
		worker "controller" {
		  bind_socket = "127.0.0.1:$rs_ctl";
		  .include "\$CONFDIR/worker-controller.inc"
		}
	EOF
	cat >"$rs/local/local.d/options.inc" <<-EOF
		dns {
		  nameserver = ["127.0.0.1:$rs_dns"];
		  timeout = 1s;
		  retransmits = 1;
		}
		hs_cache_dir = "$rs/db";
	EOF
	cat >"$rs/local/local.d/redis.conf" <<-EOF
		servers = "127.0.0.1:$redis_port";
	EOF
	cat >"$rs/local/local.d/classifier-bayes.conf" <<-EOF
		autolearn = false;
	EOF
	# hfilter: the checks that resolve the HELO name, the client's host name and the
	# From domain are off; the others stay.
	cat >"$rs/local/local.d/hfilter.conf" <<-EOF
		helo_enabled = false;
		hostname_enabled = false;
		from_enabled = false;
	EOF
	# phishing: its link checks stay; the feeds (OpenPhish, PhishTank: DNS) and the maps
	# fetched over HTTPS are off, the packaged redirector list stays.
	cat >"$rs/local/override.d/phishing.conf" <<-EOF
		openphish_enabled = false;
		phishtank_enabled = false;
		exceptions = {
		  REDIRECTOR_FALSE = ["\${CONFDIR}/maps.d/redirectors.inc"];
		};
	EOF
	for m in $rspamd_off_modules; do
		echo "enabled = false;" >"$rs/local/local.d/$m.conf"
	done
	chown -R _rspamd:_rspamd "$rs"
}

rspamd_stat() { timeout 60 rspamc -h "127.0.0.1:$rs_ctl" stat 2>/dev/null; }

run_rspamd() {
	local rs=$work/rspamd redis_pid rspamd_pid t0 t1 c0 c1 i learned_ham learned_spam label
	redis_port=$(free_port)
	rs_port=$(free_port)
	rs_ctl=$(free_port)
	mkdir -p "$rs/redis"
	log "rspamd: redis on 127.0.0.1:$redis_port (in memory)"
	timeout "$MAX_SECONDS" redis-server --bind 127.0.0.1 --port "$redis_port" --save '' --appendonly no \
		--dir "$rs/redis" --protected-mode yes >"$rs/redis.log" 2>&1 &
	redis_pid=$!
	pids+=("$redis_pid")
	wait_port "$redis_port" 30 || { tail "$rs/redis.log" >&2; die "redis did not start"; }

	rspamd_config
	log "rspamd: normal worker on 127.0.0.1:$rs_port, controller on 127.0.0.1:$rs_ctl"
	timeout "$MAX_SECONDS" rspamd -f -u _rspamd -g _rspamd -c "$rs/rspamd.conf" \
		--var "LOCAL_CONFDIR=$rs/local" --var "DBDIR=$rs/db" --var "RUNDIR=$rs/run" \
		--var "LOGDIR=$rs/log" >"$rs/rspamd.out" 2>&1 &
	rspamd_pid=$!
	pids+=("$rspamd_pid")
	wait_port "$rs_port" 60 && wait_port "$rs_ctl" 60 ||
		{ tail -n 30 "$rs/rspamd.out" "$rs/log/rspamd.log" >&2 || true; die "rspamd did not start"; }
	# Scanning before Hyperscan has compiled the rules would measure the fallback.
	for ((i = 0; i < 240; i++)); do
		grep -q '(normal).*full hyperscan database.*loaded' "$rs/log/rspamd.log" 2>/dev/null && break
		sleep 1
	done
	# rspamd refuses to learn a message its Bayes already puts in the class at over 95 %,
	# once it has 200 of each: ham and spam go in interleaved batches, so that neither
	# class is learned whole before the other starts.
	log "rspamd: rspamc learn_ham / learn_spam on the training split, interleaved"
	local t0 command files
	t0=$(now)
	while read -r command files; do
		# shellcheck disable=SC2086 # $files: file names without spaces
		timeout 300 rspamc -h "127.0.0.1:$rs_ctl" -n 2 -t 60 "$command" $files >>"$rs/$command.out" 2>&1 ||
			{ tail "$rs/$command.out" >&2; die "rspamc $command failed"; }
		[ "$(calc "$(now) - $t0" 0)" -lt "$LEARN_TIMEOUT" ] || die "rspamd took more than ${LEARN_TIMEOUT}s to learn"
	done < <("$PY" - "$work/split/train" <<<"$learn_order")
	# The controller refreshes its counts from redis now and then: wait for them.
	for ((i = 0; i < 30; i++)); do
		rspamd_stat >"$rs/stat.out" || true
		learned_ham=$(awk '/BAYES_HAM/ {for (i = 1; i <= NF; i++) if ($i == "learned:") {print $(i+1)+0; exit}}' "$rs/stat.out")
		learned_spam=$(awk '/BAYES_SPAM/ {for (i = 1; i <= NF; i++) if ($i == "learned:") {print $(i+1)+0; exit}}' "$rs/stat.out")
		[ "${learned_ham:-0}" -ge 200 ] && [ "${learned_spam:-0}" -ge 200 ] && break
		sleep 5
	done
	log "rspamd: Bayes learned $learned_ham ham, $learned_spam spam (minimum 200 each)"
	[ "${learned_ham:-0}" -ge 200 ] && [ "${learned_spam:-0}" -ge 200 ] || { cat "$rs/stat.out" >&2; die "rspamd's Bayes is below its minimum learn counts"; }
	# What rspamd took: it skips a message its Bayes already puts in the class at over 95 %.
	rs_learned="took $(grep -c 'success = true' "$rs/learn_ham.out") of $count_train_ham ham,"
	rs_learned+=" $(grep -c 'success = true' "$rs/learn_spam.out") of $((count_train_spam + count_train_phish)) spam and phish"

	log "rspamd: scanning the test split"
	"$PY" - "$work/split/train/ham" "127.0.0.1:$rs_port" 1 >/dev/null <<<"$rspamd_client" # warm-up
	c0=$(tree_ticks "$rspamd_pid")
	t0=$(now)
	timeout "$SCAN_TIMEOUT" "$PY" - "$work/split/test" "127.0.0.1:$rs_port" 0 \
		>"$work/rspamd.verdicts" 2>"$rs/client.err" <<<"$rspamd_client" ||
		{ tail "$rs/client.err" >&2; die "scanning with rspamd failed or took more than ${SCAN_TIMEOUT}s (on a busy machine, raise SCAN_TIMEOUT and MAX_SECONDS)"; }
	t1=$(now)
	c1=$(tree_ticks "$rspamd_pid")
	figures rspamd "$(calc "$t1 - $t0" 3)" $((c1 - c0))
	awk '{ sub(/^[^ ]+ [^ ]+ [^ ]+ /, ""); sub(/ score=.*/, ""); n[$0]++ } END { for (a in n) { printf "%s%s %d", sep, a, n[a]; sep = ", " } }' \
		"$work/rspamd.verdicts" >"$rs/actions"
	stop_pids "$rspamd_pid"
	stop_pids "$redis_pid"
}

# The order rspamd learns in: "learn_ham FILE..." or "learn_spam FILE..." lines, 25 files
# each, ham and spam (spam and phish together, in an order fixed by the SHA-256 of their
# names) taken in turn so that both advance at the same pace.
read -r -d '' learn_order <<'EOF' || true
import hashlib, os, sys
root = sys.argv[1]
def files(*labels):
    out = [os.path.join(root, l, n) for l in labels for n in os.listdir(os.path.join(root, l))]
    return sorted(out, key=lambda p: hashlib.sha256(os.path.basename(p).encode()).digest())
ham, spam = files("ham"), files("spam", "phish")
i = j = 0
while i < len(ham) or j < len(spam):
    if j >= len(spam) or (i < len(ham) and i * len(spam) <= j * len(ham)):
        print("learn_ham", *ham[i:i + 25]); i += 25
    else:
        print("learn_spam", *spam[j:j + 25]); j += 25
EOF

# The rspamd client: one HTTP request per message (/checkv2), in order, on loopback.
# Arguments: DIR (with ham/ spam/ phish/ under it, or the files themselves when LIMIT
# is not 0), HOST:PORT, LIMIT. Prints "CLASS FILE VERDICT ACTION score=S".
read -r -d '' rspamd_client <<'EOF' || true
import http.client, json, os, sys
root, addr, limit = sys.argv[1], sys.argv[2], int(sys.argv[3])
host, port = addr.rsplit(":", 1)
SPAM = {"add header", "rewrite subject", "soft reject", "reject"}
HAM = {"no action", "greylist"}
jobs = []
if limit:
    jobs = [("-", os.path.join(root, n)) for n in sorted(os.listdir(root))[:limit]]
else:
    for label in ("ham", "spam", "phish"):
        d = os.path.join(root, label)
        jobs += [(label, os.path.join(d, n)) for n in sorted(os.listdir(d))]
for label, path in jobs:
    with open(path, "rb") as f:
        body = f.read()
    c = http.client.HTTPConnection(host, int(port), timeout=60)
    c.request("POST", "/checkv2", body=body, headers={"Content-Type": "message/rfc822"})
    r = c.getresponse()
    data = r.read()
    c.close()
    try:
        res = json.loads(data)
        action = res["action"]
        verdict = "spam" if action in SPAM else "ham" if action in HAM else "error"
        print(label, os.path.basename(path), verdict, action, "score=%.2f" % res.get("score", 0))
    except (ValueError, KeyError):
        print(label, os.path.basename(path), "error", "HTTP %d" % r.status, "score=0")
EOF

# ---- Sealpost --------------------------------------------------------------------------

run_sealpost() {
	local args=() d commands
	for d in "${ham_dirs[@]}"; do args+=(--ham "$d"); done
	for d in "${spam_dirs[@]}"; do args+=(--spam "$d"); done
	for d in "${phish_boxes[@]}"; do args+=(--phish "$d"); done
	sealpost_status=
	commands=$(timeout 30 "$bin/sealpost" help 2>&1 || true)
	if ! grep -qE '^ +filter( |$)' <<<"$commands"; then
		sealpost_status="sealpost: filter command not available"
		log "$sealpost_status"
		return
	fi
	log "Sealpost: filter train on the training split"
	mkdir -p "$work/sealpost"
	if ! timeout "$LEARN_TIMEOUT" "$bin/sealpost" filter train --data "$work/sealpost" --split train "${args[@]}" \
		>"$work/sealpost-train.out" 2>&1; then
		tail "$work/sealpost-train.out" >&2
		if grep -qi 'unknown command' "$work/sealpost-train.out"; then
			sealpost_status="sealpost: filter command not available"
		else
			sealpost_status="sealpost: filter train failed"
		fi
		log "$sealpost_status"
		return
	fi
	log "Sealpost: filter eval on the test split"
	local rc=0 TIMEFORMAT='%R %U %S'
	{ time timeout "$SCAN_TIMEOUT" "$bin/sealpost" filter eval --data "$work/sealpost" --split test --json "${args[@]}" \
		>"$work/sealpost-eval.json" 2>"$work/sealpost-eval.err"; } 2>"$work/sealpost-eval.time" || rc=$?
	if [ "$rc" != 0 ]; then
		tail "$work/sealpost-eval.err" >&2
		sealpost_status="sealpost: filter eval failed"
		log "$sealpost_status"
		return
	fi
	# The whole command's CPU time (reading the corpora, opening the store, classifying).
	read -r sealpost_wall sealpost_user sealpost_sys <"$work/sealpost-eval.time"
	"$PY" - "$work/sealpost-eval.json" >"$work/sealpost.figures" <<-'EOF' ||
		import json, sys
		j = json.load(open(sys.argv[1]))
		for k in ("spam_recall", "ham_fp_rate", "phish_recall", "messages_per_second"):
		    print("%s=%s" % (k, float(j[k])))
		c = j.get("counts") or {}
		for k in ("ham", "spam", "phish"):
		    if isinstance(c.get(k), (int, float)):
		        print("%s_n=%d" % (k, c[k]))
	EOF
		{ sealpost_status="sealpost: filter eval gave no usable JSON"; log "$sealpost_status"; return; }
	local label n
	for label in ham spam phish; do
		n=$(sed -n "s/^${label}_n=//p" "$work/sealpost.figures" 2>/dev/null)
		[ -z "$n" ] || [ "$n" = "$(eval echo "\$count_test_$label")" ] ||
			log "warning: Sealpost's eval counted $n $label in the test split, the split here $(eval echo "\$count_test_$label")"
	done
}

# ---- the table -------------------------------------------------------------------------

pct() { calc "$1 * 100" "${2:-1}"; }

# cells NAME: the column of one filter, cells separated by "|": spam recall, ham false
# positives, phishing recall, accuracy (every test message judged right: spam and phish
# caught, ham not flagged), messages/s per core, wall time.
cells() {
	local f=$work/$1.figures status=${2:-}
	if [ -n "$status" ]; then
		echo "$status|$status|$status|$status|$status|$status"
	elif [ ! -s "$f" ]; then
		echo "not run|not run|not run|not run|not run|not run"
	elif [ "$1" = sealpost ]; then
		(
			. "$f"
			local n=$((count_test_ham + count_test_spam + count_test_phish)) right
			right=$(calc "$spam_recall * $count_test_spam + (1 - $ham_fp_rate) * $count_test_ham + $phish_recall * $count_test_phish" 0)
			printf '%s %%|%s %%|%s %%|%s %% (%s/%s)|%s (eval: messages_per_second); %s per CPU second of the whole eval command|%s s (the whole eval command)\n' \
				"$(pct "$spam_recall")" "$(pct "$ham_fp_rate" 2)" "$(pct "$phish_recall")" "$(pct "$right / $n" 2)" "$right" "$n" \
				"$(calc "$messages_per_second" 0)" "$(calc "$n / ($sealpost_user + $sealpost_sys)" 0)" "$sealpost_wall"
		)
	else
		(
			. "$f"
			local n=$((spam_n + ham_n + phish_n)) right=$((spam_caught + ham_n - ham_fp + phish_caught))
			printf '%s %% (%s/%s)|%s %% (%s/%s)|%s %% (%s/%s)|%s %% (%s/%s)|%s|%s s\n' \
				"$(pct "$spam_recall")" "$spam_caught" "$spam_n" "$(pct "$ham_fp_rate" 2)" "$ham_fp" "$ham_n" \
				"$(pct "$phish_recall")" "$phish_caught" "$phish_n" "$(pct "$right / $n" 2)" "$right" "$n" "$per_core" "$wall"
		)
	fi
}

report() {
	local sp sa rs i
	local rows=("spam recall" "ham false positives" "phishing recall (caught as spam)"
		"accuracy (test messages judged right)" "messages/s per core" "wall time for the test split")
	IFS='|' read -r -a sp <<<"$(cells sealpost "$sealpost_status")"
	IFS='|' read -r -a sa <<<"$(cells spamassassin)"
	IFS='|' read -r -a rs <<<"$(cells rspamd)"
	cat <<-EOF
		Spam and phishing filtering: test split of the SpamAssassin public corpus (2003) and
		Nazario's phishing corpus (2004-2005): $count_test_ham ham, $count_test_spam spam, $count_test_phish phish;
		trained on the training split: $count_train_ham ham, $count_train_spam spam, $count_train_phish phish.

		| | Sealpost | SpamAssassin $(spamassassin_version) | rspamd $(rspamd_version) |
		| --- | --- | --- | --- |
	EOF
	for i in "${!rows[@]}"; do
		printf '| %s | %s | %s | %s |\n' "${rows[$i]}" "${sp[$i]}" "${sa[$i]}" "${rs[$i]}"
	done
	echo
	if [ -s "$work/spamassassin.figures" ]; then
		echo "SpamAssassin: spamd --local, one child, Bayes from sa-learn ($sa_learned), spam at score >= 5$(errors spamassassin)."
	fi
	if [ -s "$work/rspamd.figures" ]; then
		echo "rspamd: one normal worker, network modules off, Bayes in redis ($rs_learned); spam when the action is"
		echo "add header, rewrite subject, soft reject or reject; actions seen: $(cat "$work/rspamd/actions")$(errors rspamd)."
	fi
	echo "Messages/s per core: messages scanned / CPU seconds of the filter's processes, one message at a"
	echo "time from one client. DNS queries: $(wc -l <"$work/dns-spamassassin.log") from spamd and $(wc -l <"$work/dns-rspamd.log") from rspamd, all"
	echo "answered NXDOMAIN by their stubs on loopback; $(wc -l <"$work/dns-system.log") reached the system's resolvers' addresses."
}

# errors NAME: ", N messages not scored" when there were any.
errors() {
	local n
	n=$(. "$work/$1.figures"; echo "$errors")
	[ "$n" = 0 ] || echo "; $n messages not scored (counted as not caught)"
}

spamassassin_version() { spamd --version 2>/dev/null | sed -n 's/.*version \([0-9.]*\).*/\1/p' | head -n1; }
rspamd_version() { rspamd --version 2>/dev/null | sed -n 's/.*version \([0-9.]*\).*/\1/p' | head -n1; }

# check_dns: fails the run when any query reached a system resolver's address.
check_dns() {
	if [ -s "$work/dns-system.log" ]; then
		head -n 20 "$work/dns-system.log" >&2
		die "$(wc -l <"$work/dns-system.log") DNS queries went to the system's resolvers instead of the stubs"
	fi
}

inner() {
	pids=()
	cleanup_inner() {
		local rc=$?
		trap - EXIT INT TERM
		set +e
		[ ${#pids[@]} = 0 ] || stop_pids "${pids[@]}"
		wait 2>/dev/null
		exit "$rc"
	}
	trap cleanup_inner EXIT
	trap 'exit 130' INT TERM
	start_stubs
	split_corpora
	sealpost_status="not run" sa_learned="" rs_learned=""
	case " $FILTERS " in *" spamassassin "*) run_spamassassin; check_dns ;; esac
	case " $FILTERS " in *" rspamd "*) run_rspamd; check_dns ;; esac
	case " $FILTERS " in *" sealpost "*) run_sealpost; check_dns ;; esac
	report >"$work/table.md"
}

if [ "${1:-}" = --inner ]; then
	work=$2 bin=$2/bin
	inner
	exit 0
fi

# ---------------------------------------------------------------------------------------
# Outside: install, build, then the rest in a network namespace of its own.
# ---------------------------------------------------------------------------------------

[ "$(id -u)" = 0 ] || die "run as root: it installs packages and uses a network namespace"
[ -d "$corpus/spamassassin" ] && [ -d "$corpus/phishing-nazario" ] || die "corpora missing under $corpus"
work=$(mktemp -d /tmp/compare-filter.XXXXXX)
chmod 755 "$work" # spamd's child (user nobody) and rspamd (user _rspamd) read under it
bin=$work/bin
inner_pid=

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	stop_watchdog
	[ -z "$inner_pid" ] || stop_pids "$inner_pid"
	wait 2>/dev/null
	if [ -n "${KEEP:-}" ]; then log "kept $work"; else rm -rf "$work"; fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
start_watchdog

missing=()
command -v sa-learn >/dev/null || missing+=(spamassassin)
command -v spamc >/dev/null || missing+=(spamc)
[ -x /usr/sbin/spamd ] || missing+=(spamd)
command -v rspamd >/dev/null || missing+=(rspamd)
command -v redis-server >/dev/null || missing+=(redis-server)
[ -x "$PY" ] || missing+=(python3)
command -v ip >/dev/null || missing+=(iproute2)
[ ${#missing[@]} = 0 ] || install_debs 'spamd|rspamd|redis-server' "${missing[@]}"
export PATH=$PATH:/usr/sbin
mkdir -p "$bin"
if [ -n "${SEALPOST:-}" ]; then
	cp "$SEALPOST" "$bin/sealpost"
else
	log "building sealpost"
	(cd "$repo" && timeout 600 go build -o "$bin/sealpost" ./cmd/sealpost) || die "go build failed"
fi

unshare --net -- bash "$0" --inner "$work" &
inner_pid=$!
wait "$inner_pid" || { rc=$?; inner_pid=; exit "$rc"; }
inner_pid=
echo
cat "$work/table.md"
if [ -n "$out_file" ]; then
	cp "$work/table.md" "$out_file"
	log "table written to $out_file"
fi
