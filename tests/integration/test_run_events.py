"""Events on runs on the real stack: query_api, ingest and a converter on MongoDB,
RabbitMQ and S3. Two synth runs uploaded through the API: one whose BMS enters its
FAULT state (ingest's shipped rules must mark it), one without."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.io
from helpers.api import Api, require_ok
from helpers.with_ingest import (
    publish,
    start_api_with_ingest_and_converter,
    wait_for,
)
from testsupport.services import start_service

from pitwall.common.events import RunCommand
from pitwall.common.settings import Settings
from pitwall.synth import write_synth

pytestmark = pytest.mark.stack

BMS_PERIOD_S = 0.1  # bms_status_data is sent at 10 Hz


@pytest.fixture(scope="module")
def stack(
    settings: Settings, service_env: dict[str, str], endpoints: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    yield from start_api_with_ingest_and_converter(settings, service_env, endpoints,
                                                   tmp_path_factory.mktemp("events-logs"), "events")


@pytest.fixture(scope="module")
def runs(stack: Api, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    folder = tmp_path_factory.mktemp("events-synth")
    fault = write_synth(folder / "fault.mcap", minutes=1.0, seed=21, fault_at=20.0)
    plain = write_synth(folder / "plain.mcap", minutes=0.5, seed=22)
    ids = {}
    with stack.client("uploader") as c:
        for name, summary in (("fault", fault), ("plain", plain)):
            with open(summary.path, "rb") as fh:
                ids[name] = require_ok(c.post("/api/v1/uploads", files={"file": (summary.path.name, fh)}), 202)["id"]
    with stack.client("viewer") as c:
        for run_id in ids.values():
            wait_for(lambda r=run_id: c.get(f"/api/v1/runs/{r}").status_code == 200, "the run", timeout=120)
    return {**ids, "fault_window": fault.fault_window_s}


def _events(api: Api, run_id: str) -> list[dict[str, Any]]:
    with api.client("viewer") as c:
        return require_ok(c.get(f"/api/v1/runs/{run_id}/events"))["events"]


def _found(api: Api, **params: Any) -> list[str]:
    with api.client("viewer") as c:
        return [r["id"] for r in require_ok(c.get("/api/v1/runs", params=params))["items"]]


def test_ingest_marks_the_bms_fault_with_its_window(stack: Api, runs: dict[str, Any]) -> None:
    (event,) = _events(stack, runs["fault"])
    lo, hi = runs["fault_window"]
    assert (event["kind"], event["source"], event["rule"]) == ("fault", "rule", "state-fault")
    assert event["note"] == "bms_status_data: state entered BMS_STATE_FAULT"
    assert abs(event["start_s"] - lo) <= BMS_PERIOD_S and abs(event["end_s"] - hi) <= BMS_PERIOD_S
    assert _events(stack, runs["plain"]) == []
    assert _found(stack, event="fault") == [runs["fault"]]


def test_mark_find_and_remove_an_event(stack: Api, runs: dict[str, Any]) -> None:
    run_id = runs["plain"]
    with stack.client("editor") as c:
        lockup = {"kind": "lockup", "start_s": 5, "end_s": 8.5, "note": "front left, T3"}
        accepted = require_ok(c.post(f"/api/v1/runs/{run_id}/events", json=lockup), 202)
    assert accepted["action"] == "add_event" and accepted["run_id"] == run_id
    event = wait_for(lambda: next((e for e in _events(stack, run_id) if e["id"] == accepted["event_id"]), None),
                     "the event")
    assert (event["kind"], event["start_s"], event["end_s"], event["note"]) == ("lockup", 5.0, 8.5, "front left, T3")
    assert (event["source"], event["created_by"]) == ("user", "test-editor")

    # Found by kind, by a word of the note, by a word's start; not the other run.
    assert _found(stack, event="lockup") == [run_id]
    assert _found(stack, event="LOCK t3") == [run_id]
    assert _found(stack, event="lockup fault") == []
    assert _found(stack, event="lockup", q="fault") == []

    # The same event sent again (a retried request, a new command) stays one event.
    again = RunCommand(run_id=run_id, action="add_event", changes={**event, "note": "again"}, actor="test-editor")
    publish(stack.settings, again)
    wait_for(lambda: stack.db["processed"].find_one({"_id": again.event_id}), "the repeated command", timeout=30)
    assert [e["note"] for e in _events(stack, run_id)] == ["front left, T3"]

    with stack.client("editor") as c:
        gone = require_ok(c.delete(f"/api/v1/runs/{run_id}/events/{event['id']}"), 202)
    assert gone["action"] == "remove_event"
    wait_for(lambda: _events(stack, run_id) == [], "the event to go")
    assert _found(stack, event="lockup") == []
    history = [h["action"] for h in stack.db["runs"].find_one({"_id": run_id})["history"]]
    assert history.count("add_event") == 1 and history[-1] == "remove_event"


def test_an_export_cut_to_an_event_covers_exactly_its_window(stack: Api, runs: dict[str, Any]) -> None:
    run_id = runs["fault"]
    (event,) = _events(stack, run_id)
    with stack.client("viewer") as c:
        body = {"runs": [run_id], "event": event["id"], "signals": ["bms_status_data:state", "VNData:vn_vel.x"]}
        job = require_ok(c.post("/api/v1/exports", json=body), 202)
        assert (job["start"], job["end"], job["event"]) == (event["start_s"], event["end_s"], event["id"])
        status = wait_for(lambda: (s := require_ok(c.get(job["status_url"])))["status"] in ("done", "failed") and s,
                          "the export", timeout=120)
        assert status["status"] == "done", status.get("reason")
        mat = scipy.io.loadmat(io.BytesIO(c.get(status["file_url"]).raise_for_status().content), squeeze_me=True)
    bms = mat["bms_status_data"]
    t, state = np.atleast_1d(bms["t"].item()), np.atleast_1d(bms["state"].item())
    # Both ends are samples of the event (it starts and ends on a sample in the fault state).
    assert t[0] == pytest.approx(event["start_s"], abs=1e-6) and t[-1] == pytest.approx(event["end_s"], abs=1e-6)
    assert set(state.tolist()) == {3}  # BMS_STATE_FAULT throughout
    vn_t = np.atleast_1d(mat["VNData"]["t"].item())
    assert vn_t.min() >= event["start_s"] - 1e-6 and vn_t.max() <= event["end_s"] + 1e-6


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"kind": "cone", "start_s": 8, "end_s": 5}, "end_s"),
        ({"kind": "cone", "start_s": 1, "end_s": 1e5}, "end_s"),  # past the run's end
        ({"kind": "", "start_s": 1, "end_s": 2}, "kind"),
        ({"kind": "x" * 41, "start_s": 1, "end_s": 2}, "kind"),
        ({"kind": "cone", "start_s": 1, "end_s": 2, "note": "n" * 501}, "note"),
        ({"kind": "cone", "start_s": -1, "end_s": 2}, "start_s"),
        ({"kind": "cone", "start_s": 1, "end_s": 2, "colour": "red"}, "colour"),
    ],
)
def test_bad_events_are_refused_with_the_field(stack: Api, runs: dict[str, Any], body: dict[str, Any],
                                               field: str) -> None:
    with stack.client("editor") as c:
        r = c.post(f"/api/v1/runs/{runs['plain']}/events", json=body)
    assert r.status_code == 422, r.text
    assert any(d["loc"][-1] == field for d in r.json()["detail"]), r.text


def test_unknown_runs_events_and_bad_export_cuts(stack: Api, runs: dict[str, Any]) -> None:
    with stack.client("editor") as c:
        r = c.post(f"/api/v1/runs/{'0' * 64}/events", json={"kind": "cone", "start_s": 1, "end_s": 2})
        assert r.status_code == 404 and "no run" in r.json()["detail"]
        r = c.delete(f"/api/v1/runs/{runs['plain']}/events/{'a' * 32}")
        assert r.status_code == 404 and "has no event" in r.json()["detail"]
        r = c.post("/api/v1/exports", json={"runs": [runs["plain"]], "event": "a" * 32})
        assert r.status_code == 422 and "has no event" in r.text
        r = c.post("/api/v1/exports", json={"runs": [runs["plain"], runs["fault"]], "event": "a" * 32})
        assert r.status_code == 422 and "one run" in r.text
        r = c.post("/api/v1/exports", json={"runs": [runs["plain"]], "event": "a" * 32, "start": 1})
        assert r.status_code == 422 and "leave start and end out" in r.text
        r = c.get("/api/v1/runs", params={"event": "a"})
        assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["query", "event"]


def test_a_bad_rule_file_stops_ingest_naming_the_rule(stack: Api, service_env: dict[str, str], tmp_path: Path) -> None:
    from pitwall.devstack.endpoints import settings_env

    rules = tmp_path / "rules.toml"
    rules.write_text('[[rule]]\nname = "hot-motor"\nkind = "overtemp"\ntype = "limit"\nsignal = "*:motor_temp"\n')
    env = dict(service_env) | settings_env(stack.settings) | {"PITWALL_EVENT_RULES": str(rules)}
    ingest = start_service("ingest", env, tmp_path / "ingest.log", wait=False)  # it must stop, never be ready
    try:
        wait_for(lambda: not ingest.alive, "ingest to stop", timeout=60)
    finally:
        ingest.stop()
    assert ingest.returncode not in (0, None)
    assert f"event rules {rules}: rule 1 ('hot-motor'): " in ingest.log()
    assert "needs `above` or `below`" in ingest.log()
