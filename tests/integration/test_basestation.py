"""The base station on real servers: a folder of logs becomes runs, each exactly once.

The cloud is the real query_api and ingest on MongoDB, S3 and RabbitMQ; the station is
`pitwall service basestation` as its own process with an uploader token only.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from station_support import (
    StationCloud,
    sha256_of,
    start_cloud,
    start_station,
    station_env,
    synth_cached,
)
from testsupport.waiting import wait_for

from pitwall.common.settings import Settings

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def cloud(settings: Settings, service_env: dict[str, str], endpoints: Any,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[StationCloud]:
    yield from start_cloud(settings, service_env, endpoints, tmp_path_factory.mktemp("station"), "station")


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("station-synth")


def _grow(src: Path, dest: Path, seconds: float, done: threading.Event) -> None:
    data = src.read_bytes()
    steps = 10
    with open(dest, "wb") as f:
        for i in range(steps):
            if i == steps - 1:
                done.set()  # the last write ends in the footer: from now on it may be taken
            f.write(data[i * len(data) // steps : (i + 1) * len(data) // steps])
            f.flush()
            time.sleep(seconds / steps)  # the logger's pace: the file grows across the station's scans


def test_a_folder_of_logs_becomes_runs_exactly_once(cloud: StationCloud, cache: Path, tmp_path: Path) -> None:
    car = tmp_path / "usb"
    a = synth_cached(cache, car / "lap-a.mcap", 3, 1)
    (car / "same-as-a.mcap").write_bytes(a.read_bytes())  # one content, two names
    synth_cached(cache, car / "switched-off.mcap", 3, 2, "--truncate")
    (car / "readme.txt").write_text("not a log")
    growing_src = synth_cached(cache, tmp_path / "src" / "rec.mcap", 3, 3)
    done = threading.Event()
    grower = threading.Thread(target=_grow, args=(growing_src, car / "recording.mcap", 6.0, done))
    grower.start()

    station = start_station(cloud, "pit-folder", [{"id": "usb", "kind": "directory", "path": str(car)}])
    # The file the logger is still writing is left alone while it grows.
    while not done.is_set():
        assert "recording.mcap" not in station.states(), "taken while the logger was still writing it"
        time.sleep(0.2)  # sampling while the file grows (a watch, not a wait)
    grower.join()
    station.wait_all("confirmed", 4)
    states = station.states()
    assert states == {p: "confirmed" for p in ("lap-a.mcap", "same-as-a.mcap", "switched-off.mcap", "recording.mcap")}

    shas = {p.name: sha256_of(p) for p in car.glob("*.mcap")}
    found = cloud.lookup(sorted(set(shas.values())))
    assert found["missing"] == []
    runs = found["runs"]
    assert len(runs) == 3  # four files, three contents: three runs
    assert runs[shas["lap-a.mcap"]]["status"] == "ready"
    assert runs[shas["switched-off.mcap"]]["status"] == "recovered"  # footer-less: recovered, not lost
    assert runs[shas["recording.mcap"]]["status"] == "ready"
    # Both names of one content are recorded on its run.
    station.wait(lambda _rows: {"lap-a.mcap", "same-as-a.mcap"} <= set(
        cloud.lookup([shas["lap-a.mcap"]])["runs"][shas["lap-a.mcap"]]["filenames"]), "both names on the run", 30)
    # Nothing is deleted from the car by default, and each content is in the spool once.
    assert sorted(p.name for p in car.iterdir()) == sorted([*shas, "readme.txt"])
    assert sorted(p.stem for p in station.spool.glob("*.mcap")) == sorted(set(shas.values()))
    runs_docs = {r["_id"]: r for r in cloud.runs()}
    station_uploads = [u for r in runs_docs.values() for u in r.get("uploads", []) if u["source"] == "basestation"]
    assert {u["source_id"] for u in station_uploads} == {"pit-folder/usb"}
    assert len(station_uploads) == 4  # one announcement per file name, none twice

    # The logger's clock was reset: the same name now holds other content. Two runs.
    synth_cached(cache, car / "lap-a.mcap", 3, 4)
    # A file grows after it was copied: taken again as new content, the old copy kept.
    with open(car / "recording.mcap", "ab") as f:
        f.write(b"\x00" * 100)
    station.wait(lambda rows: sum(r.state in ("confirmed", "rejected") for r in rows) >= 6, "the two new versions", 90)
    new_a = sha256_of(car / "lap-a.mcap")
    assert cloud.lookup([new_a])["runs"][new_a]["status"] == "ready"
    assert len({r["_id"] for r in cloud.runs()}) >= 5
    assert (station.spool / f"{shas['recording.mcap']}.mcap").exists()  # the old copy is kept

    # The status command and the heartbeat tell the same story.
    env = station_env(cloud, "pit-folder", station.spool, [{"id": "usb", "kind": "directory", "path": str(car)}])
    out = subprocess.run([sys.executable, "-m", "pitwall.cli.main", "basestation", "status", "--json"],
                         env=env, capture_output=True, text=True, timeout=60, check=True)
    doc = json.loads(out.stdout)
    assert doc["totals"].get("confirmed", 0) >= 5
    table = subprocess.run([sys.executable, "-m", "pitwall.cli.main", "basestation", "status"],
                           env=env, capture_output=True, text=True, timeout=60, check=True).stdout
    assert "switched-off.mcap" in table and "confirmed" in table and "totals:" in table
    # A heartbeat is a snapshot taken every few seconds: the one after the last confirmation says 0 pending.
    def heartbeat() -> dict:
        with cloud.api.client("viewer") as c:
            stations = c.get("/api/v1/stations").json()["stations"]
        return next(s for s in stations if s["station_id"] == "pit-folder")

    wait_for(lambda: heartbeat()["pending_on_car"] == 0, timeout=30, every=0.5,
               what="a heartbeat with nothing pending")
    mine = heartbeat()
    assert mine["online"] is True and mine["pending_on_car"] == 0
    assert mine["states"].get("confirmed", 0) >= 5


def test_sync_once_exit_code_says_whether_everything_is_confirmed(cloud: StationCloud, cache: Path,
                                                                  tmp_path: Path) -> None:
    stick = tmp_path / "stick"
    synth_cached(cache, stick / "practice.mcap", 3, 21)
    sources = [{"id": "stick", "kind": "directory", "path": str(stick)}]
    env = station_env(cloud, "pit-once", tmp_path / "spool", sources, settle_s=0.5)
    argv = [sys.executable, "-m", "pitwall.cli.main", "basestation", "sync", "--once", "--wait", "60"]
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 confirmed" in done.stdout
    # A file the cloud rejects: the pass ends, says why, and exits non-zero.
    (stick / "broken.mcap").write_bytes(b"\x89MCAP0\r\n" + b"\x01" * 3000)
    done = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1
    assert "REJECTED" in done.stdout and "no readable message" in done.stdout
    assert (stick / "broken.mcap").exists()
    # No cloud at all: the file is kept on the station, the exit code says so.
    (stick / "later.mcap").write_bytes((cache / "s3-21.mcap").read_bytes()[:-8] + b"\x00" * 8)
    env_off = env | {"PITWALL_BASESTATION_API_URL": "http://127.0.0.1:9"}
    done = subprocess.run([*argv[:-1], "3"], env=env_off, capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "1 copied" in done.stdout
