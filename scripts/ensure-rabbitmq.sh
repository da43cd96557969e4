#!/usr/bin/env bash
# Install RabbitMQ when it is missing (Debian/Ubuntu: the distribution's package).
# Called by the test fixtures and `pitwall dev up` only when no broker answers on
# 127.0.0.1:5672 and rabbitmq-server is not installed. Does not start the system
# service: pitwall runs its own node in the foreground.
set -euo pipefail

if [ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || command -v rabbitmq-server >/dev/null 2>&1; then
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "rabbitmq-server is not installed and there is no apt-get here." >&2
    echo "Install RabbitMQ (https://www.rabbitmq.com/download.html) or start one on 127.0.0.1:5672 (guest/guest)." >&2
    exit 1
fi

if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO=(sudo -n)
else
    echo "rabbitmq-server is not installed; installing it needs root: sudo apt-get install -y rabbitmq-server" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "installing rabbitmq-server with apt-get (once per machine)..." >&2
"${SUDO[@]}" apt-get update -qq
"${SUDO[@]}" apt-get install -y -qq --no-install-recommends rabbitmq-server >&2
