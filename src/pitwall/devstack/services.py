"""A pitwall service as a child process: what integration tests start, kill and restart."""

from __future__ import annotations

import shutil
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import httpx

from pitwall.devstack.process import ManagedProcess
from pitwall.devstack.waiting import wait_until

SERVICES = ("ingest", "converter", "query_api", "basestation", "backup")


def pitwall_argv() -> list[str]:
    """The `pitwall` command of this environment (`.venv/bin/pitwall`), venv activated or not."""
    beside = Path(sys.executable).with_name("pitwall")
    if beside.exists():
        return [str(beside)]
    found = shutil.which("pitwall")
    return [found] if found else [sys.executable, "-m", "pitwall.cli.main"]


def http_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        return httpx.get(url, timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


class ServiceProcess:
    """`pitwall service NAME` with a given environment, its output appended to `log_path`.

    `kill()` is SIGKILL (a crash: no ack, no clean-up), `stop()` is SIGTERM (a deploy),
    `restart()` starts it again with the same environment; the log keeps every life,
    separated by a marker line.
    """

    def __init__(self, name: str, env: Mapping[str, str], log_path: Path, *, http_port: int | None = None) -> None:
        if name not in SERVICES:
            raise ValueError(f"unknown service {name!r}; one of {', '.join(SERVICES)}")
        self.name = name
        self.env = dict(env)
        self.log_path = log_path
        self.http_port = http_port
        self.starts = 0
        self._proc = ManagedProcess(name, [*pitwall_argv(), "service", name], env=self.env, log_path=log_path)

    @property
    def base_url(self) -> str:
        if self.http_port is None:
            raise AttributeError(f"{self.name} serves no HTTP")
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def pid(self) -> int | None:
        return self._proc.pid

    @property
    def alive(self) -> bool:
        return self._proc.alive

    @property
    def returncode(self) -> int | None:
        return self._proc.returncode

    def start(self) -> ServiceProcess:
        self.starts += 1
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "a") as log:
            log.write(f"----- pitwall service {self.name}: start #{self.starts} -----\n")
        self._proc.start()
        return self

    def kill(self) -> int | None:
        return self._proc.kill()

    def stop(self, timeout: float = 10.0) -> int | None:
        return self._proc.stop(timeout)

    def restart(self) -> ServiceProcess:
        if self._proc.alive:
            self._proc.stop()
        return self.start()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def wait_for_log(self, text: str, timeout: float = 30.0) -> None:
        """Until `text` appears in the output of the current life of the process."""
        marker = f"start #{self.starts} -----"
        wait_until(
            lambda: text in self.log().rsplit(marker, 1)[-1],
            what=f"{text!r} in the log of {self.name}", timeout=timeout, watch=[self._proc],
        )

    def wait_ready(self, timeout: float = 60.0) -> float:
        """Until GET /readyz answers 200 (query_api); fails at once if the process died."""
        start = time.monotonic()
        wait_until(
            lambda: http_ok(f"{self.base_url}/readyz"), what=f"{self.name} /readyz", timeout=timeout,
            watch=[self._proc], interval=0.2,
        )
        return time.monotonic() - start
