"""Exports through the real query_api: the request on the bus, status, progress events, file.

Job documents are written here the way ingest writes them from conversion.* events (the
test plays ingest and the converter), so each state is checked exactly.
"""

from __future__ import annotations

import json
import queue
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from helpers.api import T0_NS, Api, EventTap, insert_run, recording, require_ok, sha_of, start_api
from testsupport.waiting import wait_for

from pitwall.common.contracts import mongo
from pitwall.common.events import ConversionRequested, FileUploaded
from pitwall.common.settings import Settings
from pitwall.common.storage import ObjectStore
from pitwall.ingest.documents import rejected_document
from pitwall.query_api import jobids

pytestmark = pytest.mark.stack


@pytest.fixture(scope="module")
def api(settings: Settings, service_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    yield from start_api(settings, dict(service_env), tmp_path_factory.mktemp("api-exp"), "exports")


@pytest.fixture(scope="module")
def runs(api: Api) -> dict[str, str]:
    a = insert_run(api, recording(T0_NS), "endurance 1.mcap")["_id"]
    b = insert_run(api, recording(T0_NS + 10**12), "endurance 2.mcap")["_id"]
    gone = insert_run(api, recording(T0_NS + 2 * 10**12), "gone.mcap", deleted=True)["_id"]
    sha = sha_of("junk")
    api.db[mongo.RUNS].insert_one(
        rejected_document(FileUploaded(sha256=sha, object_key=f"mcap/{sha}.mcap", size=1, filename="junk.bin"),
                          "not MCAP")
    )
    return {"a": a, "b": b, "deleted": gone, "rejected": sha}


def test_request_is_published_with_what_the_converter_needs(api: Api, runs: dict[str, str]) -> None:
    tap = EventTap(api.settings, "conversion.requested")
    try:
        body = {
            "runs": [runs["a"], runs["b"], runs["a"]], "signals": ["VNData:vn_vel.*", "*:motor_temp"],
            "topics": "^(VN|MCU)",
            "start": 2.5, "end": 20, "resample_hz": 50, "interp": "linear", "format": "mat73", "layout": "pairs",
        }
        with api.client("viewer") as c:
            accepted = require_ok(c.post("/api/v1/exports", json=body), 202)
            status = require_ok(c.get(accepted["status_url"]))
        event = tap.get()
    finally:
        tap.close()
    assert isinstance(event, ConversionRequested) and event.job_id == accepted["id"]
    assert event.runs == [runs["a"], runs["b"]]  # once each, in the order asked
    assert (event.signals, event.topics, event.start_s, event.end_s) == (body["signals"], "^(VN|MCU)", 2.5, 20.0)
    assert (event.resample_hz, event.interp, event.format, event.layout) == (50.0, "linear", "mat73", "pairs")
    assert event.filenames == {runs["a"]: "endurance 1.mcap", runs["b"]: "endurance 2.mcap"}
    assert event.requested_by == "test-viewer"
    # Not recorded by ingest yet (none runs here): a fresh id is queued, not unknown.
    assert status["status"] == "queued" and status["progress"] == 0.0 and status["download_url"] is None


@pytest.mark.parametrize(
    ("body", "code", "field"),
    [
        ({"runs": []}, 422, "runs"),
        ({"runs": ["not-a-sha"]}, 422, "runs"),
        ({"runs": "RUN_A"}, 422, "runs"),
        ({"runs": ["RUN_A"], "format": "xlsx"}, 422, "format"),
        ({"runs": ["RUN_A"], "interp": "cubic"}, 422, "interp"),
        ({"runs": ["RUN_A"], "layout": "flat"}, 422, "layout"),
        ({"runs": ["RUN_A"], "resample_hz": 0}, 422, "resample_hz"),
        ({"runs": ["RUN_A"], "start": 10, "end": 5}, 422, "end"),
        ({"runs": ["RUN_A"], "start": -1}, 422, "start"),
        ({"runs": ["RUN_A"], "topics": "(unclosed"}, 422, "topics"),
        ({"runs": ["RUN_A"], "colour": "red"}, 422, "colour"),
        ({"runs": ["RUN_REJECTED"]}, 422, "runs"),
        ({"runs": ["RUN_A", sha_of("never")]}, 404, None),
        ({"runs": ["RUN_DELETED"]}, 404, None),
    ],
)
def test_bad_export_requests(api: Api, runs: dict[str, str], body: dict[str, Any], code: int,
                             field: str | None) -> None:
    text = (json.dumps(body).replace("RUN_A", runs["a"]).replace("RUN_REJECTED", runs["rejected"])
            .replace("RUN_DELETED", runs["deleted"]))
    with api.client("viewer") as c:
        r = c.post("/api/v1/exports", content=text, headers={"content-type": "application/json"})
    assert r.status_code == code, r.text
    if field:
        assert any(field in err["loc"] for err in r.json()["detail"]), r.text


def _job(api: Api, job_id: str, **fields: Any) -> None:
    now = datetime.now(UTC)
    api.db[mongo.JOBS].update_one(
        {"_id": job_id}, {"$set": {"updated_at": now, **fields}, "$setOnInsert": {"created_at": now}}, upsert=True
    )


def test_status_through_a_jobs_life(api: Api) -> None:
    job = jobids.new_job_id()
    store = ObjectStore(api.settings)
    store.ensure_buckets()
    key = f"exports/{job}/endurance_1.mat"
    store.put_bytes(api.settings.bucket_exports, key, b"MATLAB 5.0 MAT-file" + bytes(500))
    with api.client("viewer") as c:
        _job(api, job, status="queued", progress=0.0)
        assert require_ok(c.get(f"/api/v1/exports/{job}"))["status"] == "queued"
        _job(api, job, status="running", progress=0.4, stage="reading run 1/1")
        st = require_ok(c.get(f"/api/v1/exports/{job}"))
        assert (st["status"], st["progress"], st["stage"], st["download_url"]) == ("running", 0.4, "reading run 1/1",
                                                                                   None)
        assert c.get(f"/api/v1/exports/{job}/file").status_code == 404
        _job(api, job, status="done", progress=1.0, result_key=key, size=519, cached=False,
             finished_at=datetime.now(UTC))
        st = require_ok(c.get(f"/api/v1/exports/{job}"))
        assert (st["status"], st["progress"], st["filename"], st["size"]) == ("done", 1.0, "endurance_1.mat", 519)
        direct = httpx.get(st["download_url"], timeout=30)
        proxied = c.get(st["file_url"])
    assert direct.status_code == 200 and direct.content.startswith(b"MATLAB 5.0") and len(direct.content) == 519
    assert proxied.status_code == 200 and proxied.content == direct.content

    failed = jobids.new_job_id()
    _job(api, failed, status="failed", progress=0.2, error="the selection matches no signal in endurance_1")
    with api.client("viewer") as c:
        st = require_ok(c.get(f"/api/v1/exports/{failed}"))
    assert st["status"] == "failed" and st["reason"] == "the selection matches no signal in endurance_1"


def test_unknown_exports_are_404(api: Api) -> None:
    old = jobids.new_job_id(now=time.time() - 3600)  # well past the grace of a fresh id
    with api.client("viewer") as c:
        for job_id in (old, "nope", "0" * 31 + "g"):
            assert c.get(f"/api/v1/exports/{job_id}").status_code == 404
            assert c.get(f"/api/v1/exports/{job_id}/events").status_code == 404


def test_progress_as_server_sent_events(api: Api) -> None:
    job = jobids.new_job_id()
    _job(api, job, status="queued", progress=0.0)

    events: list[tuple[str, dict[str, Any]]] = []
    broke: list[BaseException] = []
    closed = threading.Event()  # the stream ended early (a failure): the converter stops waiting

    def seen(progress: float) -> bool:
        if closed.is_set():
            raise AssertionError("the stream ended before the job did")
        return any(e.get("progress") == progress for _, e in list(events))

    def converter() -> None:
        # Each step is written once the stream has shown the one before (the server polls the
        # job every POLL_S): no step is overwritten before it could be seen, however slow the machine.
        try:
            for before, p in ((0.0, 0.25), (0.25, 0.5), (0.5, 0.75)):
                wait_for(lambda before=before: seen(before), f"progress {before} on the stream", timeout=30)
                _job(api, job, status="running", progress=p, stage=f"step {p}")
            wait_for(lambda: seen(0.75), "progress 0.75 on the stream", timeout=30)
            _job(api, job, status="done", progress=1.0, result_key=f"exports/{job}/x.mat", size=3)
        except BaseException as exc:  # ends the stream (a failed job), then fails the test below
            broke.append(exc)
            _job(api, job, status="failed", error="the test's converter broke")

    worker = threading.Thread(target=converter)
    worker.start()
    try:
        with api.client("viewer") as c, c.stream("GET", f"/api/v1/exports/{job}/events", timeout=30) as r:
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
            name = None
            for line in r.iter_lines():
                if line.startswith("event:"):
                    name = line.split(":", 1)[1].strip()
                elif line.startswith("data:") and name:
                    events.append((name, json.loads(line.split(":", 1)[1])))
                    name = None
    finally:
        closed.set()
        worker.join()
    if broke:
        raise broke[0]
    names = [n for n, _ in events]
    progress = [e["progress"] for _, e in events]
    assert names[0] == "progress" and names[-1] == "done" and names.count("done") == 1
    assert progress == sorted(progress) and progress[0] == 0.0 and progress[-1] == 1.0
    assert {0.25, 0.5, 0.75} <= set(progress)
    assert events[-1][1]["file_url"] == f"/api/v1/exports/{job}/file"


# -- issue 21.8: exports say what they are ---------------------------------------------------


def _refused(api: Api, body: dict[str, Any]) -> dict[str, Any]:
    with api.client("viewer") as c:
        r = c.post("/api/v1/exports", json=body)
    assert r.status_code == 422, r.text
    (error,) = r.json()["detail"]
    return error


def test_a_glob_that_matches_no_signal_is_refused_by_name(api: Api, runs: dict[str, str]) -> None:
    tap = EventTap(api.settings, "conversion.requested")
    try:
        error = _refused(api, {"runs": [runs["a"]], "signals": ["VNData:vn_vel.*", "Foo:*", "motor_tmp"]})
        assert error["loc"] == ["body", "signals"]
        assert error["msg"] == "'Foo:*', 'motor_tmp' match no signal of this run"  # the good glob not named
        error = _refused(api, {"runs": [runs["a"], runs["b"]], "signals": ["BMS:cells.*", "Foo:*"]})
        assert (error["loc"] == ["body", "signals"]
                and error["msg"] == "'Foo:*' matches no signal of any of these 2 runs")
        # A topic regex that lets nothing through is named itself, not every glob after it.
        error = _refused(api, {"runs": [runs["a"]], "topics": "^GPS", "signals": ["*:vn_vel.x"]})
        assert error["loc"] == ["body", "topics"] and error["msg"] == "'^GPS' matches no signal of this run"
        # Nothing was queued for any of them.
        with pytest.raises(queue.Empty):
            tap.get(timeout=1.0)
    finally:
        tap.close()


@pytest.fixture(scope="module")
def endurance(api: Api) -> tuple[str, str]:
    """A run whose setup says what it was: (run id, the name's run part)."""
    start = T0_NS + 3 * 10**12
    doc = insert_run(api, recording(start, setup={"eventType": "Endurance"}), "log_0007.mcap")
    when = datetime.fromtimestamp(start / 1e9, tz=UTC)
    return doc["_id"], f"endurance_{when:%Y-%m-%d_%H%M}"


def _requested(api: Api, body: dict[str, Any]) -> ConversionRequested:
    tap = EventTap(api.settings, "conversion.requested")
    try:
        with api.client("viewer") as c:
            require_ok(c.post("/api/v1/exports", json=body), 202)
        event = tap.get()
    finally:
        tap.close()
    assert isinstance(event, ConversionRequested)
    return event


def test_download_names_tell_runs_selections_and_windows_apart(api: Api, runs: dict[str, str],
                                                               endurance: tuple[str, str]) -> None:
    run_id, run = endurance
    four = _requested(api, {"runs": [run_id], "signals": ["VNData:*", "*:motor_temp"], "start": 2.5, "end": 20})
    assert four.download_name == f"{run}_4sig_2.5-20s" and four.run_names == {run_id: four.download_name}
    one = _requested(api, {"runs": [run_id], "signals": ["VNData:vn_vel.*"], "start": 2.5, "resample_hz": 50})
    assert one.download_name == f"{run}_VNData_1sig_2.5s-end_50Hz"
    both = _requested(api, {"runs": [runs["a"], runs["b"]]})
    assert both.download_name == "pitwall-2-runs_all"
    assert both.run_names == {runs["a"]: "endurance_1_all", runs["b"]: "endurance_2_all"}  # no setup: the file's name
