"""Math channel definitions on the real stack (query_api and ingest on MongoDB and RabbitMQ):
defined, listed, changed (versioned, audited), deleted; bad expressions refused with their
position and nothing stored."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
from helpers.api import Api, require_ok
from helpers.with_ingest import start_api_with_ingest, wait_for

from pitwall.common.settings import Settings

pytestmark = pytest.mark.stack

BIAS = "[brakes:front] / ([brakes:front] + [brakes:rear])"


@pytest.fixture(scope="module")
def stack(
    settings: Settings, service_env: dict[str, str], endpoints: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    for api, _ingest in start_api_with_ingest(settings, service_env, endpoints,
                                              tmp_path_factory.mktemp("math-logs"), "math"):
        yield api


def _names(api: Api) -> list[str]:
    with api.client("viewer") as c:
        return [m["name"] for m in require_ok(c.get("/api/v1/channels/math"))["items"]]


def _one(api: Api, name: str) -> dict[str, Any] | None:
    with api.client("viewer") as c:
        r = c.get(f"/api/v1/channels/math/{name}")
        return r.json() if r.status_code == 200 else None


def test_define_change_and_delete_a_channel(stack: Api) -> None:
    with stack.client("editor") as c:
        made = require_ok(c.post("/api/v1/channels/math", json={
            "name": "brake_bias", "expression": BIAS, "unit": "", "description": "front share of brake pressure"}), 201)
    assert made["key"] == "math:brake_bias" and made["references"] == ["brakes:front", "brakes:rear"]
    stored = wait_for(lambda: _one(stack, "brake_bias"), "the channel")
    assert (stored["expression"], stored["version"], stored["created_by"]) == (BIAS, 1, "test-editor")
    with stack.client("editor") as c:
        again = c.post("/api/v1/channels/math", json={"name": "brake_bias", "expression": "[a:b]"})
        assert again.status_code == 409
        require_ok(c.put("/api/v1/channels/math/brake_bias", json={"expression": f"100 * {BIAS}", "unit": "%"}), 202)
    changed = wait_for(lambda: (m := _one(stack, "brake_bias")) and m["version"] == 2 and m, "the change")
    assert changed["unit"] == "%" and [h["action"] for h in changed["history"]] == ["create", "update"]
    assert changed["history"][1]["before"]["expression"] == BIAS
    # A channel using another: the used one cannot go while it is used.
    with stack.client("editor") as c:
        require_ok(c.post("/api/v1/channels/math", json={"name": "bias_pct", "expression": "[math:brake_bias] * 2"}),
                   201)
        wait_for(lambda: "bias_pct" in _names(stack), "the second channel")
        used = c.delete("/api/v1/channels/math/brake_bias")
        assert used.status_code == 422 and "math:bias_pct" in used.text
        require_ok(c.delete("/api/v1/channels/math/bias_pct"), 202)
        wait_for(lambda: "bias_pct" not in _names(stack), "the delete")
        require_ok(c.delete("/api/v1/channels/math/brake_bias"), 202)
    wait_for(lambda: _names(stack) == [], "both gone")
    assert _one(stack, "brake_bias") is None


@pytest.mark.parametrize(("expression", "says", "position"), [
    ("[a:b] +", "", 7),
    ("nosuch([a:b])", "nosuch", 0),
    ("clip([a:b], 1)", "clip", 0),
    ("__import__('os')", "", 0),
    ("[a:b].__class__", "", 5),
    ("[math:missing] + 1", "missing", None),
])
def test_bad_expressions_are_refused_with_their_position_and_nothing_is_stored(
    stack: Api, expression: str, says: str, position: int | None
) -> None:
    with stack.client("editor") as c:
        r = c.post("/api/v1/channels/math", json={"name": "bad", "expression": expression})
    assert r.status_code == 422, r.text
    [error] = r.json()["detail"]
    assert error["loc"] == ["body", "expression"] and "\n" not in error["msg"] and says in error["msg"]
    if position is not None:
        assert f"position {position}" in error["msg"]
    assert "bad" not in _names(stack)


def test_a_cycle_is_refused_and_a_viewer_may_not_define(stack: Api) -> None:
    with stack.client("editor") as c:
        require_ok(c.post("/api/v1/channels/math", json={"name": "one", "expression": "[a:b] + 1"}), 201)
        wait_for(lambda: "one" in _names(stack), "the channel")
        require_ok(c.post("/api/v1/channels/math", json={"name": "two", "expression": "[math:one] * 2"}), 201)
        wait_for(lambda: "two" in _names(stack), "the second channel")
        cycle = c.put("/api/v1/channels/math/one", json={"expression": "[math:two] + 1"})
        assert cycle.status_code == 422 and "cycle" in cycle.text.lower()
    assert _one(stack, "one")["expression"] == "[a:b] + 1"  # type: ignore[index]
    with stack.client("viewer") as c:
        assert c.post("/api/v1/channels/math", json={"name": "x", "expression": "[a:b]"}).status_code == 403


# -- values ------------------------------------------------------------------------------
SPEED, PEDAL, BRAKE, STATE = "VNData:vn_vel.x", "PedalsData:accel_percent", "PedalsData:brake_percent", \
    "mcu_status_data:mcu_state"


@pytest.fixture(scope="module")
def run(stack: Api, tmp_path_factory: pytest.TempPathFactory) -> str:
    from pitwall.synth import write_synth

    made = write_synth(tmp_path_factory.mktemp("math-run") / "math.mcap", minutes=0.5, seed=8)
    with stack.client("uploader") as c:
        run_id: str = require_ok(c.post("/api/v1/uploads", files={"file": ("math.mcap", made.path.read_bytes())}),
                                 202)["id"]
    with stack.client("viewer") as c:
        wait_for(lambda: c.get(f"/api/v1/runs/{run_id}").status_code == 200, "the run", timeout=120)
    return run_id


def _raw(api: Api, run_id: str, key: str) -> tuple[np.ndarray, np.ndarray, str, dict[int, str]]:
    with api.client("viewer") as c:
        [s] = require_ok(c.get(f"/api/v1/runs/{run_id}/series", params={"signals": key, "max_points": 200_000}))[
            "signals"]
    assert not s["decimated"]
    names = {int(k): v for k, v in (s.get("states") or s.get("enum_names") or {}).items()}
    return np.array(s["t"]), np.array([np.nan if x is None else x for x in s["v"]]), s["kind"], names


def _at(base: np.ndarray, t: np.ndarray, v: np.ndarray, kind: str) -> np.ndarray:
    """The README's alignment, written here independently: linear for floats, the last value
    for the rest, NaN outside the signal's own first..last sample."""
    if kind in ("double", "single"):
        out = np.interp(base, t, v)
    else:
        out = v[np.clip(np.searchsorted(t, base, side="right") - 1, 0, None)].astype(float)
    out[(base < t[0]) | (base > t[-1])] = np.nan
    return out


def _math(api: Api, run_id: str, name: str, expression: str) -> tuple[np.ndarray, np.ndarray]:
    with api.client("editor") as c:
        require_ok(c.post("/api/v1/channels/math", json={"name": name, "expression": expression, "unit": "u"}), 201)
    wait_for(lambda: name in _names(api), f"math:{name}")
    with api.client("viewer") as c:
        [s] = require_ok(c.get(f"/api/v1/runs/{run_id}/series",
                               params={"signals": f"math:{name}", "max_points": 200_000}))["signals"]
    assert not s["decimated"] and s["unit"] == "u" and s["key"] == f"math:{name}"
    return np.array(s["t"]), np.array([np.nan if x is None else x for x in s["v"]])


def _same(got: np.ndarray, want: np.ndarray) -> None:
    assert got.shape == want.shape
    assert np.array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    np.testing.assert_allclose(got[ok], want[ok], rtol=1e-9, atol=1e-12)


def test_series_of_math_channels_equal_numpy_on_the_raw_signals(stack: Api, run: str) -> None:
    from scipy.integrate import cumulative_trapezoid

    ts, vs, _, _ = _raw(stack, run, SPEED)
    tp, vp, _, _ = _raw(stack, run, PEDAL)
    tb, vb, kb, _ = _raw(stack, run, BRAKE)
    tm, vm, km, names = _raw(stack, run, STATE)
    ready = next(c for c, n in names.items() if n.endswith("READY_TO_DRIVE"))

    t, v = _math(stack, run, "kmh", f"[{SPEED}] * 3.6")
    _same(t, ts), _same(v, vs * 3.6)
    t, v = _math(stack, run, "accel_rate", f"deriv([{SPEED}])")
    _same(v, np.gradient(vs, ts))
    t, v = _math(stack, run, "metres", f"integ([{SPEED}])")
    _same(v, cumulative_trapezoid(vs, ts, initial=0))
    # Two signals of one rate: the first referenced is the time base, the other interpolated.
    t, v = _math(stack, run, "both", f"[{SPEED}] + [{BRAKE}]")
    _same(t, ts), _same(v, vs + _at(ts, tb, vb, kb))
    # A state compared by name, held at the pedal's times (the pedal has more samples).
    name = names[ready]
    t, v = _math(stack, run, "driving_pedal", f'where([{STATE}] == "{name}", [{PEDAL}], 0)')
    state = _at(tp, tm, vm, km)
    want = np.where(state == ready, vp, 0.0)
    want[np.isnan(state)] = np.nan
    _same(t, tp), _same(v, want)
    t, v = _math(stack, run, "smooth_pedal", f"smooth([{PEDAL}], 0.5)")
    want = np.array([vp[np.abs(tp - x) <= 0.25].mean() for x in tp])
    _same(v, want)


def test_a_channel_a_run_cannot_give_is_a_422_with_the_reason(stack: Api, run: str) -> None:
    with stack.client("editor") as c:
        require_ok(c.post("/api/v1/channels/math", json={"name": "nope", "expression": "[NoTopic:x] + 1"}), 201)
    wait_for(lambda: "nope" in _names(stack), "math:nope")
    with stack.client("viewer") as c:
        r = c.get(f"/api/v1/runs/{run}/series", params={"signals": "math:nope"})
        assert r.status_code == 422 and "NoTopic:x" in r.text
        r = c.get(f"/api/v1/runs/{run}/series", params={"signals": "math:never_defined"})
        assert r.status_code == 422 and "never_defined" in r.text
