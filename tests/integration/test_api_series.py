"""Looking at one run through the real query_api: signals, plot series, track, laps, file link."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest
from helpers.api import T0_NS, Api, insert_run, recording, require_ok, sha_of, start_api

from pitwall.common.columns import Recording
from pitwall.common.settings import Settings
from pitwall.common.storage import ObjectStore

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def api(settings: Settings, service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from start_api(settings, dict(service_env), tmp_path_factory.mktemp("api-series"), "series")


@pytest.fixture(scope="module")
def run(api: Api) -> tuple[str, Recording]:
    rec = recording(T0_NS, seconds=60, rate_hz=100, speed_max=31.5, seed=3)
    # Two lone spikes, one up and one down, that a plain stride would miss.
    speed = rec.topics["VNData"].signals["vn_vel.x"].values
    speed[1234] = 99.25
    speed[4321] = -7.5
    # Laps as ingest stores them (given here: ingest's detector needs > 0.5 m between GPS fixes).
    laps = [{"lap": n, "start_s": 2.0 + 19 * (n - 1), "end_s": 2.0 + 19 * n, "time_s": 19.0 - n / 10,
             "distance_m": 377.0} for n in (1, 2, 3)]
    doc = insert_run(api, rec, "plot_me.mcap", store=True, laps=laps, lap_count=3, best_lap_s=18.7)
    return doc["_id"], rec


def series(api: Api, run_id: str, **params: Any) -> dict[str, Any]:
    with api.client("viewer") as c:
        return require_ok(c.get(f"/api/v1/runs/{run_id}/series", params=params))


def times(rec: Recording, topic: str) -> np.ndarray:
    return (rec.topics[topic].log_time_ns - rec.origin_ns) / 1e9


def test_decimation_keeps_the_true_min_and_max(api: Api, run: tuple[str, Recording]) -> None:
    run_id, rec = run
    t_all, v_all = times(rec, "VNData"), rec.topics["VNData"].signals["vn_vel.x"].values
    for max_points in (2, 10, 101, 2000):
        [s] = series(api, run_id, signals="VNData:vn_vel.x", max_points=max_points)["signals"]
        t, v = np.array(s["t"]), np.array(s["v"])
        assert s["decimated"] and s["points_in_window"] == len(v_all) == 6000
        assert 2 <= len(v) <= max_points
        assert v.max() == 99.25 == v_all.max() and v.min() == -7.5 == v_all.min()
        assert np.all(np.diff(t) > 0), "points out of time order or repeated"
        # Every point is a real sample: its value is the one recorded at its time.
        idx = np.searchsorted(t_all, t)
        np.testing.assert_array_equal(t_all[idx], t)
        np.testing.assert_array_equal(v_all[idx], v)


def test_every_bucket_keeps_its_extremes(api: Api, run: tuple[str, Recording]) -> None:
    run_id, rec = run
    v_all = rec.topics["VNData"].signals["vn_vel.x"].values
    [s] = series(api, run_id, signals="VNData:vn_vel.x", max_points=200)["signals"]
    v = np.array(s["v"])
    # 100 buckets of 60 consecutive samples; each bucket's min and max must be there.
    buckets = v_all.reshape(100, 60)
    assert set(buckets.max(axis=1)) <= set(v) and set(buckets.min(axis=1)) <= set(v)


def test_exact_when_fewer_points_than_asked(api: Api, run: tuple[str, Recording]) -> None:
    run_id, rec = run
    body = series(api, run_id, signals="MCUOutputData:motor_temp,VNData:vn_vel.x", max_points=6000)
    temp, speed = body["signals"]
    assert [temp["key"], speed["key"]] == ["MCUOutputData:motor_temp", "VNData:vn_vel.x"]
    assert not temp["decimated"] and not speed["decimated"]
    np.testing.assert_array_equal(np.array(speed["v"]), rec.topics["VNData"].signals["vn_vel.x"].values)
    np.testing.assert_array_equal(np.array(speed["t"]), times(rec, "VNData"))
    # float32 values arrive as the same numbers (widened, not rounded again).
    np.testing.assert_array_equal(np.array(temp["v"], dtype=np.float32),
                                  rec.topics["MCUOutputData"].signals["motor_temp"].values)
    assert temp["kind"] == "single" and body["origin_ns"] == rec.origin_ns


def test_window_and_repeated_element_and_enum(api: Api, run: tuple[str, Recording]) -> None:
    run_id, rec = run
    body = series(api, run_id, signals=["BMS:cells.voltage[2]", "MCUOutputData:state"], start=10, end=20.5,
                  max_points=100000)
    cells, state = body["signals"]
    t_b = times(rec, "BMS")
    inside = (t_b >= 10) & (t_b <= 20.5)
    np.testing.assert_array_equal(np.array(cells["t"]), t_b[inside])
    np.testing.assert_array_equal(np.array(cells["v"]), rec.topics["BMS"].signals["cells.voltage"].values[inside, 2])
    assert min(state["t"]) >= 10 and max(state["t"]) <= 20.5
    assert state["kind"] == "enum" and state["enum_names"] == {"0": "IDLE", "1": "READY", "2": "DRIVE"}


def test_signal_tree_with_statistics(api: Api, run: tuple[str, Recording]) -> None:
    run_id, rec = run
    with api.client("viewer") as c:
        tree = require_ok(c.get(f"/api/v1/runs/{run_id}/signals"))
    topics = {t["topic"]: t for t in tree["topics"]}
    assert set(topics) == set(rec.topics)
    assert rec.topics, "the recording has no topic"
    for name, tc in rec.topics.items():
        assert topics[name]["message_count"] == tc.count
        got = {s["path"]: s for s in topics[name]["signals"]}
        assert set(got) == set(tc.signals)
        for path, sig in tc.signals.items():
            values = sig.values.astype(np.float64)
            assert got[path]["key"] == f"{name}:{path}" and got[path]["kind"] == sig.kind
            assert got[path]["count"] == values.shape[0]
            assert got[path]["max"] == values.max() and got[path]["min"] == values.min()
    assert topics["BMS"]["signals"][0]["width"] == 4
    assert topics["MCUOutputData"]["signals"][1]["distinct_names"] == ["IDLE", "READY", "DRIVE"]


def test_track_and_laps(api: Api, run: tuple[str, Recording]) -> None:
    run_id, _rec = run
    with api.client("viewer") as c:
        track = require_ok(c.get(f"/api/v1/runs/{run_id}/track"))
        laps = require_ok(c.get(f"/api/v1/runs/{run_id}/laps"))
        full = require_ok(c.get(f"/api/v1/runs/{run_id}"))
    assert track["available"] and track["topic"] == "VNData" and track["lat_path"] == "vn_gps.lat"
    assert track["points"] == full["track"]["points"] and 100 < len(track["points"]) <= 2000
    assert laps["lap_count"] == 3 == len(laps["laps"]) and laps["laps"] == track["laps"] == full["laps"]
    assert [lap["time_s"] for lap in laps["laps"]] == [18.9, 18.8, 18.7]
    assert laps["best_lap_s"] == 18.7 == min(lap["time_s"] for lap in laps["laps"])


def test_run_without_gps_has_no_track(api: Api) -> None:
    rec = recording(T0_NS + 10**12, seconds=5)
    del rec.topics["VNData"]
    doc = insert_run(api, rec, "no_gps.mcap")
    with api.client("viewer") as c:
        track = require_ok(c.get(f"/api/v1/runs/{doc['_id']}/track"))
        laps = require_ok(c.get(f"/api/v1/runs/{doc['_id']}/laps"))
    assert track["available"] is False and track["points"] == []
    assert laps == {"run_id": doc["_id"], "lap_count": 0, "best_lap_s": None, "laps": []}


def test_link_to_the_original_file(api: Api) -> None:
    store = ObjectStore(api.settings)
    content = b"\x89MCAP0\r\n" + bytes(range(256)) * 40
    stored = store.put_mcap_stream(io.BytesIO(content))
    insert_run(api, recording(T0_NS + 2 * 10**12, seconds=2), "linked.mcap", sha=stored.sha256, object_key=stored.key)
    with api.client("viewer") as c:
        link = require_ok(c.get(f"/api/v1/runs/{stored.sha256}/mcap"))
        proxied = c.get(f"/api/v1/runs/{stored.sha256}/mcap/file")
    assert link["filename"] == "linked.mcap" and link["expires_in_s"] == api.settings.presign_expiry_s
    direct = httpx.get(link["url"], timeout=30)  # no token: the link itself is the permission
    assert direct.status_code == 200 and direct.content == content
    assert proxied.status_code == 200 and proxied.content == content
    assert 'filename="linked.mcap"' in proxied.headers["content-disposition"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({}, "signals"),
        ({"signals": "VNData:no_such"}, "signals"),
        ({"signals": "NoTopic:x"}, "signals"),
        ({"signals": "BMS:cells.voltage"}, "signals"),  # repeated: name an element
        ({"signals": "BMS:cells.voltage[4]"}, "signals"),  # only 4 elements
        ({"signals": "VNData:vn_vel.x[0]"}, "signals"),  # not repeated
        ({"signals": ",".join(f"VNData:vn_vel.x{i}" for i in range(40))}, "signals"),
        ({"signals": "VNData:vn_vel.x", "max_points": 1}, "max_points"),
        ({"signals": "VNData:vn_vel.x", "max_points": "many"}, "max_points"),
        ({"signals": "VNData:vn_vel.x", "start": "nan"}, "start"),
        ({"signals": "VNData:vn_vel.x", "start": 5, "end": 1}, "end"),
    ],
)
def test_bad_series_parameters_are_422(api: Api, run: tuple[str, Recording], params: dict[str, Any],
                                       field: str) -> None:
    run_id, _ = run
    with api.client("viewer") as c:
        r = c.get(f"/api/v1/runs/{run_id}/series", params=params)
    assert r.status_code == 422, r.text
    assert any(field in err["loc"] for err in r.json()["detail"]), r.text


def test_series_of_unknown_or_storeless_runs_is_404(api: Api) -> None:
    no_store = insert_run(api, recording(T0_NS + 3 * 10**12, seconds=2), "no_store.mcap")["_id"]
    with api.client("viewer") as c:
        for run_id in (sha_of("nobody"), no_store):
            r = c.get(f"/api/v1/runs/{run_id}/series", params={"signals": "VNData:vn_vel.x"})
            assert r.status_code == 404, r.text
