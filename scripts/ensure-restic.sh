#!/usr/bin/env bash
# Install restic when it is missing (Debian/Ubuntu: the distribution's package). The
# backup service keeps its encrypted catalogue snapshots in a restic repository.
set -euo pipefail

if command -v restic >/dev/null 2>&1; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "restic is not installed and there is no apt-get here: https://restic.net" >&2
    exit 1
fi
if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
else
    echo "restic is not installed; installing it needs root: sudo apt-get install -y restic" >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
echo "installing restic with apt-get (once per machine)..." >&2
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends restic >&2 || {
    "${SUDO[@]}" apt-get update -qq && "${SUDO[@]}" apt-get install -y -qq --no-install-recommends restic >&2
}
