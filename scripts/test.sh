#!/usr/bin/env bash
# Runs Sealpost's whole test suite with the race detector, against both
# storage backends, installing the Debian packages of the real peers and
# clients it drives if they are missing (scripts/install-test-deps.sh).
# PostgreSQL comes from $SEALPOST_TEST_POSTGRES if set; otherwise a
# throwaway server is started on loopback (installed from Debian's packages
# if missing), or reused if an earlier run left it up.
set -euo pipefail
cd "$(dirname "$0")/.."

# The real peers and clients the interop tests drive (a no-op when present).
./scripts/install-test-deps.sh

if [ -z "${SEALPOST_TEST_POSTGRES:-}" ]; then
	SEALPOST_TEST_POSTGRES=$(./.ci/postgres.sh | tail -n 1)
fi
export SEALPOST_TEST_POSTGRES
# With a DSN given, a PostgreSQL test that cannot run fails instead of
# skipping: both backends are always tested.
export SEALPOST_REQUIRE_POSTGRES=1

go test -race -count=1 -timeout 15m "$@" ./...

# The accuracy of the content classifier, trained on the whole corpus: pure
# computation that the race detector slows sevenfold, so it skips itself
# under -race and runs here without it.
go test -count=1 -timeout 15m -run '^TestAccuracy$' ./internal/filter/classify
