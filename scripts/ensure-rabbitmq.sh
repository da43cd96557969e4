#!/usr/bin/env bash
# Install RabbitMQ when it is missing (the distribution's package). Called by the test
# fixtures and `pitwall dev up` only when no broker answers on 127.0.0.1:5672 and
# rabbitmq-server is not installed. pitwall runs its own node in the foreground.
set -euo pipefail
if [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || command -v rabbitmq-server >/dev/null 2>&1; then
    exit 0
fi
. "$(dirname "$0")/lib/apt.sh"
apt_install rabbitmq-server rabbitmq-server || {
    echo "Or start a broker on 127.0.0.1:5672 (guest/guest)." >&2
    exit 1
}
