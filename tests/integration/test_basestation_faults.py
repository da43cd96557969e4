"""The base station against a real car (OpenSSH sshd, SFTP) and a real cloud, under faults.

Every case ends with the same count: files on the car vs runs in the catalogue, with 0
lost, 0 duplicate announcements, 0 files deleted from the car before the cloud
confirmed them. The matrix is printed at the end of the module (and is in the README).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from helpers.proxy import CuttableProxy
from prometheus_client.parser import text_string_to_metric_families
from station_support import (
    StationCloud,
    StationUnderTest,
    sha256_of,
    start_cloud,
    start_station,
    synth_cached,
)
from testsupport.waiting import wait_for

from pitwall.basestation.journal import Journal
from pitwall.common.settings import Settings

pytestmark = pytest.mark.stack

MATRIX: list[tuple[str, dict[str, int]]] = []
MAGIC = b"\x89MCAP0\r\n"


@pytest.fixture(scope="module")
def cloud(settings: Settings, service_env: dict[str, str], endpoints: Any,
          tmp_path_factory: pytest.TempPathFactory) -> Iterator[StationCloud]:
    yield from start_cloud(settings, service_env, endpoints, tmp_path_factory.mktemp("faults"), "faults")
    if MATRIX:
        lines = ["| fault | files on car | runs (incl. rejected) | lost | duplicate announcements "
                 "| deleted before confirmed |",
                 "|---|---|---|---|---|---|"]
        for name, t in MATRIX:
            lines.append(f"| {name} | {t['files']} | {t['runs']} | {t['lost']} | {t['duplicates']} "
                         f"| {t['deleted_early']} |")
        text = "\n".join(lines)
        print("\nbase station fault matrix:\n" + text)
        out = Path(__file__).resolve().parents[2] / "bench" / "out"
        out.mkdir(parents=True, exist_ok=True)
        (out / "station-fault-matrix.md").write_text(text + "\n")


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("faults-synth")


def tally(cloud: StationCloud, station: StationUnderTest, originals: dict[str, str], car_dir: Path) -> dict[str, int]:
    """Count what a user would: every file's content is a run (or rejected with a reason)."""
    runs = {r["_id"]: r for r in cloud.runs()}
    lost = sum(1 for sha in originals.values() if sha not in runs)
    mine = [u for r in runs.values() for u in r.get("uploads", []) if (u.get("source_id") or "").startswith(
        f"{station.process.env['PITWALL_BASESTATION_STATION_ID']}/")]
    per_name: dict[tuple[str, str], int] = {}
    for u in mine:
        per_name[(u["source_id"], u["filename"])] = per_name.get((u["source_id"], u["filename"]), 0) + 1
    duplicates = sum(n - 1 for n in per_name.values())
    on_car = {p.name for p in car_dir.iterdir()} if car_dir.exists() else set()
    rows = {e.path: e for e in station.journal()}
    deleted_early = 0
    for name, sha in originals.items():
        if name in on_car:
            continue
        run = runs.get(sha)
        row = rows.get(name)
        if run is None or run["status"] not in ("ready", "recovered") or row is None or row.confirmed_at is None \
                or (row.removed_at or 0) < row.confirmed_at:
            deleted_early += 1
    return {"files": len(originals), "runs": len({originals[n] for n in originals} & set(runs)), "lost": lost,
            "duplicates": duplicates, "deleted_early": deleted_early}


def record(name: str, t: dict[str, int]) -> None:
    MATRIX.append((name, t))
    assert t["lost"] == 0 and t["duplicates"] == 0 and t["deleted_early"] == 0, t


def _reported_offline(station: StationUnderTest) -> dict[str, Any] | None:
    """The station's last status report, once it says the cloud is out of reach."""
    j = Journal(station.journal_path)
    try:
        status = j.meta("status")
    finally:
        j.close()
    return status[0] if status and status[0]["cloud_reachable"] is False else None


def _wait_row(station: StationUnderTest, check: Any, what: str, timeout: float = 60) -> None:
    station.wait(lambda rows: any(check(r) for r in rows), what, timeout)


def test_car_over_sftp_becomes_runs_and_only_confirmed_files_leave_it(
        cloud: StationCloud, car_sshd: Any, cache: Path) -> None:
    logs = car_sshd.logs_dir
    synth_cached(cache, logs / "endurance-1.mcap", 4, 10)
    synth_cached(cache, logs / "endurance-2.mcap", 4, 11)
    synth_cached(cache, logs / "switched-off.mcap", 4, 12, "--truncate")
    (logs / "garbage.mcap").write_bytes(MAGIC + os.urandom(4000))  # starts like MCAP, holds nothing
    originals = {p.name: sha256_of(p) for p in logs.iterdir()}
    # Still being written by the logger: appended to while the station scans.
    growing_src = synth_cached(cache, cache / "growing-src.mcap", 4, 13)
    data = growing_src.read_bytes()
    station = start_station(cloud, "pit-sftp", [car_sshd.source()], delete_from_car_after="confirmed")
    with open(logs / "recording.mcap", "wb") as f:
        for i in range(8):
            f.write(data[i * len(data) // 8 : (i + 1) * len(data) // 8 - (1 if i == 7 else 0)])
            f.flush()
            time.sleep(0.5)  # the logger's pace: the file must grow across the station's scans
            assert "recording.mcap" not in station.states(), "taken while it was growing"
        f.write(data[-1:])
    originals["recording.mcap"] = sha256_of(logs / "recording.mcap")
    station.wait(lambda rows: sum(r.state in ("removed_from_car", "rejected") for r in rows) >= 5,
                 "every file confirmed and removed, or rejected", 120)
    states = station.states()
    assert states["garbage.mcap"] == "rejected"
    assert {k: v for k, v in states.items() if k != "garbage.mcap"} == {
        n: "removed_from_car" for n in ("endurance-1.mcap", "endurance-2.mcap", "switched-off.mcap", "recording.mcap")}
    rows = {e.path: e for e in station.journal()}
    assert rows["garbage.mcap"].reason and "no readable message" in rows["garbage.mcap"].reason
    assert rows["switched-off.mcap"].run_status == "recovered"
    # Only the rejected file is still on the car; its copy stays on the station too.
    assert sorted(p.name for p in logs.iterdir()) == ["garbage.mcap"]
    assert (station.spool / f"{originals['garbage.mcap']}.mcap").exists()
    found = cloud.lookup(sorted(originals.values()))
    assert found["missing"] == []
    assert sorted(r["status"] for r in found["runs"].values()) == ["ready", "ready", "ready", "recovered", "rejected"]
    record("none (SFTP, delete after confirmed, one rejected file)", tally(cloud, station, originals, logs))


def _slow_case(cloud: StationCloud, car: Any, cache: Path, station_id: str, seed: int, **settings: Any
               ) -> tuple[StationUnderTest, dict[str, str]]:
    synth_cached(cache, car.logs_dir / f"{station_id}-long.mcap", 60, seed)  # ~17 MB: three upload parts
    synth_cached(cache, car.logs_dir / f"{station_id}-short.mcap", 3, seed + 1)
    originals = {p.name: sha256_of(p) for p in car.logs_dir.iterdir()}
    station = start_station(cloud, station_id, [car.source()], delete_from_car_after="confirmed", **settings)
    return station, originals


def _restart(
    cloud: StationCloud, station: StationUnderTest, station_id: str, car: Any, **settings: Any
) -> StationUnderTest:
    station.process.kill()
    return start_station(cloud, station_id, [car.source()], delete_from_car_after="confirmed", **settings)


def _finish(cloud: StationCloud, station: StationUnderTest, originals: dict[str, str], car: Any, name: str) -> None:
    station.wait(lambda rows: sum(r.state == "removed_from_car" for r in rows) >= len(originals),
                 "all confirmed and removed from the car", 120)
    record(name, tally(cloud, station, originals, car.logs_dir))


def test_sigkill_during_copy_resumes_the_copy(cloud: StationCloud, car_sshd: Any, cache: Path) -> None:
    station, originals = _slow_case(cloud, car_sshd, cache, "kill-copy", 20, copy_bps=6_000_000)
    _wait_row(station, lambda r: r.phase == "copying" and 0 < r.progress < r.size, "a copy in progress")
    station = _restart(cloud, station, "kill-copy", car_sshd)
    station.process.wait_for_log("copy resumed", timeout=30)
    _finish(cloud, station, originals, car_sshd, "SIGKILL of the station during a copy")


def test_sigkill_during_upload_resumes_the_upload(cloud: StationCloud, car_sshd: Any, cache: Path) -> None:
    station, originals = _slow_case(cloud, car_sshd, cache, "kill-upload", 30, bandwidth_bps=6_000_000)
    _wait_row(station, lambda r: r.phase == "uploading" and r.progress >= 8 * 1024 * 1024, "an upload past part 1")
    station = _restart(cloud, station, "kill-upload", car_sshd)
    station.process.wait_for_log("upload resumed", timeout=30)
    _finish(cloud, station, originals, car_sshd, "SIGKILL of the station during an upload")


def test_sigkill_between_upload_and_announcement(cloud: StationCloud, car_sshd: Any, cache: Path) -> None:
    station, originals = _slow_case(cloud, car_sshd, cache, "kill-announce", 40, fault_pause_before_announce_s=60)
    station.process.wait_for_log("parts uploaded, announcing", timeout=60)
    assert not any(r.state in ("uploaded", "confirmed") for r in station.journal())
    station = _restart(cloud, station, "kill-announce", car_sshd)
    _finish(cloud, station, originals, car_sshd, "SIGKILL between upload and announcement")


def test_uplink_down_stores_and_forwards_oldest_first(cloud: StationCloud, car_sshd: Any, cache: Path) -> None:
    proxy = CuttableProxy(int(cloud.api.base_url.rsplit(":", 1)[1]))
    try:
        proxy.cut()
        names = []
        for i in range(3):
            p = synth_cached(cache, car_sshd.logs_dir / f"offline-{i}.mcap", 3, 50 + i)
            os.utime(p, ns=(time.time_ns(), time.time_ns() - (10 - i) * 60 * 10**9))  # oldest first: 0, 1, 2
            names.append(p.name)
        originals = {n: sha256_of(car_sshd.logs_dir / n) for n in names}
        station = start_station(cloud, "offline", [car_sshd.source()], delete_from_car_after="confirmed",
                                api_url=proxy.url)
        # The car is emptied into the station while the cloud is out of reach.
        station.wait_all("copied", 3, 60)
        # The station tried the cloud, failed, and says so in its status (not a fixed sleep).
        status = wait_for(lambda: _reported_offline(station), "a status report with the cloud out of reach", 30)
        assert all(r.state == "copied" for r in station.journal())
        assert status["on_station"] == 3 and "cloud" in (status["last_error"] or "")
        assert sorted(p.name for p in car_sshd.logs_dir.iterdir()) == sorted(names)  # nothing deleted
        proxy.restore()
        _finish(cloud, station, originals, car_sshd, "uplink to the cloud down, then back")
        rows = sorted(station.journal(), key=lambda r: r.uploaded_at or 0)
        assert [r.path for r in rows] == names  # drained oldest recording first
    finally:
        proxy.close()


def test_car_sshd_killed_mid_transfer(cloud: StationCloud, car_sshd: Any, cache: Path) -> None:
    station, originals = _slow_case(cloud, car_sshd, cache, "sshd-kill", 60, copy_bps=6_000_000)
    _wait_row(station, lambda r: r.phase == "copying" and 0 < r.progress < r.size, "a copy in progress")
    car_sshd.kill()
    station.process.wait_for_log("copy failed", timeout=30)  # the station saw the link go
    assert station.process.alive
    assert not any(r.state != "seen" and r.path.endswith("long.mcap") for r in station.journal())
    car_sshd.start()
    station.process.wait_for_log("copy resumed", timeout=60)
    _finish(cloud, station, originals, car_sshd, "car's sshd killed mid-transfer")


def _lookups(cloud: StationCloud) -> int:
    """How many POST /runs/lookup the cloud has answered (query_api's own request metric)."""
    with cloud.api.client("admin") as c:
        text = c.get("/metrics").raise_for_status().text
    return sum(int(s.value) for family in text_string_to_metric_families(text) for s in family.samples
               if s.name == "pitwall_http_request_seconds_count" and s.labels.get("method") == "POST"
               and s.labels.get("route") == "/api/v1/runs/lookup")


def test_ingest_down_while_uploads_arrive(cloud: StationCloud, car_sshd: Any, cache: Path) -> None:
    cloud.ingest.stop()
    try:
        synth_cached(cache, car_sshd.logs_dir / "while-ingest-down-1.mcap", 3, 70)
        synth_cached(cache, car_sshd.logs_dir / "while-ingest-down-2.mcap", 3, 71)
        originals = {p.name: sha256_of(p) for p in car_sshd.logs_dir.iterdir()}
        station = start_station(cloud, "no-ingest", [car_sshd.source()], delete_from_car_after="confirmed")
        station.wait_all("uploaded", 2, 60)
        # The station asks the cloud about what it announced (one lookup per pass, one pass at a
        # time; the stations of earlier cases have nothing left to ask about). Two answered
        # lookups after both uploads: the first answer has been acted on, and it confirmed nothing.
        asked = _lookups(cloud)
        wait_for(lambda: _lookups(cloud) >= asked + 2, "the station to ask the cloud twice", timeout=30)
        assert not any(r.state in ("confirmed", "removed_from_car") for r in station.journal())
        assert len(list(car_sshd.logs_dir.iterdir())) == 2  # kept on the car: not confirmed yet
    finally:
        cloud.ingest.restart()
    _finish(cloud, station, originals, car_sshd, "ingest down while uploads arrive")
