#!/usr/bin/env bash
# compare-smtp.sh: delivered messages per second, Sealpost against Postfix + Dovecot.
#
# Sends the same SMTP load (mailbench: 4 KiB messages from many sender domains, to one
# mailbox) at 1, 8 and 32 connections to
#   (a) 'sealpost dev' on a free loopback port base, and
#   (b) a private Postfix instance on a loopback port that delivers over LMTP (unix socket)
#       to a private Dovecot writing a Maildir,
# and prints a table of delivered msgs/s, their ratio, and server CPU per message.
#
# Delivered means in the mailbox. Sealpost answers 250 to DATA only after the message is
# stored durably in the mailbox, so its accept rate is its delivered rate. Postfix answers
# 250 once the message is in its queue, so its rate is measured until the last message is
# in Dovecot's Maildir (mailbench count-maildir).
#
# Run by hand, as root (it installs postfix, dovecot-core and dovecot-lmtpd from Debian
# if missing, without starting their system services). Everything listens on 127.0.0.1
# only; every step has a timeout; all processes and temporary files are removed at exit.
#
#   bench/compare-smtp.sh                 # 2000 messages per run
#   N=500 CONNS="1 8" bench/compare-smtp.sh
set -euo pipefail

N=${N:-2000}                    # messages per run
CONNS=${CONNS:-"1 8 32"}        # connection counts
SIZE=${SIZE:-4096}              # message size in bytes
DOMAINS=${DOMAINS:-500}         # sender domains
SOURCE_IPS=${SOURCE_IPS:-16}    # client addresses 127.0.0.1..127.0.0.K, connections spread over them
RUN_LIMIT=${RUN_LIMIT:-120s}    # mailbench -duration for each run
DELIVERY_LIMIT=${DELIVERY_LIMIT:-300s} # how long Postfix + Dovecot may take to deliver a run
MAX_SECONDS=${MAX_SECONDS:-1800} # the whole script

. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || die "run as root: it installs packages and runs Postfix and Dovecot"
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/compare-smtp.XXXXXX)
chmod 755 "$work" # Postfix's lmtp client (user postfix) reaches Dovecot's socket under it
bin=$work/bin
sealpost_pid= dovecot_pid= cgroup= pf_conf=

cleanup() {
	local rc=$? p
	trap - EXIT INT TERM
	set +e
	stop_watchdog
	if [ -n "$pf_conf" ] && [ -f "$work/postfix/queue/pid/master.pid" ]; then
		timeout 30 postfix -c "$pf_conf" stop >/dev/null 2>&1
		p=$(tr -d ' ' <"$work/postfix/queue/pid/master.pid" 2>/dev/null)
		[ -n "$p" ] && kill -0 "$p" 2>/dev/null && kill -KILL "$p"
	fi
	stop_pids $dovecot_pid $sealpost_pid
	# Whatever Postfix or Dovecot left behind is in our cgroup.
	if [ -n "$cgroup" ] && [ -d "$cgroup" ]; then
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			[ -s "$cgroup/cgroup.procs" ] || break
			xargs -r kill -TERM <"$cgroup/cgroup.procs" 2>/dev/null
			sleep 0.5
		done
		xargs -r kill -KILL <"$cgroup/cgroup.procs" 2>/dev/null
		sleep 0.2
		rmdir "$cgroup" 2>/dev/null
	fi
	wait 2>/dev/null
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
start_watchdog

install_packages() {
	if command -v postfix >/dev/null && command -v dovecot >/dev/null && [ -x /usr/lib/dovecot/lmtp ]; then
		return
	fi
	echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
	install_debs 'master|dovecot' postfix dovecot-core dovecot-lmtpd
}

# A cpuacct cgroup holds Postfix and Dovecot and all their children, so their CPU time
# can be read as one figure. Without one, their CPU is not reported.
make_cgroup() {
	local d
	for d in /sys/fs/cgroup/cpuacct /sys/fs/cgroup/cpu,cpuacct; do
		if [ -f "$d/cpuacct.usage" ] && mkdir "$d/compare-smtp-$$" 2>/dev/null; then
			cgroup=$d/compare-smtp-$$
			return
		fi
	done
	if [ -f /sys/fs/cgroup/cgroup.controllers ] && mkdir "/sys/fs/cgroup/compare-smtp-$$" 2>/dev/null; then
		cgroup=/sys/fs/cgroup/compare-smtp-$$
	fi
}

# cgroup_cpu_ms: CPU time used by the cgroup so far, in milliseconds.
cgroup_cpu_ms() {
	if [ -f "$cgroup/cpuacct.usage" ]; then
		calc "$(cat "$cgroup/cpuacct.usage") / 1e6" 3
	else
		calc "$(sed -n 's/^usage_usec //p' "$cgroup/cpu.stat") / 1e3" 3
	fi
}

# in_cgroup CMD...: execs CMD (same process ID) inside the cgroup, if there is one, so
# that its descendants are there too.
# Not a function, so that "$!" after "in_cgroup ... &" is CMD's process ID.
enter_cgroup='[ -z "$1" ] || echo $$ >"$1/cgroup.procs" || exit 1; shift; exec "$@"'
in_cgroup() { sh -c "$enter_cgroup" sh "$cgroup" "$@"; }

# load NAME PORT CONNS [EXTRA...]: one mailbench run, JSON in $work/NAME-cCONNS.json.
load() {
	local name=$1 port=$2 c=$3
	shift 3
	timeout 900 "$bin/mailbench" smtp -addr "127.0.0.1:$port" -n "$N" -c "$c" -size "$SIZE" \
		-sender-domains "$DOMAINS" -source-ips "$SOURCE_IPS" -from "load@senders.test" -to demo@example.test \
		-duration "$RUN_LIMIT" -json "$@" >"$work/$name-c$c.json" ||
		{ cat "$work/$name-c$c.json" >&2; die "mailbench failed against $name"; }
	local failed
	failed=$(json_get failed "$work/$name-c$c.json")
	[ "$failed" = 0 ] || log "$name at $c connections: $failed messages failed: $(grep -A3 '"errors"' "$work/$name-c$c.json" | tr -d '\n ')"
}

run_sealpost() {
	local base
	base=$(free_base)
	log "Sealpost: 'sealpost dev' on 127.0.0.1, port base $base"
	"$bin/sealpost" dev --data "$work/sealpost" --port-base "$base" >"$work/sealpost.out" 2>"$work/sealpost.log" &
	sealpost_pid=$!
	wait_port $((base + 25)) 30 || { tail "$work/sealpost.log" >&2; die "Sealpost did not start"; }
	local port=$((base + 25)) c
	load sealpost-warmup "$port" 1 -n 50 >/dev/null
	for c in $CONNS; do
		log "Sealpost: $N messages over $c connections"
		load sealpost "$port" "$c" -pid "$sealpost_pid"
	done
	kill -TERM "$sealpost_pid"
	timeout 30 tail --pid="$sealpost_pid" -f /dev/null || kill -KILL "$sealpost_pid"
	sealpost_pid=
}

start_dovecot() {
	local dc=$work/dovecot
	mkdir -p "$dc" "$work/mail"
	chown dovecot:dovecot "$work/mail"
	cat >"$dc/dovecot.conf" <<-EOF
		# A private Dovecot: LMTP on a unix socket, one Maildir per user under $work/mail.
		base_dir = $dc/run
		state_dir = $dc/state
		log_path = $dc/dovecot.log
		protocols = lmtp
		listen = 127.0.0.1
		ssl = no
		default_internal_user = dovecot
		default_login_user = dovenull
		first_valid_uid = $(id -u dovecot)
		mail_location = maildir:~/Maildir
		passdb {
		  driver = static
		  args = nopassword=y
		}
		userdb {
		  driver = static
		  args = uid=dovecot gid=dovecot home=$work/mail/%u
		}
		service lmtp {
		  unix_listener lmtp {
		    mode = 0666
		  }
		}
		protocol lmtp {
		  postmaster_address = postmaster@example.test
		}
	EOF
	sh -c "$enter_cgroup" sh "$cgroup" dovecot -F -c "$dc/dovecot.conf" >"$dc/dovecot.out" 2>&1 &
	dovecot_pid=$!
	local i
	for ((i = 0; i < 100; i++)); do
		[ -S "$dc/run/lmtp" ] && return
		kill -0 "$dovecot_pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$dc/dovecot.out" "$dc/dovecot.log" >&2 2>/dev/null || true
	die "Dovecot did not start"
}

start_postfix() {
	local pf=$work/postfix port=$1
	pf_conf=$pf/conf
	mkdir -p "$pf_conf" "$pf/queue" "$pf/data"
	chown postfix "$pf/data"
	cat >"$pf_conf/main.cf" <<-EOF
		# A private Postfix: listens on 127.0.0.1:$port only, accepts mail for example.test
		# and hands it to Dovecot over LMTP. Everything else is Debian's default.
		compatibility_level = 3.6
		queue_directory = $pf/queue
		data_directory = $pf/data
		mail_owner = postfix
		setgid_group = postdrop
		myhostname = postfix.bench.test
		mydomain = bench.test
		mydestination =
		local_recipient_maps =
		alias_maps =
		alias_database =
		inet_interfaces = 127.0.0.1
		inet_protocols = ipv4
		mynetworks = 127.0.0.0/8
		smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination
		virtual_mailbox_domains = example.test
		virtual_transport = lmtp:unix:$work/dovecot/run/lmtp
		smtp_dns_support_level = disabled
		maillog_file = $pf/maillog
		maillog_file_prefixes = $pf
		biff = no
	EOF
	# master.cf: Debian's services, none chrooted (the paths above are absolute), and the
	# SMTP listener on our port instead of port 25.
	cat >"$pf_conf/master.cf" <<-EOF
		127.0.0.1:$port inet n - n - - smtpd
		pickup    unix  n - n 60 1 pickup
		cleanup   unix  n - n -  0 cleanup
		qmgr      unix  n - n 300 1 qmgr
		rewrite   unix  - - n -  - trivial-rewrite
		bounce    unix  - - n -  0 bounce
		defer     unix  - - n -  0 bounce
		trace     unix  - - n -  0 bounce
		verify    unix  - - n -  1 verify
		flush     unix  n - n 1000? 0 flush
		proxymap  unix  - - n -  - proxymap
		proxywrite unix - - n -  1 proxymap
		smtp      unix  - - n -  - smtp
		relay     unix  - - n -  - smtp
		showq     unix  n - n -  - showq
		error     unix  - - n -  - error
		retry     unix  - - n -  - error
		discard   unix  - - n -  - discard
		virtual   unix  - n n -  - virtual
		lmtp      unix  - - n -  - lmtp
		anvil     unix  - - n -  1 anvil
		scache    unix  - - n -  1 scache
		postlog   unix-dgram n - n - 1 postlogd
	EOF
	timeout 60 postfix -c "$pf_conf" check >"$pf/check.log" 2>&1 || { cat "$pf/check.log" >&2; die "postfix check failed"; }
	in_cgroup timeout 60 postfix -c "$pf_conf" start >"$pf/start.log" 2>&1 || { cat "$pf/start.log" >&2; die "Postfix did not start"; }
	wait_port "$port" 30 || { cat "$pf/start.log" "$pf/maillog" >&2 2>/dev/null; die "Postfix is not listening"; }
}

run_postfix() {
	local port maildir=$work/mail/demo@example.test/Maildir c before sent t1 cpu0 cpu1
	port=$(free_port)
	make_cgroup
	start_dovecot
	start_postfix "$port"
	log "Postfix + Dovecot: Postfix on 127.0.0.1:$port, LMTP to Dovecot at $work/dovecot/run/lmtp${cgroup:+, CPU from $cgroup}"
	load postfix-warmup "$port" 1 -n 50
	timeout 120 "$bin/mailbench" count-maildir -until 50 -timeout 100s "$maildir" >/dev/null ||
		{ tail -n 20 "$work/postfix/maillog" >&2; die "Postfix + Dovecot did not deliver the warm-up messages"; }
	for c in $CONNS; do
		log "Postfix + Dovecot: $N messages over $c connections"
		before=$("$bin/mailbench" count-maildir "$maildir")
		[ -n "$cgroup" ] && cpu0=$(cgroup_cpu_ms)
		load postfix "$port" "$c"
		sent=$(json_get sent "$work/postfix-c$c.json")
		timeout 900 "$bin/mailbench" count-maildir -until $((before + sent)) -timeout "$DELIVERY_LIMIT" -json "$maildir" \
			>"$work/postfix-c$c.delivered" || log "not all messages were delivered in $DELIVERY_LIMIT"
		[ -n "$cgroup" ] && cpu1=$(cgroup_cpu_ms) && echo "$(calc "($cpu1 - $cpu0) / $sent" 3)" >"$work/postfix-c$c.cpu"
		t1=$(sed -n 's/.*"at_unix":\([0-9.]*\).*/\1/p' "$work/postfix-c$c.delivered")
		echo "$(($(sed -n 's/.*"count":\([0-9]*\).*/\1/p' "$work/postfix-c$c.delivered") - before))" "$t1" \
			>"$work/postfix-c$c.result"
	done
}

failures() { [ "$1" = 0 ] || echo " ($1 refused)"; }

report() {
	local c s_rate s_p50 s_p99 s_cpu s_failed p_failed p_acc p_start delivered t1 p_rate p_cpu ratio
	echo
	echo "SMTP delivery, $N messages of $SIZE bytes per run from $DOMAINS sender domains over $SOURCE_IPS client"
	echo "addresses, to one mailbox"
	echo
	echo "| connections | Sealpost delivered msgs/s | Sealpost p50 / p99 ms | Sealpost CPU ms/msg | Postfix 250 msgs/s | Postfix + Dovecot delivered msgs/s | Postfix + Dovecot CPU ms/msg | ratio |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- |"
	for c in $CONNS; do
		s_rate=$(json_get msgs_per_second "$work/sealpost-c$c.json")
		s_p50=$(json_get p50_ms "$work/sealpost-c$c.json")
		s_p99=$(json_get p99_ms "$work/sealpost-c$c.json")
		s_cpu=$(json_get cpu_ms_per_message "$work/sealpost-c$c.json")
		s_failed=$(json_get failed "$work/sealpost-c$c.json")
		p_failed=$(json_get failed "$work/postfix-c$c.json")
		p_acc=$(json_get msgs_per_second "$work/postfix-c$c.json")
		p_start=$(json_get start_unix "$work/postfix-c$c.json")
		read -r delivered t1 <"$work/postfix-c$c.result"
		p_rate=$(calc "$delivered / ($t1 - $p_start)")
		p_cpu=$(cat "$work/postfix-c$c.cpu" 2>/dev/null || echo n/a)
		ratio=$(calc "$s_rate / $p_rate" 2)
		printf '| %s | %.0f%s | %.1f / %.1f | %s | %.0f%s | %.0f (%s delivered) | %s | %s× |\n' \
			"$c" "$s_rate" "$(failures "$s_failed")" "$s_p50" "$s_p99" "$s_cpu" \
			"$p_acc" "$(failures "$p_failed")" "$p_rate" "$delivered" "$p_cpu" "$ratio"
	done
	echo
	echo "Sealpost answers 250 only once a message is durably in the mailbox, so its accept rate is"
	echo "its delivered rate. Postfix + Dovecot: from the first MAIL until the last message is in the Maildir."
}

install_packages
build_tools
run_sealpost
run_postfix
report
