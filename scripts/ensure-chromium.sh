#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (never a downloaded browser build).
# Installs it with apt-get when /usr/bin/chromium is missing; does nothing otherwise.
# Quiet on success; without root (and without sudo) it says so and leaves the
# browser tests to skip themselves (or fail in CI).
set -euo pipefail

CHROMIUM=/usr/bin/chromium
[ -x "$CHROMIUM" ] && exit 0

if ! command -v apt-get >/dev/null 2>&1; then
	echo "ensure-chromium: no apt-get here; install Chromium at $CHROMIUM for the browser tests" >&2
	exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
		SUDO="sudo -n"
	else
		echo "ensure-chromium: not root; run 'sudo apt-get install chromium' for the browser tests" >&2
		exit 0
	fi
fi

echo "ensure-chromium: installing Debian's chromium (apt-get)..." >&2
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
trap 'rm -f "$log"' EXIT
# Output only when something went wrong (apt's chatter otherwise hides test results).
if ! { $SUDO apt-get update -qq && $SUDO apt-get install -y -qq --no-install-recommends chromium; } >"$log" 2>&1; then
	cat "$log" >&2
	echo "ensure-chromium: apt-get failed" >&2
	exit 1
fi
[ -x "$CHROMIUM" ] || { echo "ensure-chromium: apt-get ran but $CHROMIUM is still missing" >&2; exit 1; }
