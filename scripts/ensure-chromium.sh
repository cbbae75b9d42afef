#!/usr/bin/env bash
# ensure-chromium.sh prints the path of the Chromium binary that the browser
# tests use, installing Debian's chromium package first when none is found and
# this runs as root on a machine with apt-get.
#
# It looks where browsertest.FindChromium looks, in the same order: $CHROMIUM,
# then chromium, chromium-browser and google-chrome on PATH, then
# /usr/bin/chromium. Only the path goes to standard output; apt-get's output
# goes to standard error, so that CHROMIUM=$(scripts/ensure-chromium.sh) works.
set -euo pipefail

hint="install Debian's chromium: sudo apt-get install chromium, or set CHROMIUM=/path/to/chrome"

find_chromium() {
	local name path
	if [[ -n "${CHROMIUM:-}" ]]; then
		# Like FindChromium: an explicit choice is used or refused, never
		# replaced by another browser.
		type -P -- "$CHROMIUM" && return 0
		echo "ensure-chromium: CHROMIUM=$CHROMIUM is not an executable file; $hint" >&2
		exit 1
	fi
	for name in chromium chromium-browser google-chrome /usr/bin/chromium; do
		if path=$(type -P -- "$name"); then
			echo "$path"
			return 0
		fi
	done
	return 1
}

if find_chromium; then
	exit 0
fi

if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
	echo "ensure-chromium: no Chromium found; installing Debian's chromium package" >&2
	# Wait for another apt-get (a background install, unattended upgrades)
	# instead of failing on its lock.
	apt-get -o DPkg::Lock::Timeout=600 update -qq >&2
	DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq chromium >&2
	if find_chromium; then
		exit 0
	fi
	echo "ensure-chromium: apt-get installed chromium, but no Chromium binary is on PATH or at /usr/bin/chromium" >&2
	exit 1
fi

echo "ensure-chromium: no Chromium found; $hint" >&2
exit 1
