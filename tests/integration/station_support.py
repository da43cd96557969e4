"""A cloud (query_api + ingest on real servers) and base-station processes for the station tests."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from helpers.api import Api
from helpers.with_ingest import start_api_with_ingest
from testsupport.services import start_service
from testsupport.waiting import wait_for

from pitwall.basestation.journal import Entry, Journal
from pitwall.common.settings import Settings
from pitwall.devstack.services import ServiceProcess


@dataclass
class StationCloud:
    api: Api
    ingest: ServiceProcess
    env: dict[str, str]
    workdir: Path
    stations: list[ServiceProcess] = field(default_factory=list)

    def runs(self) -> list[dict[str, Any]]:
        return list(self.api.db["runs"].find({}, {"_id": 1, "status": 1, "filename": 1, "filenames": 1,
                                                  "uploads": 1, "reason": 1}))

    def lookup(self, shas: list[str]) -> dict[str, Any]:
        with self.api.client("uploader") as c:
            r = c.post("/api/v1/runs/lookup", json={"sha256": shas})
            r.raise_for_status()
            return dict(r.json())


def start_cloud(
    settings: Settings, service_env: dict[str, str], endpoints: Any, workdir: Path, tag: str
) -> Iterator[StationCloud]:
    from pitwall.devstack.endpoints import settings_env

    for api, ingest in start_api_with_ingest(settings, service_env, endpoints, workdir, tag):
        cloud = StationCloud(api, ingest, dict(service_env) | settings_env(api.settings), workdir)
        try:
            yield cloud
        finally:
            for s in cloud.stations:
                s.kill()


@dataclass
class StationUnderTest:
    process: ServiceProcess
    journal_path: Path
    spool: Path

    def journal(self) -> list[Entry]:
        if not self.journal_path.exists():
            return []
        j = Journal(self.journal_path)
        try:
            return j.all()
        finally:
            j.close()

    def states(self) -> dict[str, str]:
        return {e.path: e.state for e in self.journal() if e.state != "superseded"}

    def wait(self, check: Any, what: str, timeout: float = 90.0) -> None:
        wait_for(lambda: check(self.journal()), what=what, timeout=timeout, every=0.2)

    def wait_all(self, state: str, n: int, timeout: float = 90.0) -> None:
        self.wait(lambda rows: sum(r.state == state for r in rows) >= n, f"{n} files {state}", timeout)


def station_env(cloud: StationCloud, station_id: str, spool: Path, sources: list[dict[str, Any]],
                **settings: Any) -> dict[str, str]:
    env = dict(cloud.env) | {
        "PITWALL_BASESTATION_STATION_ID": station_id,
        "PITWALL_BASESTATION_API_URL": cloud.api.base_url,
        "PITWALL_BASESTATION_TOKEN": cloud.api.tokens["uploader"],
        "PITWALL_BASESTATION_SPOOL_DIR": str(spool),
        "PITWALL_BASESTATION_SOURCES": json.dumps(sources),
        "PITWALL_BASESTATION_SETTLE_S": "1.5",
        "PITWALL_BASESTATION_SCAN_INTERVAL_S": "0.5",
        "PITWALL_BASESTATION_CONFIRM_POLL_S": "0.5",
        "PITWALL_BASESTATION_HEARTBEAT_S": "1",
        "PITWALL_BASESTATION_BACKOFF_BASE_S": "0.2",
        "PITWALL_BASESTATION_BACKOFF_MAX_S": "2",
        "PITWALL_LOG_LEVEL": "INFO",
    }
    env |= {f"PITWALL_BASESTATION_{k.upper()}": str(v) for k, v in settings.items()}
    return env


def start_station(
    cloud: StationCloud, station_id: str, sources: list[dict[str, Any]], **settings: Any
) -> StationUnderTest:
    spool = cloud.workdir / f"spool-{station_id}"
    env = station_env(cloud, station_id, spool, sources, **settings)
    proc = start_service("basestation", env, cloud.workdir / f"station-{station_id}.log", timeout=30,
                         track=cloud.stations)
    return StationUnderTest(proc, spool / "journal.sqlite", spool)


def synth(path: Path, seconds: float, seed: int, *extra: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([sys.executable, "-m", "pitwall.cli.main", "synth", str(path), "--minutes", str(seconds / 60),
                    "--seed", str(seed), *extra], check=True, capture_output=True, timeout=300)
    return path


def synth_cached(cache: Path, dest: Path, seconds: float, seed: int, *extra: str) -> Path:
    """A synth file copied from a per-session cache (the same bytes for the same arguments)."""
    key = cache / f"s{seconds}-{seed}{''.join(extra).replace('-', '_')}.mcap"
    if not key.exists():
        synth(key, seconds, seed, *extra)
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(key, dest)
    return dest


def sha256_of(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()
