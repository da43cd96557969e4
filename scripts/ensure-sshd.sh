#!/usr/bin/env bash
# Install OpenSSH's server when it is missing (the distribution's package). The
# base-station tests and the bench run their own sshd on a loopback port as "the car";
# this script never starts, enables or configures the machine's ssh service.
set -euo pipefail
[ -x /usr/sbin/sshd ] && exit 0
. "$(dirname "$0")/lib/apt.sh"

running_before=$(pgrep -x sshd >/dev/null && echo yes || echo no)
# policy-rc.d 101: the package must not start the system service while it installs.
policy=/usr/sbin/policy-rc.d
made_policy=no
if [ ! -e "$policy" ] && { [ "$(id -u)" -eq 0 ] || sudo -n true 2>/dev/null; }; then
    printf '#!/bin/sh\nexit 101\n' | apt_sudo tee "$policy" >/dev/null
    apt_sudo chmod +x "$policy"
    made_policy=yes
fi
status=0
apt_install "OpenSSH's sshd" openssh-server openssh-sftp-server || status=$?
if [ "$made_policy" = yes ]; then
    apt_sudo rm -f "$policy"
fi
if [ "$running_before" = no ] && pgrep -x sshd >/dev/null; then
    apt_sudo pkill -x sshd || true  # started by the package despite the policy: leave the machine as found
fi
exit $status
