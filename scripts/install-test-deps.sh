#!/usr/bin/env bash
# Installs, from Debian's packages, the real peers and clients the test
# suite drives: PostgreSQL (the second storage backend), openssl, curl,
# Python (smtplib, imaplib, poplib), swaks, mbsync (isync), fetchmail, pyspf,
# dkimpy and OpenDKIM (independent SPF and DKIM implementations; the daemon is
# never started, tests run `opendkim -t`), ClamAV's clamd (clamav-daemon; the
# system service is never started, internal/clamd's tests run their own with
# a signature database they write), and
# Postfix (unconfigured and never started; see tests/interop/install-postfix.sh).
# Does nothing when they are all there; needs root otherwise.
set -euo pipefail
cd "$(dirname "$0")/.."
export DEBIAN_FRONTEND=noninteractive

packages=(postgresql openssl curl ca-certificates python3 swaks isync fetchmail
	python3-spf python3-dkim python3-nacl opendkim opendkim-tools clamav-daemon bzip2)
missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "install-test-deps.sh: missing Debian packages: ${missing[*]}; run as root, or install them" >&2
		exit 1
	fi
	echo "install-test-deps.sh: installing ${missing[*]}" >&2
	apt-get update -qq
	# Start no system service (OpenDKIM's, clamd, freshclam): tests run their own.
	added_policy=
	if [ ! -e /usr/sbin/policy-rc.d ]; then
		printf '#!/bin/sh\n# Installing test packages: start no services.\nexit 101\n' >/usr/sbin/policy-rc.d
		chmod 755 /usr/sbin/policy-rc.d
		added_policy=1
	fi
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
	if [ -n "$added_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
fi
bash tests/interop/install-postfix.sh
