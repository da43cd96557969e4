#!/usr/bin/env bash
# The browser tests drive Debian's Chromium (never a downloaded browser build).
# Installs it with apt-get when /usr/bin/chromium is missing; does nothing otherwise.
# Without root (and without sudo) it says so and leaves the browser tests to skip
# themselves (or fail in CI).
set -euo pipefail
CHROMIUM=/usr/bin/chromium
[ -x "$CHROMIUM" ] && exit 0
. "$(dirname "$0")/lib/apt.sh"
apt_install chromium chromium || exit 0
[ -x "$CHROMIUM" ] || { echo "ensure-chromium: apt-get ran but $CHROMIUM is still missing" >&2; exit 1; }
