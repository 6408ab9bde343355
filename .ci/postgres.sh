#!/usr/bin/env bash
# Start a throwaway PostgreSQL server for the store/postgres tests and print
# its DSN as the last line of standard output. Everything else goes to
# standard error, so callers can write:
#
#   export SEALPOST_TEST_POSTGRES="$(bash .ci/postgres.sh | tail -n 1)"
#
# The server listens on 127.0.0.1 only, keeps its data in a temporary
# directory owned by the postgres user, and has a "sealpost" role that may
# CREATE DATABASE (each test makes its own database). Running the script again
# reuses the server if it is still up, or starts it again from its data dir.
#
# Environment:
#   SEALPOST_PG_DIR   data directory (default /tmp/sealpost-pg)
#   SEALPOST_PG_PORT  first port to try (default 55432)
set -euo pipefail

log() { echo "postgres.sh: $*" >&2; }

datadir="${SEALPOST_PG_DIR:-/tmp/sealpost-pg}"
port="${SEALPOST_PG_PORT:-55432}"
role=sealpost
password=sealpost

# find_bindir prints the directory holding initdb and pg_ctl, preferring the
# newest Debian cluster version.
find_bindir() {
	local d
	for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -n -r); do
		if [[ -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/postgres" ]]; then
			echo "$d"
			return 0
		fi
	done
	if command -v initdb >/dev/null 2>&1 && command -v pg_ctl >/dev/null 2>&1; then
		dirname "$(readlink -f "$(command -v initdb)")"
		return 0
	fi
	return 1
}

if ! bindir="$(find_bindir)"; then
	if [[ $(id -u) -ne 0 ]]; then
		log "PostgreSQL is not installed; run as root or: apt-get install -y postgresql"
		exit 1
	fi
	log "installing PostgreSQL from Debian"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q >&2
	apt-get install -y -q postgresql >&2
	bindir="$(find_bindir)"
fi
log "using $bindir"

# The server must not run as root: as root, run it as the postgres user
# (created by the Debian package, or here if the binaries came another way).
runas=()
if [[ $(id -u) -eq 0 ]]; then
	if ! id postgres >/dev/null 2>&1; then
		useradd --system --home-dir /var/lib/postgresql --shell /bin/bash postgres
	fi
	runas=(runuser -u postgres --)
fi
pg() { (cd / && "${runas[@]}" "$@"); }

# port_free succeeds when nothing accepts connections on 127.0.0.1:$1.
port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

mkdir -p "$datadir"
if [[ $(id -u) -eq 0 ]]; then
	chown postgres: "$datadir"
fi
chmod 0700 "$datadir"

if [[ ! -f "$datadir/PG_VERSION" ]]; then
	log "initialising $datadir"
	pwfile="$(mktemp)"
	echo postgres >"$pwfile"
	chmod 0644 "$pwfile"
	pg "$bindir/initdb" -D "$datadir" -U postgres --pwfile="$pwfile" \
		--auth-local=trust --auth-host=scram-sha-256 -E UTF8 --locale=C.UTF-8 >&2
	rm -f "$pwfile"
	# Loopback only; the unix socket lives in the data dir so no system
	# directory is needed.
	cat >>"$datadir/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$datadir'
max_connections = 200
EOF
	cat >"$datadir/pg_hba.conf" <<EOF
local all all trust
host all all 127.0.0.1/32 scram-sha-256
EOF
fi

if pg "$bindir/pg_ctl" -D "$datadir" status >/dev/null 2>&1; then
	port="$(sed -n 4p "$datadir/postmaster.pid")"
	log "server already running on port $port"
else
	for ((i = 0; i < 100; i++)); do
		port_free "$port" && break
		port=$((port + 1))
	done
	log "starting server on 127.0.0.1:$port"
	pg "$bindir/pg_ctl" -D "$datadir" -l "$datadir/server.log" -o "-p $port" -w -t 60 start >&2
fi

psql_admin() {
	psql="$bindir/psql"; [[ -x "$psql" ]] || psql=psql
	pg "$psql" -X -q -v ON_ERROR_STOP=1 -h "$datadir" -p "$port" -U postgres -d postgres "$@"
}
psql_admin -c "DO \$\$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$role') THEN
    CREATE ROLE $role LOGIN CREATEDB PASSWORD '$password';
  END IF;
END \$\$;" >&2
# Tests drop their databases WITH (FORCE), which must be able to end any
# session still connected, autovacuum workers included.
psql_admin -c "GRANT pg_signal_backend TO $role" >&2
if [[ -z "$(psql_admin -tA -c "SELECT 1 FROM pg_database WHERE datname = '$role'")" ]]; then
	psql_admin -c "CREATE DATABASE $role OWNER $role" >&2
fi

echo "postgres://$role:$password@127.0.0.1:$port/$role?sslmode=disable"
