#!/usr/bin/env bash
# Installs Postfix from Debian as a test peer for tests/interop without
# starting it or touching this machine's mail setup: the package is
# preseeded to "No configuration" (no /etc/postfix/main.cf is written, no
# mailname, no aliases for local users), service starts are refused while it
# installs (policy-rc.d exits 101), and anything the package nevertheless
# started is stopped and its boot-time start disabled. The tests run private
# instances from temporary directories on loopback ports only.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

if dpkg-query -W -f='${Status}' postfix 2>/dev/null | grep -q '^install ok installed'; then
	exit 0
fi

echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections

# Refuse service starts during the install, unless a policy is already in
# place (containers usually have one that does the same).
added_policy=
if [ ! -e /usr/sbin/policy-rc.d ]; then
	printf '#!/bin/sh\n# Installing Postfix for tests: start no services.\nexit 101\n' >/usr/sbin/policy-rc.d
	chmod 755 /usr/sbin/policy-rc.d
	added_policy=1
fi
remove_policy() {
	if [ -n "$added_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
}
trap remove_policy EXIT

apt-get install -y -qq --no-install-recommends postfix >/dev/null

# Nothing should be running; if the package started a system Postfix
# anyway, stop it and keep it from starting at boot.
if [ -e /etc/postfix/main.cf ] && /usr/sbin/postfix status >/dev/null 2>&1; then
	/usr/sbin/postfix stop || true
fi
if command -v systemctl >/dev/null; then
	systemctl disable --quiet postfix.service 2>/dev/null || true
elif command -v update-rc.d >/dev/null; then
	update-rc.d postfix disable >/dev/null 2>&1 || true
fi
