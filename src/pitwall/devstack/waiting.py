"""Waiting for a server to answer, failing fast when its process died instead."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Sequence

from pitwall.devstack.process import ManagedProcess


class ServerFailed(RuntimeError):
    pass


def wait_until(
    check: Callable[[], bool],
    *,
    what: str,
    timeout: float,
    watch: Sequence[ManagedProcess] = (),
    interval: float = 0.1,
) -> float:
    """Poll `check` until it is true; returns the seconds waited.

    Raises ServerFailed (with the end of its log) as soon as a watched process exits,
    TimeoutError after `timeout`.
    """
    start = time.monotonic()
    while True:
        if check():
            return time.monotonic() - start
        for proc in watch:
            if not proc.alive:
                raise ServerFailed(f"{proc.name} exited with code {proc.returncode} while waiting for {what}:\n"
                                   f"{proc.log_tail()}")
        if time.monotonic() - start > timeout:
            tails = "\n".join(p.log_tail() for p in watch)
            raise TimeoutError(f"{what} did not answer within {timeout:.0f} s\n{tails}")
        time.sleep(interval)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0
