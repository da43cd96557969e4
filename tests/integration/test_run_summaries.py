"""`run_summaries` in step with `runs` on the real stack (query_api + ingest): what a
user sees in the list right after each write ingest makes, and the start-up backfill."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from helpers.api import T0_NS, Api, recording, require_ok, run_docs
from helpers.with_ingest import start_api_with_ingest, wait_for

from pitwall.common.contracts import mongo
from pitwall.common.settings import Settings
from pitwall.common.summaries import run_summary
from pitwall.devstack.services import ServiceProcess
from pitwall.synth import write_synth

pytestmark = pytest.mark.stack
MAGIC = b"\x89MCAP0\r\n"


@pytest.fixture(scope="module")
def stack(
    settings: Settings, service_env: dict[str, str], endpoints: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Api, ServiceProcess]]:
    yield from start_api_with_ingest(settings, dict(service_env), endpoints, tmp_path_factory.mktemp("summaries"),
                                     "summaries")


def listed(api: Api, role: str = "viewer", **params: Any) -> dict[str, dict[str, Any]]:
    with api.client(role) as c:
        page = require_ok(c.get("/api/v1/runs", params={**params, "limit": 500}))
    return {item["id"]: item for item in page["items"]}


def detail(api: Api, run_id: str) -> dict[str, Any]:
    with api.client("admin") as c:
        return dict(require_ok(c.get(f"/api/v1/runs/{run_id}")))


def same_as_detail(api: Api, item: dict[str, Any]) -> None:
    """A list item says what the run itself says, field for field."""
    full = detail(api, item["id"])
    assert {k: full.get(k) for k in item} == item


def backfill_counts(ingest: ServiceProcess) -> dict[str, int]:
    """The counts the backfill logged in the current life of ingest."""
    life = ingest.log().rsplit(f"start #{ingest.starts} -----", 1)[-1]
    line = next(ln for ln in life.splitlines() if "run summaries checked" in ln)
    found = json.loads(line[line.index("{"):])
    return {k: found[k] for k in ("runs", "created", "rebuilt", "removed")}


def completed(api: Api, command: dict[str, Any]) -> None:
    # Ingest marks an event processed only after handling it: from then on, the list must show it.
    wait_for(lambda: api.db[mongo.PROCESSED].find_one({"_id": command["command_id"]}),
             f"command {command['action']}", 30)


def test_the_list_follows_every_write_of_ingest(stack: tuple[Api, ServiceProcess], tmp_path: Path) -> None:
    api, _ingest = stack
    path = tmp_path / "stint.mcap"
    write_synth(path, minutes=0.05, seed=31)
    with api.client("uploader") as up:
        run_id = require_ok(up.post("/api/v1/uploads", files={"file": ("stint.mcap", path.read_bytes())}), 202)["id"]
        junk = require_ok(up.post("/api/v1/uploads", files={"file": ("junk.mcap", MAGIC + b"no records")}), 202)["id"]

    def both() -> dict[str, dict[str, Any]] | None:
        shown = listed(api)
        return shown if {run_id, junk} <= shown.keys() else None

    runs = wait_for(both, "both runs listed", 60)
    assert runs[junk]["status"] == "rejected" and runs[run_id]["status"] in ("ready", "recovered")
    for item in runs.values():
        same_as_detail(api, item)

    # The same content under another name: one run, its new updated_at in the list too.
    before = detail(api, run_id)["updated_at"]
    with api.client("uploader") as up:
        again = require_ok(up.post("/api/v1/uploads", files={"file": ("stint-copy.mcap", path.read_bytes())}), 202)
    completed(api, {"command_id": again["event_id"], "action": "duplicate upload"})
    item = listed(api)[run_id]
    assert item["updated_at"] != before and len(listed(api)) == 2
    same_as_detail(api, item)

    with api.client("editor") as editor, api.client("admin") as admin:
        patch = {"notes": "Damper clicks swapped", "tags": ["dampers"],
                 "setup": {"driver": "Noor", "track": "Skidpad B"}}
        completed(api, require_ok(editor.patch(f"/api/v1/runs/{run_id}", json=patch), 202))
        item = listed(api, driver="Noor", track="Skidpad B", tag="dampers", q="damper clicks")[run_id]
        assert item["notes"] == patch["notes"] and item["setup"]["driver"] == "Noor"
        same_as_detail(api, item)
        with api.client("viewer") as c:
            assert "Noor" in require_ok(c.get("/api/v1/facets"))["driver"]

        completed(api, require_ok(editor.delete(f"/api/v1/runs/{run_id}"), 202))
        assert run_id not in listed(api)
        assert listed(api, "admin", include_deleted=True)[run_id]["deleted"] is True

        completed(api, require_ok(admin.post(f"/api/v1/runs/{run_id}/restore"), 202))
        item = listed(api)[run_id]
        assert item["deleted"] is False
        same_as_detail(api, item)


def test_start_up_backfill_gives_old_databases_their_summaries(stack: tuple[Api, ServiceProcess]) -> None:
    api, ingest = stack
    ingest.stop()
    runs, sums = api.db[mongo.RUNS], api.db[mongo.RUN_SUMMARIES]
    # Runs written before summaries existed, one whose summary missed an edit, and a
    # summary whose run is gone.
    old = [run_docs(recording(T0_NS + i * 10**12, seconds=2, rate_hz=5), f"old_{i}.mcap")[0] for i in range(3)]
    runs.insert_many(old)
    edited = old[0]
    sums.insert_one(run_summary(edited) | {"notes": "before the edit", "updated_at": None})
    runs.update_one({"_id": edited["_id"]}, {"$set": {"notes": "after the edit"}})
    sums.insert_one(run_summary(old[1]) | {"_id": "f" * 64})
    assert not {d["_id"] for d in old[1:]} & listed(api).keys()

    ingest.restart().wait_for_log('"ready"', timeout=60)
    assert backfill_counts(ingest) == {"runs": len(old) + 2, "created": 2, "rebuilt": 1, "removed": 1}
    shown = listed(api)
    assert {d["_id"] for d in old} <= shown.keys() and "f" * 64 not in shown
    assert shown[edited["_id"]]["notes"] == "after the edit"
    for d in old:
        same_as_detail(api, shown[d["_id"]])
    # Idempotent: a second start finds nothing to do.
    ingest.restart().wait_for_log('"ready"', timeout=60)
    assert backfill_counts(ingest) == {"runs": len(old) + 2, "created": 0, "rebuilt": 0, "removed": 0}


def test_start_up_backfill_rebuilds_summaries_made_by_older_code(stack: tuple[Api, ServiceProcess]) -> None:
    """A summary from before upload order and word-start search (no `format`, no
    `uploaded_ns`, whole words only) is rebuilt: the run is then found by a word's start
    and at the top of the upload order."""
    from pitwall.common.summaries import FORMAT, UPLOADED_NS

    api, ingest = stack
    ingest.stop()
    runs, sums = api.db[mongo.RUNS], api.db[mongo.RUN_SUMMARIES]
    doc = run_docs(recording(T0_NS - 10**15, seconds=2, rate_hz=5), "quokka_session.mcap")[0]
    latest = max(d["ingested_at"] for d in runs.find({}, {"ingested_at": 1}))
    doc["ingested_at"] = doc["updated_at"] = latest + timedelta(hours=1)
    doc["search"] = ["quokka", "session", "mcap"]
    runs.insert_one(doc)
    old = run_summary(doc)
    for derived in (FORMAT, UPLOADED_NS):
        del old[derived]
    sums.insert_one(old | {"search": doc["search"]})
    assert doc["_id"] not in listed(api, q="quok")

    ingest.restart().wait_for_log('"ready"', timeout=60)
    assert backfill_counts(ingest)["rebuilt"] == 1
    assert list(listed(api, q="quok")) == [doc["_id"]]
    with api.client("viewer") as c:
        top = require_ok(c.get("/api/v1/runs", params={"sort": "-uploaded", "limit": 1}))["items"]
    assert top[0]["id"] == doc["_id"]
