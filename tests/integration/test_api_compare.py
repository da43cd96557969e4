"""Lap comparison through the real stack: synth runs uploaded, ingested, then overlaid.

The synth car laps one circuit (`track_seed`) at two paces, so every expected number comes
from what the simulator drove: its line crossings and flying-lap times.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from helpers.api import Api, require_ok
from helpers.with_ingest import start_api_with_ingest, wait_for

from pitwall.common.settings import Settings
from pitwall.synth import SynthSummary, write_synth

pytestmark = pytest.mark.stack
SPEED = "VNData:vn_vel.x"
SIGNALS = [SPEED, "DashboardData:lap_number", "PedalsData:accel_percent"]


@pytest.fixture(scope="module")
def stack(
    settings: Settings, service_env: dict[str, str], endpoints: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    for api, _ingest in start_api_with_ingest(settings, service_env, endpoints,
                                              tmp_path_factory.mktemp("api-compare"), "compare"):
        yield api


@pytest.fixture(scope="module")
def runs(stack: Api, tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[str, SynthSummary]]:
    """fast: the reference pace; slow: 0.9 of its grip and traction; blind: no GPS fix."""
    folder = tmp_path_factory.mktemp("compare-files")
    made = {
        "fast": write_synth(folder / "fast.mcap", minutes=2.6, seed=3, track_seed=3),
        "slow": write_synth(folder / "slow.mcap", minutes=2.7, seed=4, track_seed=3, pace=0.9),
        "blind": write_synth(folder / "blind.mcap", minutes=2.6, seed=5, track_seed=3, gps=False),
    }
    ids = {}
    with stack.client("uploader") as up:
        for name, summary in made.items():
            upload = up.post("/api/v1/uploads", files={"file": (f"{name}.mcap", summary.path.read_bytes())})
            ids[name] = require_ok(upload, 202)["id"]

    def ready() -> bool:
        with stack.client("viewer") as c:
            return all(c.get(f"/api/v1/runs/{i}").json().get("status") == "ready" for i in ids.values())

    wait_for(ready, "three runs ingested", 120)
    return {name: (ids[name], made[name]) for name in made}


def compare(api: Api, status: int = 200, **params: Any) -> Any:
    with api.client("viewer") as c:
        return require_ok(c.get("/api/v1/compare", params=params), status)


def known_lap_s(summary: SynthSummary, lap: int) -> float:
    """Between the line crossings the simulator drove (its profile's `lap_time_s` is the
    same lap sampled coarser, a couple of milliseconds off)."""
    marks = (summary.track.launch_s, *summary.track.lap_crossings_s)
    return marks[lap] - marks[lap - 1]


def test_two_runs_overlaid_by_distance(stack: Api, runs: dict[str, tuple[str, SynthSummary]]) -> None:
    (fast, fs), (slow, ss) = runs["fast"], runs["slow"]
    body = compare(stack, laps=f"{fast}:2,{slow}:2", signals=",".join(SIGNALS), points=800)
    grid = np.array(body["grid"])
    assert body["x"] == "distance" and body["reference"] == 0 and grid.size == 800
    ref, other = body["laps"]
    # One distance grid for both laps: the reference lap's metres from 0 to its end.
    assert grid[0] == 0 and grid[-1] == pytest.approx(ref["distance_m"])
    assert ref["distance"] == other["distance"] == body["grid"]
    assert ref["distance_m"] == pytest.approx(fs.track.length_m, rel=0.01)
    # The laps are timed by the car's own lap timer, to its millisecond.
    assert ref["lap_source"] == other["lap_source"] == "lap_timer"
    assert ref["time_s"] == pytest.approx(known_lap_s(fs, 2), abs=1e-3)
    assert other["time_s"] == pytest.approx(known_lap_s(ss, 2), abs=1e-3)
    [delta] = body["delta"]
    d = np.array(delta["v"], dtype=float)
    assert delta["lap_index"] == 1 and d[0] == pytest.approx(0.0, abs=1e-9)
    # At the end of the lap the delta is the difference of the laps the car drove.
    assert d[-1] == pytest.approx(known_lap_s(ss, 2) - known_lap_s(fs, 2), abs=1e-3)
    assert d[-1] == pytest.approx(other["time_s"] - ref["time_s"], abs=1e-9)
    # A driver with less grip is slower everywhere: time lost only accumulates (noise aside).
    assert np.all(np.diff(d) > -0.01)
    # Each lap's time along the grid runs from 0 to its lap time.
    for lap in body["laps"]:
        t = np.array(lap["time"], dtype=float)
        assert t[0] == pytest.approx(0.0, abs=1e-6) and t[-1] == pytest.approx(lap["time_s"])
        assert np.all(np.diff(t) > 0)
        speed = np.array(lap["signals"][SPEED], dtype=float)
        assert np.isfinite(speed).all() and 5 < speed.max() < 25
        # A state keeps its last value: the dash shows lap 2 from the line on (its 100 Hz
        # message may still say 1 at the very first point).
        assert set(lap["signals"]["DashboardData:lap_number"][1:]) == {2}
    # The slower car is slower at the same place: its peak speed is lower.
    assert max(other["signals"][SPEED]) < max(ref["signals"][SPEED])
    assert [s["key"] for s in body["signals"]] == SIGNALS
    m = body["map"]
    assert m["lap_index"] == 1 and len(m["lat"]) == len(m["lon"]) == len(m["loss"]) == 400
    loss = np.array(m["loss"], dtype=float)
    assert np.nanmean(loss) > 0, "the slower lap loses time on average"
    # The loss per 100 m integrates back to the time lost over the lap.
    spacing = ref["distance_m"] / (len(loss) - 1)
    assert np.trapezoid(loss, dx=spacing) / 100 == pytest.approx(d[-1], rel=0.1)
    assert body["notes"] == []


def test_signals_are_the_recorded_values_at_each_laps_own_time(stack: Api,
                                                               runs: dict[str, tuple[str, SynthSummary]]) -> None:
    (fast, _), (slow, _) = runs["fast"], runs["slow"]
    body = compare(stack, laps=f"{fast}:2,{slow}:2", signals=SPEED, x="time", points=500)
    grid = np.array(body["grid"])
    assert body["x"] == "time" and grid[-1] == pytest.approx(max(lap["time_s"] for lap in body["laps"]))
    with stack.client("viewer") as c:
        for lap in body["laps"]:
            raw = require_ok(c.get(f"/api/v1/runs/{lap['run_id']}/series",
                                   params={"signals": SPEED, "max_points": 200_000}))
            [s] = raw["signals"]
            assert not s["decimated"]
            expected = np.interp(lap["start_s"] + grid, s["t"], s["v"])
            got = np.array(lap["signals"][SPEED], dtype=float)
            inside = grid <= lap["time_s"]
            np.testing.assert_allclose(got[inside], expected[inside], rtol=0, atol=1e-6)
            dist = np.array(lap["distance"], dtype=float)
            assert np.all(np.diff(dist[inside]) >= 0) and np.isnan(dist[~inside]).all()
    # On the time axis the delta is still by place: at the reference's finish line it is
    # the lap-time difference.
    [delta] = body["delta"]
    ref, other = body["laps"]
    d = np.array(delta["v"], dtype=float)
    last = int(np.nonzero(np.isfinite(d))[0][-1])
    assert grid[last] <= ref["time_s"] < grid[last] + grid[1] * 1.01
    assert d[last] == pytest.approx(other["time_s"] - ref["time_s"], abs=0.02)


def test_a_standing_start_against_a_flying_lap_of_the_same_run(stack: Api,
                                                               runs: dict[str, tuple[str, SynthSummary]]) -> None:
    fast, fs = runs["fast"]
    body = compare(stack, laps=f"{fast}:2,{fast}:1", points=300)
    flying, standing = body["laps"]
    assert standing["time_s"] == pytest.approx(known_lap_s(fs, 1), abs=1e-3)
    d = np.array(body["delta"][0]["v"], dtype=float)
    assert d[-1] == pytest.approx(known_lap_s(fs, 1) - known_lap_s(fs, 2), abs=1e-3)
    # The launch is where the standing lap loses its time: most of it in the first tenth.
    assert d[len(d) // 10] > 0.6 * d[-1]
    assert body["signals"] == [] and flying["signals"] == {}


def test_a_run_without_gps_falls_back_to_wheel_speed(stack: Api, runs: dict[str, tuple[str, SynthSummary]]) -> None:
    (fast, fs), (blind, bs) = runs["fast"], runs["blind"]
    with stack.client("viewer") as c:
        run = require_ok(c.get(f"/api/v1/runs/{blind}"))
    assert run["track"] is None and run["lap_count"] >= 1, "laps from the car's timer, without GPS"
    body = compare(stack, laps=f"{fast}:2,{blind}:2", signals=SPEED)
    ref, other = body["laps"]
    assert ref["distance_source"] == "gps" and ref["note"] is None
    assert other["distance_source"] == "wheel_speed"
    assert "no GPS" in other["note"] and "WheelSpeedData:wheel_rpm" in other["note"]
    # Wheel speed includes slip, so its distance runs a little long; still the same track.
    assert other["distance_m"] == pytest.approx(bs.track.length_m, rel=0.03)
    d = np.array(body["delta"][0]["v"], dtype=float)
    assert d[-1] == pytest.approx(known_lap_s(bs, 2) - known_lap_s(fs, 2), abs=1e-3)
    # With the blind run as the reference there is no GPS path to colour.
    assert compare(stack, laps=f"{blind}:2,{fast}:2")["map"] is None


def test_bad_requests_say_what_is_wrong(stack: Api, runs: dict[str, tuple[str, SynthSummary]]) -> None:
    fast, _ = runs["fast"]
    slow, _ = runs["slow"]

    def message(status: int, **params: Any) -> str:
        return str(compare(stack, status, **params))

    assert "RUN:LAP" in message(422, laps=f"{fast}-2,{slow}:2")
    assert "2 to 8" in message(422, laps=f"{fast}:2")
    assert "no lap 99" in message(422, laps=f"{fast}:2,{slow}:99")
    assert "named twice" in message(422, laps=f"{fast}:2,{fast}:2")
    assert "Nope:nothing" in message(422, laps=f"{fast}:2,{slow}:2", signals="Nope:nothing")
    assert "distance" in message(422, laps=f"{fast}:2,{slow}:2", x="speed")
    assert "points" in message(422, laps=f"{fast}:2,{slow}:2", points=10)
    assert "ref" in message(422, laps=f"{fast}:2,{slow}:2", ref=5)
    assert "no run" in message(404, laps=f"{'0' * 64}:1,{slow}:2")
    with stack.client(None) as anonymous:
        assert anonymous.get("/api/v1/compare", params={"laps": f"{fast}:2,{slow}:2"}).status_code == 401


def test_laps_come_from_the_cars_timer_to_the_millisecond(tmp_path: Path) -> None:
    """No server needed: the digest's laps against the crossings the simulator drove."""
    from pitwall.common.mcapread import read_recording
    from pitwall.ingest.digest import Digest

    summary = write_synth(tmp_path / "timer.mcap", minutes=2.6, seed=8, gps=False)
    laps = Digest.of(read_recording(summary.path)).laps(None)
    marks = (summary.track.launch_s, *summary.track.lap_crossings_s)
    assert [lap["lap"] for lap in laps] == list(range(1, len(marks)))
    assert laps, "the synth car drove no lap"
    for lap in laps:
        # The clock counts whole milliseconds: each boundary is within half of one (the
        # origin is the first message, a fraction of a millisecond after the synth's zero).
        assert lap["source"] == "lap_timer"
        assert lap["start_s"] == pytest.approx(marks[lap["lap"] - 1], abs=1.5e-3)
        assert lap["time_s"] == pytest.approx(marks[lap["lap"]] - marks[lap["lap"] - 1], abs=1e-3)


@pytest.fixture(scope="module")
def converter(stack: Api, service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    from testsupport.services import start_service, wait_until_ready

    from pitwall.devstack.endpoints import settings_env

    proc = start_service("converter", dict(service_env) | settings_env(stack.settings),
                         tmp_path_factory.mktemp("cmp-conv") / "converter.log", wait=False)
    try:
        wait_until_ready(proc)
        yield
    finally:
        proc.stop()


def test_python_client_load_and_compare(stack: Api, runs: dict[str, tuple[str, SynthSummary]], converter: None) -> None:
    from pitwall.client import Client
    from pitwall.common.mcapread import read_recording
    from pitwall.common.selection import Selection

    (fast, fs), (slow, _) = runs["fast"], runs["slow"]
    with Client(stack.base_url, token=stack.tokens["viewer"]) as pw:
        got = pw.load(fast, ["VNData:vn_vel.*", "ACU_data:cell_voltages"], start=60, end=90)
        frames = pw.load(fast, "VNData:vn_vel.x", start=60, end=90, pandas=True)
        cmp = pw.compare([(fast, 2), (slow, 2)], [SPEED], points=300)
    # The values the car logged in the window, decoded here straight from the file.
    rec = read_recording(fs.path, selection=Selection(topics="^VNData$", start_s=60, end_s=90))
    vn = rec.topics["VNData"]
    t = (vn.log_time_ns - read_recording(fs.path).origin_ns) / 1e9
    assert set(got["VNData"]) >= {"t", "vn_vel.x", "vn_vel.y", "vn_vel.z"}
    np.testing.assert_array_equal(got["VNData"]["t"], t)
    for axis in "xyz":
        np.testing.assert_array_equal(got["VNData"][f"vn_vel.{axis}"], vn.signals[f"vn_vel.{axis}"].values)
    assert got["VNData"]["vn_vel.x"].dtype == vn.signals["vn_vel.x"].values.dtype
    cells = got["ACU_data"]["cell_voltages"]
    assert cells.ndim == 2 and cells.shape[1] > 100 and 2.5 < cells.mean() < 4.3, "repeated field as N x K"
    frame = frames["VNData"]
    assert list(frame.columns) == ["vn_vel.x"] and frame.index.name == "t"
    np.testing.assert_array_equal(frame["vn_vel.x"].to_numpy(), vn.signals["vn_vel.x"].values)
    assert cmp.grid.shape == (300,) and cmp.delta[1][-1] == pytest.approx(cmp.laps[1]["time_s"] - cmp.laps[0]["time_s"])
    long = cmp.to_pandas()
    assert len(long) == 600 and set(long["lap"]) == {lap["label"] for lap in cmp.laps} and SPEED in long


def test_compared_signals_carry_units_and_answer_to_a_renamed_key(
    stack: Api, runs: dict[str, tuple[str, SynthSummary]]
) -> None:
    dbc = (b'VERSION ""\n\nBU_: CAR\n\nBO_ 1 VNData: 8 CAR\n SG_ x : 0|16@1+ (1,0) [0|100] "m/s" CAR\n\n'
           b'BO_ 2 PedalsData: 8 CAR\n SG_ accel_percent : 0|8@1+ (1,0) [0|100] "%" CAR\n')
    renamed = "PedalsData:throttle_percent"
    with stack.client("editor") as c:
        require_ok(c.post("/api/v1/catalogue/sources", files={"file": ("car.dbc", dbc)}), 202)
        require_ok(c.put("/api/v1/catalogue/signals/PedalsData:accel_percent", json={"renamed_to": renamed}), 202)
    (fast, _), (slow, _) = runs["fast"], runs["slow"]
    laps = f"{fast}:2,{slow}:2"
    # A key no lap has is a note, not an error: wait for the catalogue to be applied.
    def described() -> Any:
        b = compare(stack, laps=laps, signals=f"{SPEED},{renamed}", points=200)
        return b if len(b["signals"]) == 2 and all(s.get("unit") for s in b["signals"]) else None

    body = wait_for(described, "the source and the rename", timeout=30)
    units = {s["key"]: s.get("unit") for s in body["signals"]}
    assert units == {SPEED: "m/s", renamed: "%"}
    before = compare(stack, laps=laps, signals="PedalsData:accel_percent", points=200)
    for lap, old in zip(body["laps"], before["laps"], strict=True):
        assert lap["signals"][renamed] == old["signals"]["PedalsData:accel_percent"]
