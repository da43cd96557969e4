"""`pitwall.client.Client` against a real query_api (the test plays ingest and converter)."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from helpers.api import T0_NS, Api, EventTap, insert_run, recording, sha_of, start_api

from pitwall.client import Client, ExportFailed, PitwallError
from pitwall.common.columns import Recording
from pitwall.common.contracts import mongo
from pitwall.common.settings import Settings
from pitwall.common.storage import ObjectStore

pytestmark = pytest.mark.stack
HOUR_NS = 3600 * 10**9


@pytest.fixture(scope="module")
def api(settings: Settings, service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from start_api(settings, dict(service_env), tmp_path_factory.mktemp("api-client"), "client")


@pytest.fixture(scope="module")
def seeded(api: Api) -> dict[str, tuple[str, Recording]]:
    out = {}
    for i in range(9):
        rec = recording(T0_NS + i * HOUR_NS, seconds=10, rate_hz=40, speed_max=20.0 + i,
                        setup={"driver": "Alice" if i % 2 else "Bob", "trackName": "Ohio"}, seed=i)
        out[f"r{i}"] = (insert_run(api, rec, f"client_{i}.mcap", store=i == 0)["_id"], rec)
    return out


@pytest.fixture
def pw(api: Api) -> Iterator[Client]:
    with Client(api.base_url, api.tokens["uploader"]) as client:
        yield client


def test_runs_iterates_every_page(pw: Client, seeded: dict[str, tuple[str, Recording]]) -> None:
    ids = [r["id"] for r in pw.runs(page_size=2, driver="Alice",
                                    recorded_after=datetime.fromtimestamp(T0_NS / 1e9, UTC))]
    assert ids == [seeded[f"r{i}"][0] for i in (7, 5, 3, 1)]
    fast = [r["id"] for r in pw.runs(page_size=4, where=["VNData:vn_vel.x.max>24", "VNData:vn_vel.x.max<=27"],
                                     sort="start")]
    assert fast == [seeded[f"r{i}"][0] for i in (5, 6, 7)]


def test_run_signals_and_series_as_numpy(pw: Client, seeded: dict[str, tuple[str, Recording]]) -> None:
    run_id, rec = seeded["r0"]
    assert pw.run(run_id)["filename"] == "client_0.mcap"
    keys = {s["key"] for s in pw.signals(run_id)}
    assert {"VNData:vn_vel.x", "BMS:cells.voltage", "MCUOutputData:state"} <= keys
    data = pw.series(run_id, ["VNData:vn_vel.x", "BMS:cells.voltage[1]"], start=2, end=8)
    t_v = (rec.topics["VNData"].log_time_ns - rec.origin_ns) / 1e9
    inside = (t_v >= 2) & (t_v <= 8)
    speed = data["VNData:vn_vel.x"]
    assert isinstance(speed.t, np.ndarray) and not speed.decimated and speed.kind == "double"
    np.testing.assert_array_equal(speed.t, t_v[inside])
    np.testing.assert_array_equal(speed.v, rec.topics["VNData"].signals["vn_vel.x"].values[inside])
    t, v, *_ = data["BMS:cells.voltage[1]"]
    t_b = (rec.topics["BMS"].log_time_ns - rec.origin_ns) / 1e9
    np.testing.assert_array_equal(t, t_b[(t_b >= 2) & (t_b <= 8)])
    np.testing.assert_array_equal(v, rec.topics["BMS"].signals["cells.voltage"].values[(t_b >= 2) & (t_b <= 8), 1])
    try:
        import pandas  # noqa: F401
    except ImportError:
        with pytest.raises(ImportError, match="pip install pandas"):
            data.to_pandas()
    else:
        frame = data.to_pandas()
        assert list(frame.columns) == ["VNData:vn_vel.x", "BMS:cells.voltage[1]"]
        assert frame["VNData:vn_vel.x"].max() == speed.v.max()


def test_an_enum_brings_its_state_names(pw: Client, seeded: dict[str, tuple[str, Recording]]) -> None:
    """Without any catalogue, the recording's own enum names reach the client as int codes."""
    run_id, rec = seeded["r0"]
    names = rec.topics["MCUOutputData"].signals["state"].enum_names
    assert names
    data = pw.series(run_id, ["MCUOutputData:state", "VNData:vn_vel.x"])
    assert data["MCUOutputData:state"].states == names
    assert data["VNData:vn_vel.x"].states is None
    assert set(np.unique(data["MCUOutputData:state"].v)) <= set(names)
    pytest.importorskip("pandas")
    assert data.to_pandas().attrs["states"] == {"MCUOutputData:state": names}


def test_errors_name_the_problem(pw: Client, seeded: dict[str, tuple[str, Recording]]) -> None:
    with pytest.raises(PitwallError) as unknown:
        pw.run(sha_of("nobody"))
    assert unknown.value.status == 404
    with pytest.raises(PitwallError) as bad:
        list(pw.runs(where="VNData:vn_vel.x.median>3"))
    assert bad.value.status == 422 and "where" in str(bad.value)
    with pytest.raises(PitwallError) as forbidden:
        pw.delete_run(seeded["r1"][0])  # an uploader may not delete
    assert forbidden.value.status == 403


def test_upload(pw: Client, tmp_path: Path) -> None:
    path = tmp_path / "from the car.mcap"
    path.write_bytes(b"\x89MCAP0\r\n" + hashlib.sha256(b"client").digest() * 1000)
    first = pw.upload(path)
    assert first["id"] == hashlib.sha256(path.read_bytes()).hexdigest() and first["duplicate"] is False
    assert first["filename"] == "from the car.mcap"
    assert pw.upload(path)["duplicate"] is True


def _play_converter(api: Api, tap: EventTap, content: bytes | None, reason: str | None = None) -> threading.Thread:
    """Answers the next export request on the bus: records it as ingest would, then
    finishes it as the converter would (with `content`, or failing with `reason`)."""
    jobs = api.db[mongo.JOBS]

    def work() -> None:
        request = tap.get(timeout=20)
        now = datetime.now(UTC)
        jobs.insert_one({"_id": request.job_id, "status": "running", "progress": 0.5, "stage": "writing",
                         "created_at": now, "updated_at": now})
        time.sleep(0.8)  # the conversion's length: the client must keep polling a running job
        if content is None:
            jobs.update_one({"_id": request.job_id}, {"$set": {"status": "failed", "error": reason}})
            return
        key = f"exports/{request.job_id}/client_0.mat"
        ObjectStore(api.settings).put_bytes(api.settings.bucket_exports, key, content)
        jobs.update_one({"_id": request.job_id},
                        {"$set": {"status": "done", "progress": 1.0, "result_key": key, "size": len(content)}})

    thread = threading.Thread(target=work)
    thread.start()
    return thread


def test_export_waits_then_downloads(pw: Client, api: Api, seeded: dict[str, tuple[str, Recording]],
                                     tmp_path: Path) -> None:
    tap = EventTap(api.settings, "conversion.requested")
    try:
        content = b"MATLAB 5.0 MAT-file" + bytes(range(256)) * 64
        worker = _play_converter(api, tap, content)
        path = pw.export(seeded["r0"][0], ["VNData:vn_vel.x"], start=1, end=5, dest=tmp_path, poll_s=0.1, timeout=30)
        worker.join()
        assert path == tmp_path / "client_0.mat" and path.read_bytes() == content

        worker = _play_converter(api, tap, None,
                                 reason="run client_0 has no file in storage (deleted or never uploaded)")
        with pytest.raises(ExportFailed, match="no file in storage"):
            pw.export(seeded["r0"][0], ["VNData:vn_vel.x"], dest=tmp_path, poll_s=0.1, timeout=30)
        worker.join()
        # A glob with a typo never becomes a job: the API names it at once.
        with pytest.raises(PitwallError, match="'Nope:\\*' matches no signal of this run") as refused:
            pw.export(seeded["r0"][0], ["VNData:vn_vel.x", "Nope:*"], dest=tmp_path, poll_s=0.1, timeout=30)
        assert refused.value.status == 422
    finally:
        tap.close()
