#!/usr/bin/env bash
# Install restic when it is missing (the distribution's package). The backup service
# keeps its encrypted catalogue snapshots in a restic repository.
set -euo pipefail
command -v restic >/dev/null 2>&1 && exit 0
. "$(dirname "$0")/lib/apt.sh"
apt_install restic restic
