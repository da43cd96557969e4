"""Base station heartbeats on the real stack: POST /stations/status → station.status →
ingest keeps the newest per station → GET /stations."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from helpers.api import Api, require_ok
from helpers.with_ingest import publish, start_api_with_ingest, wait_for

from pitwall.common.events import StationStatus
from pitwall.common.settings import Settings
from pitwall.query_api.models import StationReport

pytestmark = pytest.mark.stack

SERVER_SET = {"schema_version", "event_id", "occurred_at", "reported_by"}


@pytest.fixture(scope="module")
def api(
    settings: Settings, service_env: dict[str, str], endpoints: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Api]:
    for a, _ingest in start_api_with_ingest(settings, service_env, endpoints,
                                            tmp_path_factory.mktemp("api-stations"), "stations"):
        yield a


def report(station_id: str, **overrides: Any) -> dict[str, Any]:
    return {
        "station_id": station_id, "hostname": "pit-laptop", "version": "0.1.0", "interval_s": 10.0,
        "cloud_reachable": True,
        "sources": [{"source_id": "car-25", "kind": "sftp", "reachable": True, "pending": 2}],
        "states": {"seen": 3, "uploading": 1, "confirmed": 40}, "pending_on_car": 2, "on_station": 1,
        "uploading": 1, "awaiting_confirmation": 0, "bytes_to_upload": 123_456_789, "failing": 0,
        "last_error": None, "last_error_at": None, **overrides,
    }


def stations(api: Api) -> dict[str, dict[str, Any]]:
    with api.client("viewer") as c:
        listed = require_ok(c.get("/api/v1/stations"))["stations"]
    assert [s["station_id"] for s in listed] == sorted(s["station_id"] for s in listed)
    return {s["station_id"]: s for s in listed}


def test_the_report_model_is_the_event_without_server_fields() -> None:
    assert set(StationReport.model_fields) == set(StationStatus.model_fields) - SERVER_SET
    # Anything the gateway accepts is a valid event.
    StationStatus(**StationReport.model_validate(report("pit-a")).model_dump(), reported_by="x")


def test_a_heartbeat_is_listed_with_its_station_online(api: Api) -> None:
    before = datetime.now(UTC)
    with api.client("uploader") as c:
        accepted = require_ok(c.post("/api/v1/stations/status", json=report("pit-a", last_error="sftp: timeout",
                                                                          last_error_at="2026-05-01T10:00:00Z")), 202)
    seen = wait_for(lambda: stations(api).get("pit-a"), "the station in GET /stations")
    expected = report("pit-a", last_error="sftp: timeout")
    del expected["last_error_at"]
    expected["sources"][0]["last_error"] = None
    assert {k: seen[k] for k in expected} == expected
    assert datetime.fromisoformat(seen["last_error_at"]) == datetime(2026, 5, 1, 10, tzinfo=UTC)
    assert seen["online"] is True and seen["reported_by"] == "test-uploader"
    assert before - timedelta(seconds=1) <= datetime.fromisoformat(seen["last_seen"]) <= datetime.now(UTC)
    doc = api.db["stations"].find_one({"_id": "pit-a"})
    assert doc["status"]["event_id"] == accepted["event_id"]
    # Heartbeats are not remembered by the idempotency store (they come every few seconds).
    assert api.db["processed"].find_one({"_id": accepted["event_id"]}) is None


def test_a_late_older_report_does_not_overwrite_a_newer_one(api: Api) -> None:
    now = datetime.now(UTC)
    newer = StationStatus(occurred_at=now, reported_by="t", **report("pit-b", on_station=5))
    older = StationStatus(occurred_at=now - timedelta(seconds=30), reported_by="t", **report("pit-b", on_station=99))
    publish(api.settings, newer)
    wait_for(lambda: stations(api).get("pit-b"), "pit-b")
    # The older one arrives late (a redelivery), then a marker shows it was handled.
    publish(api.settings, older, StationStatus(reported_by="t", **report("pit-marker")))
    wait_for(lambda: "pit-marker" in stations(api), "the marker")
    kept = stations(api)["pit-b"]
    assert kept["on_station"] == 5
    sent_ms = newer.occurred_at.replace(microsecond=newer.occurred_at.microsecond // 1000 * 1000)
    assert datetime.fromisoformat(kept["last_seen"]) == sent_ms
    # A newer one through the API replaces it.
    with api.client("uploader") as c:
        require_ok(c.post("/api/v1/stations/status", json=report("pit-b", on_station=7)), 202)
    wait_for(lambda: stations(api)["pit-b"]["on_station"] == 7, "the newer report")


def test_a_silent_station_is_offline(api: Api) -> None:
    old = datetime.now(UTC) - timedelta(seconds=40)  # 4 intervals of 10 s
    publish(api.settings, StationStatus(occurred_at=old, **report("pit-quiet")))
    quiet = wait_for(lambda: stations(api).get("pit-quiet"), "pit-quiet")
    assert quiet["online"] is False


def test_bad_reports_and_roles(api: Api) -> None:
    with api.client("uploader") as c:
        for bad in (
            report("bad id"), report("pit-x", interval_s=0), report("pit-x", states={"a.b": 1}),
            report("pit-x", states={"$set": 1}), report("pit-x", bytes_to_upload=2**63), report("pit-x", failing=-1),
            report("pit-x", sources=[{"source_id": "c", "kind": "ftp", "reachable": True}]),
            report("pit-x", occurred_at="2020-01-01T00:00:00Z"), report("pit-x", reported_by="someone else"),
            report("pit-x", last_error="x" * 501),
        ):
            r = c.post("/api/v1/stations/status", json=bad)
            assert r.status_code == 422, (bad, r.text)
        r = c.post("/api/v1/stations/status",
                   content=b'{"station_id": "pit-x", "interval_s": 5, "hostname": "\\ud800"}',
                   headers={"content-type": "application/json"})
        assert r.status_code == 422, r.text
    with api.client("viewer") as c:
        assert c.post("/api/v1/stations/status", json=report("pit-x")).status_code == 403
        assert c.get("/api/v1/stations").status_code == 200
    with api.client(None) as c:
        assert c.get("/api/v1/stations").status_code == 401
    assert "pit-x" not in stations(api)
