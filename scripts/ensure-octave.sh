#!/usr/bin/env bash
# Install GNU Octave's command-line interpreter when it is missing (the distribution's
# package, without the GUI or recommended extras). The MATLAB/Octave toolbox in
# clients/matlab is tested in it against the real stack.
set -euo pipefail
command -v octave-cli >/dev/null 2>&1 && exit 0
. "$(dirname "$0")/lib/apt.sh"
apt_install octave-cli octave
