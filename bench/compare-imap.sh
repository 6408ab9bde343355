#!/usr/bin/env bash
# compare-imap.sh: IMAP sessions per second, Sealpost against Dovecot.
#
# Fills one INBOX with M messages of 4 KiB on each server, then runs the same IMAP load
# (mailbench imap: LOGIN over IMAPS, SELECT, FETCH 1:* (UID FLAGS ENVELOPE BODYSTRUCTURE),
# B x UID FETCH BODY.PEEK[], SEARCH, LOGOUT per session) at 1, 8 and 32 clients against
#   (a) 'sealpost dev' on a free loopback port base, its INBOX filled over SMTP (MX port), and
#   (b) a private Dovecot (Debian's) serving IMAPS on a free loopback port, its Maildir
#       written directly with the same generated messages (mailbench write-maildir),
# and prints a table of sessions/s, FETCH 1:* latency and their ratios.
#
# Dovecot checks a static plain-text password (no hashing); Sealpost checks its account
# password as it always does. Both see the same clients spread over SOURCE_IPS loopback
# addresses, so neither's per-address connection limit is reached.
#
# Run by hand, as root (it installs dovecot-core and dovecot-imapd from Debian if missing,
# without starting their system services). Everything listens on 127.0.0.1 only; every
# step has a timeout; all processes and temporary files are removed at exit.
#
#   bench/compare-imap.sh                  # 1000 messages, 200 sessions per client count
#   M=200 SESSIONS=50 CLIENTS="1 8" bench/compare-imap.sh
#   SEALPOST=/path/to/sealpost bench/compare-imap.sh   # a sealpost binary built before
#   HISTORY=50000 bench/compare-imap.sh    # first deliver and expunge 50000 messages on both
set -euo pipefail

M=${M:-1000}                    # messages in the INBOX
SIZE=${SIZE:-4096}              # message size in bytes
SESSIONS=${SESSIONS:-200}       # sessions per run, spread over the clients
CLIENTS=${CLIENTS:-"1 8 32"}    # client counts
BODIES=${BODIES:-10}            # UID FETCH BODY.PEEK[] per session
SEARCH=${SEARCH:-'SUBJECT "message 42"'}
SOURCE_IPS=${SOURCE_IPS:-16}    # client addresses 127.0.0.1..127.0.0.K
RUN_LIMIT=${RUN_LIMIT:-60s}     # mailbench -duration for each run
HISTORY=${HISTORY:-0}           # messages delivered and expunged before the INBOX is filled
MAX_SECONDS=${MAX_SECONDS:-1200} # the whole script

. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || die "run as root: it installs packages and runs Dovecot"
repo=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /tmp/compare-imap.XXXXXX)
chmod 755 "$work"
bin=$work/bin
sealpost_pid= dovecot_pid=

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	set +e
	stop_watchdog
	stop_pids $dovecot_pid $sealpost_pid
	wait 2>/dev/null
	rm -rf "$work"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
start_watchdog

install_packages() {
	if command -v dovecot >/dev/null && [ -x /usr/lib/dovecot/imap ]; then
		return
	fi
	install_debs dovecot dovecot-core dovecot-imapd
}

# load NAME PORT USER PASSWORD CLIENTS [EXTRA...]: one run, JSON in $work/NAME-cCLIENTS.json.
load() {
	local name=$1 port=$2 user=$3 pass=$4 c=$5 n
	shift 5
	n=$(((SESSIONS + c - 1) / c))
	timeout 600 "$bin/mailbench" imap -addr "127.0.0.1:$port" -security tls -auth "$user:$pass" \
		-n "$n" -c "$c" -bodies "$BODIES" -search "$SEARCH" -source-ips "$SOURCE_IPS" \
		-duration "$RUN_LIMIT" -json "$@" >"$work/$name-c$c.json" ||
		{ cat "$work/$name-c$c.json" >&2; die "mailbench imap failed against $name"; }
	local failed
	failed=$(json_get failed "$work/$name-c$c.json")
	[ "$failed" = 0 ] || log "$name at $c clients: $failed sessions failed: $(grep -A3 '"errors"' "$work/$name-c$c.json" | tr -d '\n ')"
}

run_sealpost() {
	local base dev user pass c i
	base=$(free_base)
	log "Sealpost: 'sealpost dev' on 127.0.0.1, port base $base"
	"$bin/sealpost" dev --data "$work/sealpost" --port-base "$base" >"$work/sealpost.out" 2>"$work/sealpost.log" &
	sealpost_pid=$!
	wait_port $((base + 993)) 30 || { tail "$work/sealpost.log" >&2; die "Sealpost did not start"; }
	wait_port $((base + 25)) 30 || die "Sealpost's MX port is not listening"
	dev=$work/sealpost/dev.json
	for ((i = 0; i < 300; i++)); do
		[ -s "$dev" ] && grep -q '"password"' "$dev" && break
		sleep 0.1
	done
	user=$(sed -n 's/^ *"user": "\(.*\)",$/\1/p' "$dev")
	pass=$(sed -n 's/^ *"password": "\(.*\)",$/\1/p' "$dev")
	if [ "$HISTORY" -gt 0 ]; then
		log "Sealpost: delivering $HISTORY messages over SMTP and expunging them"
		timeout 900 "$bin/mailbench" smtp -addr "127.0.0.1:$((base + 25))" -n "$HISTORY" -c 8 -size "$SIZE" \
			-source-ips "$SOURCE_IPS" -from load@senders.test -to "$user" -duration 900s -json >"$work/history.json" ||
			{ cat "$work/history.json" >&2; die "delivering the history to Sealpost failed"; }
		expunge_all $((base + 993)) "$user" "$pass" || die "expunging Sealpost's history failed"
	fi
	log "Sealpost: delivering $M messages to $user over SMTP"
	timeout 600 "$bin/mailbench" smtp -addr "127.0.0.1:$((base + 25))" -n "$M" -c 8 -size "$SIZE" \
		-source-ips "$SOURCE_IPS" -from load@senders.test -to "$user" -duration 300s -json >"$work/fill.json" ||
		{ cat "$work/fill.json" >&2; die "filling Sealpost's INBOX failed"; }
	[ "$(json_get sent "$work/fill.json")" = "$M" ] || die "Sealpost took only $(json_get sent "$work/fill.json") of $M messages"
	load sealpost-warmup $((base + 993)) "$user" "$pass" 1 -n 2 >/dev/null
	for c in $CLIENTS; do
		log "Sealpost: $SESSIONS sessions over $c clients"
		load sealpost $((base + 993)) "$user" "$pass" "$c" -pid "$sealpost_pid"
	done
	kill -TERM "$sealpost_pid"
	timeout 30 tail --pid="$sealpost_pid" -f /dev/null || kill -KILL "$sealpost_pid"
	sealpost_pid=
}

run_dovecot() {
	local dc=$work/dovecot port user=bench@example.test pass=bench-password c i
	port=$(free_port)
	mkdir -p "$dc"
	# With a history, the Maildir first holds only the history, expunged once
	# Dovecot runs; the INBOX's M messages come after.
	local first=$M
	[ "$HISTORY" -gt 0 ] && first=$HISTORY
	log "Dovecot: writing $first messages into a Maildir"
	timeout 300 "$bin/mailbench" write-maildir -n "$first" -size "$SIZE" -from load@senders.test -to "$user" \
		"$work/mail/$user/Maildir" >/dev/null
	chown -R dovecot:dovecot "$work/mail"
	timeout 60 openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=dovecot.bench.test -keyout "$dc/key.pem" -out "$dc/cert.pem" 2>/dev/null
	cat >"$dc/dovecot.conf" <<-EOF
		# A private Dovecot: IMAPS on 127.0.0.1:$port, one Maildir per user under $work/mail.
		base_dir = $dc/run
		state_dir = $dc/state
		log_path = $dc/dovecot.log
		protocols = imap
		listen = 127.0.0.1
		ssl = required
		ssl_cert = <$dc/cert.pem
		ssl_key = <$dc/key.pem
		default_internal_user = dovecot
		default_login_user = dovenull
		first_valid_uid = $(id -u dovecot)
		mail_location = maildir:~/Maildir
		passdb {
		  driver = static
		  args = password=$pass
		}
		userdb {
		  driver = static
		  args = uid=dovecot gid=dovecot home=$work/mail/%u
		}
		service imap-login {
		  inet_listener imap {
		    port = 0
		  }
		  inet_listener imaps {
		    address = 127.0.0.1
		    port = $port
		  }
		}
	EOF
	dovecot -F -c "$dc/dovecot.conf" >"$dc/dovecot.out" 2>&1 &
	dovecot_pid=$!
	wait_port "$port" 30 || { cat "$dc/dovecot.out" "$dc/dovecot.log" >&2 2>/dev/null; die "Dovecot did not start"; }
	log "Dovecot: IMAPS on 127.0.0.1:$port"
	if [ "$HISTORY" -gt 0 ]; then
		log "Dovecot: expunging the $HISTORY messages of its history, then writing $M"
		expunge_all "$port" "$user" "$pass" || die "expunging Dovecot's history failed"
		timeout 300 "$bin/mailbench" write-maildir -n "$M" -size "$SIZE" -from load@senders.test -to "$user" \
			"$work/mail/$user/Maildir" >/dev/null
		chown -R dovecot:dovecot "$work/mail"
	fi
	load dovecot-warmup "$port" "$user" "$pass" 1 -n 2 >/dev/null
	for c in $CLIENTS; do
		log "Dovecot: $SESSIONS sessions over $c clients"
		load dovecot "$port" "$user" "$pass" "$c"
	done
}

# expunge_all PORT USER PASSWORD: marks every message of the INBOX \Deleted and
# expunges it, over IMAPS with Python's imaplib.
expunge_all() {
	timeout 600 python3 - "$@" <<-'PY'
		import imaplib, ssl, sys
		port, user, password = sys.argv[1:4]
		ctx = ssl.create_default_context()
		ctx.check_hostname, ctx.verify_mode = False, ssl.CERT_NONE
		c = imaplib.IMAP4_SSL("127.0.0.1", int(port), ssl_context=ctx, timeout=600)
		c.login(user, password)
		typ, data = c.select("INBOX")
		if int(data[0]) > 0:
		    c.store("1:*", "+FLAGS.SILENT", "(\\Deleted)")
		    c.expunge()
		typ, data = c.select("INBOX")
		assert int(data[0]) == 0, data
		c.logout()
	PY
}

failures() { [ "$1" = 0 ] || echo " ($1 failed)"; }

report() {
	local c s p s_rate p_rate s_f50 p_f50 s_fail p_fail
	echo
	echo "IMAP over TLS, INBOX of $M messages of $SIZE bytes (after $HISTORY delivered and expunged); a session is LOGIN, SELECT,"
	echo "FETCH 1:* (UID FLAGS ENVELOPE BODYSTRUCTURE), $BODIES x UID FETCH BODY.PEEK[], SEARCH $SEARCH, LOGOUT"
	echo
	echo "| clients | Sealpost sessions/s | Dovecot sessions/s | ratio | Sealpost FETCH 1:* p50 / p99 ms | Dovecot FETCH 1:* p50 / p99 ms | FETCH p50 ratio | Sealpost LOGIN p50 ms | Dovecot LOGIN p50 ms | Sealpost CPU ms/session |"
	echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
	for c in $CLIENTS; do
		s=$work/sealpost-c$c.json p=$work/dovecot-c$c.json
		s_rate=$(json_get sessions_per_second "$s") p_rate=$(json_get sessions_per_second "$p")
		s_f50=$(json_phase fetch p50_ms "$s") p_f50=$(json_phase fetch p50_ms "$p")
		s_fail=$(json_get failed "$s") p_fail=$(json_get failed "$p")
		printf '| %s | %.1f%s | %.1f%s | %s× | %.1f / %.1f | %.1f / %.1f | %s× | %.1f | %.1f | %s |\n' "$c" \
			"$s_rate" "$(failures "$s_fail")" "$p_rate" "$(failures "$p_fail")" "$(calc "$s_rate / $p_rate" 2)" \
			"$s_f50" "$(json_phase fetch p99_ms "$s")" "$p_f50" "$(json_phase fetch p99_ms "$p")" \
			"$(calc "$p_f50 / $s_f50" 2)" "$(json_phase login p50_ms "$s")" "$(json_phase login p50_ms "$p")" \
			"$(json_get cpu_ms_per_session "$s")"
	done
	echo
	echo "Ratios above 1 favour Sealpost (for FETCH latency: Dovecot's p50 over Sealpost's)."
}

install_packages
build_tools
run_sealpost
run_dovecot
report
