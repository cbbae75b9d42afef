#!/usr/bin/env bash
# ensure-nginx.sh prints the path of the nginx binary that the fault suite
# (faulttest) runs as a reverse proxy in front of ssekit, installing Debian's
# nginx package first when none is found and this runs as root on a machine
# with apt-get.
#
# It looks where faulttest looks, in the same order: $NGINX, then nginx on
# PATH, then /usr/sbin/nginx (not on a normal user's PATH on Debian). Only
# the path goes to standard output; apt-get's output goes to standard error,
# so that NGINX=$(scripts/ensure-nginx.sh) works. The tests start their own
# nginx on a loopback port with a configuration of their own; the system's
# nginx service is never used.
set -euo pipefail

hint="install Debian's nginx: sudo apt-get install nginx, or set NGINX=/path/to/nginx"

find_nginx() {
	local name path
	if [[ -n "${NGINX:-}" ]]; then
		# An explicit choice is used or refused, never replaced.
		type -P -- "$NGINX" && return 0
		echo "ensure-nginx: NGINX=$NGINX is not an executable file; $hint" >&2
		exit 1
	fi
	for name in nginx /usr/sbin/nginx; do
		if path=$(type -P -- "$name"); then
			echo "$path"
			return 0
		fi
	done
	return 1
}

if find_nginx; then
	exit 0
fi

if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
	echo "ensure-nginx: no nginx found; installing Debian's nginx package" >&2
	# Wait for another apt-get (a background install, unattended upgrades)
	# instead of failing on its lock.
	apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq nginx >&2
	# On a machine whose init starts services on install, the package
	# starts the system's nginx on port 80. The tests do not use it: stop
	# it (it did not exist before this script installed it).
	if [[ -s /run/nginx.pid ]]; then
		/usr/sbin/nginx -s quit >&2 || true
	fi
	if find_nginx; then
		exit 0
	fi
	echo "ensure-nginx: apt-get installed nginx, but no nginx binary is on PATH or at /usr/sbin/nginx" >&2
	exit 1
fi

echo "ensure-nginx: no nginx found; $hint" >&2
exit 1
