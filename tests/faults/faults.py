"""The fault injectors: each has a beginning and an end, and says what it did.

Kills are SIGKILL of a service's whole process group followed by a restart; outages are
an orderly stop of one server followed by a start on the same ports and data; the disk
faults act on the services' data directory (ingest's and the converters' temporary
files), which lives on a small tmpfs mounted for the campaign: filled to the last byte,
or remounted read-only.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from tests.faults.fleet import Fleet
from tests.faults.servers import PrivateServers


@dataclass
class Ctx:
    servers: PrivateServers
    fleet: Fleet
    disk: Disk
    log: Callable[[str], None]
    burst: Callable[[], None] = lambda: None  # puts work in flight right before a fault


@dataclass
class Fault:
    name: str
    begin: Callable[[Ctx], None]
    end: Callable[[Ctx], None]
    lasts: bool  # an outage held for the campaign's outage time; a kill is restarted at once
    note: str = ""
    ready: Callable[[Ctx], None] | None = None  # after every fault of the row has ended


@dataclass
class Row:
    """One line of the schedule: one fault, or several at once."""

    name: str
    faults: list[Fault]
    note: str = ""
    timings: dict[str, float] = field(default_factory=dict)


# -- services ---------------------------------------------------------------------------
def kill(label: str, note: str = "") -> Fault:
    def begin(ctx: Ctx) -> None:
        ctx.fleet.kill(label)
        ctx.log(f"SIGKILL {label}")

    def end(ctx: Ctx) -> None:
        ctx.fleet.start_again(label)
        ctx.log(f"{label} started again")

    def ready(ctx: Ctx) -> None:
        seconds = ctx.fleet.release(label)
        ctx.log(f"{label} ready {seconds:.1f} s later")

    return Fault(f"SIGKILL {label}", begin, end, lasts=False, note=note, ready=ready)


# -- servers ----------------------------------------------------------------------------
def outage(server: str) -> Fault:
    def begin(ctx: Ctx) -> None:
        if server == "rabbitmq":
            ctx.burst()
            depths = ctx.servers.queue_depths()
            shown = ", ".join(f"{q} {r} ready/{u} unacked" for q, (r, u) in depths.items()) or "none"
            ctx.log(f"in flight when the broker stops: {shown}")
        ctx.servers.stop_server(server)
        ctx.log(f"{server} stopped")

    def end(ctx: Ctx) -> None:
        seconds = ctx.servers.start_server(server)
        ctx.log(f"{server} started again, answering after {seconds:.1f} s")

    return Fault(f"{server} stopped", begin, end, lasts=True)


# -- disk -------------------------------------------------------------------------------
class Disk:
    """The services' data directory on a tmpfs of its own (when mounting is allowed here)."""

    def __init__(self, path: Path, size_mb: int = 256) -> None:
        self.path = path
        self.path.mkdir(parents=True, exist_ok=True)
        self.size_mb = size_mb
        done = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m,mode=0755", "tmpfs", str(path)],
            capture_output=True, text=True, check=False,
        )
        self.mounted = done.returncode == 0
        self.why_not = "" if self.mounted else (done.stderr or done.stdout).strip()[:200]
        self.filler = path / "filler.bin"

    def fill(self) -> int:
        """Take every free byte (the next write anywhere on it gets ENOSPC)."""
        st = os.statvfs(self.path)
        free = st.f_bavail * st.f_frsize
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        try:
            with contextlib.suppress(OSError):
                os.posix_fallocate(fd, 0, free)
            # Whatever is left (rounding, a page being written right now) goes too.
            with contextlib.suppress(OSError):
                os.lseek(fd, 0, os.SEEK_END)
                while os.write(fd, b"\0" * 4096):
                    pass
        finally:
            os.close(fd)
        return free

    def unfill(self) -> None:
        self.filler.unlink(missing_ok=True)

    def remount(self, mode: str, patience_s: float = 5.0) -> bool:
        """`mount -o remount,MODE`; False when the kernel kept saying busy (a file open
        for writing, or deleted while still open, makes `remount,ro` fail with EBUSY)."""
        deadline = time.monotonic() + patience_s
        while True:
            done = subprocess.run(["mount", "-o", f"remount,{mode}", str(self.path)], capture_output=True, text=True,
                                  check=False)
            if done.returncode == 0:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)

    def read_only(self) -> str:
        """Read-only for the services: a remount when the kernel allows it now, else every
        directory on it made immutable (`chattr +i`: no file can be created, EPERM)."""
        if self.remount("ro"):
            self._how = "remount"
            return "remounted read-only"
        self._frozen = [Path(d) for d, _subdirs, _files in os.walk(self.path)]
        subprocess.run(["chattr", "+i", *map(str, self._frozen)], capture_output=True, check=True)
        self._how = "chattr"
        return f"busy, so {len(self._frozen)} directories made immutable (chattr +i: no new file)"

    def writable(self) -> None:
        if getattr(self, "_how", "") == "remount":
            if not self.remount("rw", patience_s=30):
                raise RuntimeError(f"remount,rw of {self.path} failed")
        elif getattr(self, "_how", "") == "chattr":
            subprocess.run(["chattr", "-i", *map(str, self._frozen)], capture_output=True, check=True)
        self._how = ""

    def release(self) -> None:
        if self.mounted:
            with contextlib.suppress(Exception):
                self.writable()
            subprocess.run(["mount", "-o", "remount,rw", str(self.path)], capture_output=True, check=False)
            subprocess.run(["umount", "-l", str(self.path)], capture_output=True, check=False)
            self.mounted = False


def disk_full() -> Fault:
    def begin(ctx: Ctx) -> None:
        taken = ctx.disk.fill()
        ctx.log(f"services' data dir full ({taken >> 20} MB taken)")

    def end(ctx: Ctx) -> None:
        ctx.disk.unfill()
        ctx.log("services' data dir has room again")

    return Fault("data dir full", begin, end, lasts=True, note="tmpfs under PITWALL_DATA_DIR filled to ENOSPC")


def disk_read_only() -> Fault:
    def begin(ctx: Ctx) -> None:
        how = ctx.disk.read_only()
        ctx.log(f"services' data dir read-only: {how}")

    def end(ctx: Ctx) -> None:
        ctx.disk.writable()
        ctx.log("services' data dir writable again")

    return Fault("data dir read-only", begin, end, lasts=True,
                 note="tmpfs under PITWALL_DATA_DIR remounted ro, or chattr +i")


RELAY = "the outbox relay runs inside ingest: this kills it too"


def schedule(disk_ok: bool) -> list[Row]:
    """One at a time, then a few together."""
    rows = [
        Row("SIGKILL ingest (+ outbox relay)", [kill("ingest")], RELAY),
        Row("SIGKILL converter-1 (of 2)", [kill("converter-1")]),
        Row("SIGKILL query_api", [kill("query_api")]),
        Row("RabbitMQ stopped", [outage("rabbitmq")], "messages in flight: queued and unacked ones"),
        Row("S3 stopped", [outage("s3")]),
        Row("MongoDB stopped", [outage("mongodb")]),
    ]
    if disk_ok:
        rows += [
            Row("data dir full", [disk_full()], "tmpfs under the services' PITWALL_DATA_DIR filled to ENOSPC"),
            Row("data dir read-only", [disk_read_only()],
                "that tmpfs remounted read-only, or its directories chattr +i when busy"),
        ]
    rows += [
        Row("RabbitMQ stopped + SIGKILL ingest", [outage("rabbitmq"), kill("ingest")],
            "ingest killed while the broker is away"),
        Row("MongoDB stopped + SIGKILL converter-2 + query_api",
            [outage("mongodb"), kill("converter-2"), kill("query_api")]),
        Row("S3 stopped + SIGKILL ingest + converter-1", [outage("s3"), kill("ingest"), kill("converter-1")]),
    ]
    return rows
