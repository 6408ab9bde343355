# lib.sh: what the bench/compare-*.sh scripts share. Sourced, not run.
#
# The sourcing script sets MAX_SECONDS and work (its temporary directory)
# and defines its own cleanup; it calls start_watchdog after installing its
# traps, and stops the watchdog in its cleanup with stop_watchdog.

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# start_watchdog: after MAX_SECONDS, sends the script SIGTERM, so that its
# cleanup runs however the run is stuck.
watchdog_pid=
start_watchdog() {
	(
		trap 'kill "$s" 2>/dev/null; exit 0' TERM
		sleep "$MAX_SECONDS" &
		s=$!
		wait "$s"
		log "time limit of ${MAX_SECONDS}s reached"
		kill -TERM $$
	) &
	watchdog_pid=$!
}
stop_watchdog() { [ -z "$watchdog_pid" ] || kill "$watchdog_pid" 2>/dev/null; }

# stop_pids PID...: SIGTERM to each, then SIGKILL to those still running
# after 15 s.
stop_pids() {
	local p
	for p in "$@"; do
		kill -TERM "$p" 2>/dev/null
	done
	for p in "$@"; do
		timeout 15 tail --pid="$p" -f /dev/null 2>/dev/null || kill -KILL "$p" 2>/dev/null
	done
}

# json_get KEY FILE: the first number under KEY in mailbench's indented JSON;
# json_phase PHASE KEY FILE: KEY within the phase PHASE.
json_get() { sed -n "s/^ *\"$1\": *\([-0-9.e+]*\),\{0,1\}$/\1/p" "$2" | head -n1; }
json_phase() { sed -n "/^    \"$1\": {/,/}/s/^ *\"$2\": *\([-0-9.e+]*\),\{0,1\}$/\1/p" "$3" | head -n1; }
# calc EXPR [DECIMALS]: awk arithmetic, printed with DECIMALS (1) decimals.
calc() { awk "BEGIN { printf \"%.${2:-1}f\", $1 }"; }

port_free() { ! ss -Hltn "sport = :$1" | grep -q .; }

# free_base: a port base for 'sealpost dev' whose ports are all free.
free_base() {
	local base off ok
	for base in $(shuf -i 20000-50000 -n 40); do
		ok=1
		for off in 25 110 143 443 465 587 993 995 8080; do
			port_free $((base + off)) || { ok=; break; }
		done
		[ -n "$ok" ] && { echo "$base"; return; }
	done
	die "no free port base found"
}

free_port() {
	local p
	for p in $(shuf -i 20000-50000 -n 40); do
		port_free "$p" && { echo "$p"; return; }
	done
	die "no free port found"
}

# wait_port PORT SECONDS: waits until something listens on PORT.
wait_port() {
	local i
	for ((i = 0; i < $2 * 10; i++)); do
		port_free "$1" || return 0
		sleep 0.1
	done
	return 1
}

# install_debs PATTERN PACKAGE...: installs the Debian packages with
# apt-get, keeping their system services from starting (a policy-rc.d that
# says no), and stops any process whose name matches the pgrep -x PATTERN
# that the installation started all the same.
install_debs() {
	local pattern=$1 policy=/usr/sbin/policy-rc.d saved= before rc=0 p
	shift
	log "installing $* (services are not started)"
	before=$(pgrep -x "$pattern" | sort || true)
	if [ -e "$policy" ]; then saved=$work/policy-rc.d.saved; cp -p "$policy" "$saved"; fi
	printf '#!/bin/sh\nexit 101\n' >"$policy"
	chmod 755 "$policy"
	DEBIAN_FRONTEND=noninteractive timeout 600 apt-get install -y -qq --no-install-recommends \
		"$@" >"$work/apt.log" 2>&1 || rc=$?
	if [ -n "$saved" ]; then cp -p "$saved" "$policy"; else rm -f "$policy"; fi
	for p in $(pgrep -x "$pattern" | sort | comm -13 <(echo "$before") -); do
		log "stopping process $p started by the installation"
		kill -TERM "$p"
	done
	[ "$rc" = 0 ] || { tail -n 20 "$work/apt.log" >&2; die "apt-get install failed"; }
}

# build_tools: builds sealpost (or copies $SEALPOST) and mailbench into $bin.
build_tools() {
	mkdir -p "$bin"
	if [ -n "${SEALPOST:-}" ]; then
		log "using the sealpost binary $SEALPOST; building mailbench"
		cp "$SEALPOST" "$bin/sealpost"
	else
		log "building sealpost and mailbench"
		(cd "$repo" && timeout 600 go build -o "$bin/sealpost" ./cmd/sealpost)
	fi
	(cd "$repo" && timeout 600 go build -o "$bin/mailbench" ./cmd/mailbench)
}
