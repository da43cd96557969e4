"""The pitwall services of the campaign as their own processes, watched like a supervisor would.

ingest (with the outbox relay inside it), two converters and query_api. A watchdog
restarts a service that exited without being told to (what systemd's Restart=always or
a container runtime does) and counts it: an exit nobody caused is a finding, and three
in a row inside a minute is a crash loop.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from pitwall.devstack.ports import free_port, release
from pitwall.devstack.services import ServiceProcess, http_ok

CRASH_LOOP = (3, 60.0)  # this many unexpected exits within this many seconds


@dataclass
class Member:
    label: str  # ingest | converter-1 | converter-2 | query_api
    proc: ServiceProcess
    held: bool = False  # an injector owns it right now (killed on purpose, restarting)
    kills: int = 0  # on purpose
    unexpected: list[float] = field(default_factory=list)  # monotonic times of exits nobody caused
    unexpected_phase: list[str] = field(default_factory=list)

    def crash_looping(self) -> bool:
        n, window = CRASH_LOOP
        times = self.unexpected[-n:]
        return len(times) >= n and times[-1] - times[0] <= window


class Fleet:
    def __init__(self, env: Mapping[str, str], logs: Path) -> None:
        self.api_port = free_port()
        self.members: dict[str, Member] = {}
        for label, name in (("ingest", "ingest"), ("converter-1", "converter"), ("converter-2", "converter"),
                            ("query_api", "query_api")):
            penv = dict(env)
            port = None
            if name == "query_api":
                port = self.api_port
                penv["PITWALL_HTTP_PORT"] = str(port)
            self.members[label] = Member(label, ServiceProcess(name, penv, logs / f"{label}.log", http_port=port))
        self.phase = "start"
        self._stop = threading.Event()
        self._watch: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    def start(self, timeout: float = 120.0) -> None:
        for m in self.members.values():
            m.proc.start()
        for label in self.members:
            self.wait_ready(label, timeout)
        # The watchdog is started on this thread's behalf but forks from its own: a child
        # it restarts gets PDEATHSIG from that thread, which lives as long as the campaign.
        self._watch = threading.Thread(target=self._watchdog, name="fleet-watchdog", daemon=True)
        self._watch.start()

    def wait_ready(self, label: str, timeout: float = 120.0) -> None:
        m = self.members[label]
        if label == "query_api":
            m.proc.wait_ready(timeout)
        else:
            m.proc.wait_for_log("consuming", timeout)

    # -- what injectors do ----------------------------------------------------------
    def kill(self, label: str) -> None:
        """SIGKILL the whole process group: no ack, no clean-up."""
        with self._lock:
            m = self.members[label]
            m.held = True
            m.kills += 1
            m.proc.kill()

    def start_again(self, label: str) -> None:
        """Start a killed service; it stays the injector's until `released`: it may have
        to wait for a server that is still away before it is ready."""
        with self._lock:
            self.members[label].proc.start()

    def release(self, label: str, timeout: float = 120.0) -> float:
        """Wait until the service is ready again, then hand it back to the watchdog."""
        t0 = time.monotonic()
        try:
            self.wait_ready(label, timeout)
        finally:
            self.members[label].held = False
        return time.monotonic() - t0

    def _watchdog(self) -> None:
        while not self._stop.wait(0.5):
            with self._lock:
                for m in self.members.values():
                    if m.held or m.proc.alive:
                        continue
                    m.unexpected.append(time.monotonic())
                    m.unexpected_phase.append(self.phase)
                    if m.crash_looping():
                        continue  # left down: a supervisor would give up too, and the checker says so
                    m.proc.start()

    # -- what the checker asks ------------------------------------------------------
    def health(self) -> dict[str, dict[str, object]]:
        out: dict[str, dict[str, object]] = {}
        for label, m in self.members.items():
            alive = m.proc.alive
            ready = alive
            if alive and label == "query_api":
                ready = http_ok(f"{self.base_url}/readyz")
            out[label] = {
                "alive": alive, "ready": ready, "starts": m.proc.starts, "kills": m.kills,
                "unexpected_exits": len(m.unexpected), "unexpected_phases": list(m.unexpected_phase),
                "crash_loop": m.crash_looping(),
            }
        return out

    def stop(self) -> None:
        self._stop.set()
        if self._watch is not None:
            self._watch.join(5)
        for m in self.members.values():
            m.proc.stop()
        release(self.api_port)
