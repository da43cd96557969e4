#!/usr/bin/env bash
# Install OpenSSH's server when it is missing (Debian/Ubuntu: the distribution's package).
# The base-station tests and the bench run their own sshd on a loopback port as "the
# car"; this script never starts, enables or configures the machine's ssh service.
set -euo pipefail

if [ -x /usr/sbin/sshd ]; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "OpenSSH's sshd is not installed and there is no apt-get here: install openssh-server." >&2
    exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
else
    echo "sshd is not installed; installing it needs root: sudo apt-get install -y openssh-server" >&2
    exit 1
fi

running_before=$(pgrep -x sshd >/dev/null && echo yes || echo no)
export DEBIAN_FRONTEND=noninteractive
echo "installing openssh-server with apt-get (once per machine)..." >&2
# policy-rc.d 101: the package must not start the system service while it installs.
policy=/usr/sbin/policy-rc.d
made_policy=no
if [ ! -e "$policy" ]; then
    printf '#!/bin/sh\nexit 101\n' | "${SUDO[@]}" tee "$policy" >/dev/null
    "${SUDO[@]}" chmod +x "$policy"
    made_policy=yes
fi
status=0
{ "${SUDO[@]}" apt-get update -qq && \
  "${SUDO[@]}" apt-get install -y -qq --no-install-recommends openssh-server openssh-sftp-server >&2; } || status=$?
if [ "$made_policy" = yes ]; then
    "${SUDO[@]}" rm -f "$policy"
fi
if [ "$running_before" = no ] && pgrep -x sshd >/dev/null; then
    "${SUDO[@]}" pkill -x sshd || true  # started by the package despite the policy: leave the machine as found
fi
exit $status
