"""RSS and CPU of each service process while the load runs (psutil, a background thread).

A service is its process and every descendant (summed), so a worker it forks counts.
CPU seconds are user + system time between the first and the last sample.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import psutil


@dataclass
class Usage:
    rss_first: int = 0
    rss_peak: int = 0
    rss_last: int = 0
    cpu_first: float = 0.0
    cpu_last: float = 0.0
    samples: int = 0
    gone: bool = False  # the process exited while sampled

    @property
    def cpu_seconds(self) -> float:
        return self.cpu_last - self.cpu_first


def _measure(pid: int) -> tuple[int, float]:
    """Raises NoSuchProcess once the process itself is gone (or a zombie)."""
    root = psutil.Process(pid)
    times = root.cpu_times()
    rss, cpu = root.memory_info().rss, times.user + times.system
    for proc in root.children(recursive=True):
        try:
            rss += proc.memory_info().rss
            times = proc.cpu_times()
            cpu += times.user + times.system
        except psutil.NoSuchProcess:
            continue  # a child that ended between listing and reading
    return rss, cpu


def listening_pid(port: int) -> int | None:
    """The process listening on a loopback TCP port (a server the stack started)."""
    for conn in psutil.net_connections(kind="tcp"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
            return int(conn.pid)
    return None


class Sampler:
    """`start()`, let the load run, `stop()`: then `usage[name]` and `seconds`."""

    def __init__(self, pids: dict[str, int], every: float = 0.5) -> None:
        self.pids = dict(pids)
        self.every = every
        self.usage = {name: Usage() for name in pids}
        self.seconds = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="load-sampler", daemon=True)
        self._lock = threading.Lock()

    def add(self, name: str, pid: int) -> None:
        with self._lock:
            self.pids[name] = pid
            self.usage[name] = Usage()

    def start(self) -> Sampler:
        self._began = time.monotonic()
        self.sample()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()
        self.seconds = time.monotonic() - self._began

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.sample()

    def sample(self) -> None:
        with self._lock:
            for name, pid in self.pids.items():
                use = self.usage[name]
                if use.gone:
                    continue
                try:
                    rss, cpu = _measure(pid)
                except psutil.NoSuchProcess:
                    use.gone = True
                    continue
                if use.samples == 0:
                    use.rss_first, use.cpu_first = rss, cpu
                use.rss_peak = max(use.rss_peak, rss)
                use.rss_last, use.cpu_last = rss, cpu
                use.samples += 1
