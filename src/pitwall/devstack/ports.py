"""TCP ports for local servers: free right now, and never handed out twice by this process."""

from __future__ import annotations

import random
import socket
import threading

# Below Linux's ephemeral range (32768+) so an outgoing connection cannot grab a port
# between the moment we pick it and the moment the server binds it.
_LOW, _HIGH = 12000, 32000
_PAIR_LOW = 10000
_handed_out: set[int] = set()
_lock = threading.Lock()


def is_free(port: int) -> bool:
    """True when nothing listens on `port` (on any address: servers may bind 0.0.0.0)."""
    if not 0 < port < 65536:
        return False
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # A port in TIME_WAIT after our own previous run is free for a new server.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def claim(port: int) -> bool:
    """Reserve `port` for this process if it is free and not already handed out."""
    with _lock:
        if port in _handed_out or not is_free(port):
            return False
        _handed_out.add(port)
        return True


def release(*ports: int) -> None:
    with _lock:
        _handed_out.difference_update(ports)


def free_port(preferred: int | None = None, *, pair_offset: int | None = None) -> int:
    """A free port, `preferred` when it is free; with `pair_offset`, port+offset is free too.

    The pair exists for SeaweedFS: some of its components reach each other's gRPC
    listener at http port + 10000 whatever the flags say.
    """
    candidates: list[int] = [preferred] if preferred else []
    low, high = (_LOW, _HIGH) if not pair_offset else (_PAIR_LOW, _HIGH - pair_offset)
    rng = random.Random()
    candidates += [rng.randrange(low, high) for _ in range(200)]
    for port in candidates:
        if not claim(port):
            continue
        if pair_offset is None:
            return port
        if claim(port + pair_offset):
            return port
        release(port)
    raise RuntimeError("no free TCP port found")
