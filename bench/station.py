"""Section: the base station, car (OpenSSH sshd on loopback, SFTP) to confirmed run.

Two 10-minute synth runs of the same size (other seeds, so neither is a duplicate of
the other) leave a real sshd "car" and become runs on the real stack:
  plain    `scp` off the car, then `POST /api/v1/uploads` of the copy, then wait for
           the run: what a person does by hand today;
  station  the station service watching the car over SFTP: it copies (verified with the
           car's own `sha256sum`), uploads resumably, announces, and waits for the run.
The clock starts when the finished file is on the car and stops at the run. The
station's RSS is sampled while it works and once it is idle.
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench import inputs
from bench.context import Context
from bench.inputs import Spec
from bench.report import Section, mb, ratio, say, secs


def _wait_run(client: Any, run_id: str, timeout: float = 900) -> dict[str, Any]:
    from pitwall.client import PitwallError

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            run = client.run(run_id)
            if run["status"] in ("ready", "recovered", "rejected"):
                return dict(run)
        except PitwallError as exc:
            if exc.status != 404:
                raise
        time.sleep(0.05)
    raise TimeoutError(f"no run {run_id}")


class _RSS:
    def __init__(self, pid: int) -> None:
        import psutil

        self.proc = psutil.Process(pid)
        self.peak = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            try:
                rss = sum(p.memory_info().rss for p in [self.proc, *self.proc.children(recursive=True)])
            except Exception:
                return
            self.peak = max(self.peak, rss)

    def now(self) -> int:
        return int(self.proc.memory_info().rss)

    def __enter__(self) -> _RSS:
        self._t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._t.join(1)


def run(ctx: Context, section: Section) -> None:
    from pitwall.basestation.journal import Journal
    from pitwall.client import Client
    from pitwall.devstack.services import ServiceProcess
    from pitwall.devstack.sshd import start_car_sshd

    minutes = 2.0 if ctx.config.quick else 10.0
    plain_in = inputs.ensure(Spec(minutes=minutes, seed=31))
    station_in = inputs.ensure(Spec(minutes=minutes, seed=32))
    stack = ctx.get_stack()
    stack.service("ingest")
    api = stack.service("query_api")
    token = stack.token("uploader")
    work = Path(tempfile.mkdtemp(prefix="pitwall-bench-station-"))
    car = start_car_sshd(work / "car")
    try:
        # -- plain: scp, then the API's upload -------------------------------------------------
        say("plain: scp + POST /uploads")
        remote = car.logs_dir / "plain.mcap"
        remote.write_bytes(plain_in.path.read_bytes())
        local = work / "pulled.mcap"
        t0 = time.perf_counter()
        subprocess.run(["scp", "-q", "-P", str(car.port), "-i", str(car.client_key), "-o", "BatchMode=yes",
                        "-o", f"UserKnownHostsFile={car.known_hosts}", f"{car.user}@{car.host}:{remote}", str(local)],
                       check=True, timeout=600)
        t_scp = time.perf_counter() - t0
        with Client(api.base_url, token, timeout=600) as pw:
            accepted = pw.upload(local)
            t_upload = time.perf_counter() - t0 - t_scp
            _wait_run(pw, accepted["id"])
        t_plain = time.perf_counter() - t0
        remote.unlink()

        # -- the station ------------------------------------------------------------------------
        say("station: SFTP -> confirmed run")
        spool = work / "spool"
        env = dict(stack.env) | {
            "PITWALL_BASESTATION_STATION_ID": "bench",
            "PITWALL_BASESTATION_API_URL": api.base_url,
            "PITWALL_BASESTATION_TOKEN": token,
            "PITWALL_BASESTATION_SPOOL_DIR": str(spool),
            "PITWALL_BASESTATION_SOURCES": json.dumps([car.source()]),
            "PITWALL_BASESTATION_SETTLE_S": "2",
            "PITWALL_BASESTATION_SCAN_INTERVAL_S": "0.25",
            "PITWALL_BASESTATION_CONFIRM_POLL_S": "0.1",
        }
        station = ServiceProcess("basestation", env, stack.logs / "basestation.log").start()
        try:
            station.wait_for_log("station started", timeout=60)
            time.sleep(2.0)
            rss = _RSS(station.pid or 0)
            idle_before = rss.now()
            dest = car.logs_dir / "station.mcap"
            staged = car.logs_dir / ".incoming.tmp"
            staged.write_bytes(station_in.path.read_bytes())
            with rss:
                t0_wall = time.time()
                t0 = time.perf_counter()
                os.rename(staged, dest)  # the logger closes the file: it appears finished
                journal = Journal(spool / "journal.sqlite")
                try:
                    while True:
                        rows = journal.all()
                        if rows and rows[0].state == "confirmed":
                            break
                        if time.perf_counter() - t0 > 900:
                            raise TimeoutError("the station did not confirm the file")
                        time.sleep(0.05)
                    t_station = time.perf_counter() - t0
                    row = rows[0]
                finally:
                    journal.close()
            time.sleep(3.0)
            idle_after = rss.now()
        finally:
            station.stop()
        size = station_in.size
        t = section.table(
            f"car → confirmed run, {plain_in.spec.label} ({mb(size)}), loopback SFTP, on this machine",
            ["route", "total", "MB/s", "vs plain", "stages"],
        )
        t.add("plain: scp + POST /api/v1/uploads + wait for the run", secs(t_plain),
              f"{plain_in.size / t_plain / 1e6:.0f}",
              "1.0x", f"scp {secs(t_scp)}, upload {secs(t_upload)}, ingest {secs(t_plain - t_scp - t_upload)}")
        stages = (f"noticed {secs(row.seen_at - t0_wall)}, copy+verify {secs((row.copied_at or 0) - row.seen_at)}, "
                  f"upload+announce {secs((row.uploaded_at or 0) - (row.copied_at or 0))}, "
                  f"ingest {secs((row.confirmed_at or 0) - (row.uploaded_at or 0))}")
        t.add("pitwall station (SFTP, verified, resumable)", secs(t_station), f"{size / t_station / 1e6:.0f}",
              ratio(t_plain / t_station), stages)
        t.notes.append("The station also checks the copy against the car's own SHA-256, keeps a copy on its "
                       "disk, and survives a cut at any point (tests/integration/test_basestation_faults.py); "
                       "the plain route does none of that.")
        m = section.table("station memory (RSS of the station process)", ["when", "RSS"])
        m.add("idle, before the file", mb(idle_before))
        m.add("peak while copying and uploading", mb(rss.peak))
        m.add("idle, after", mb(idle_after))
        section.data.update({"plain_s": t_plain, "station_s": t_station, "size": size, "rss_idle": idle_after,
                             "rss_peak": rss.peak})
    finally:
        car.stop()
        import shutil

        shutil.rmtree(work, ignore_errors=True)

