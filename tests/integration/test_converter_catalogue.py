"""The converter service writes the catalogue's info that `conversion.requested` carries
(issue 23): a requested key finds the run's signal under its alias, the MAT says its unit,
and a changed unit is a fresh export, not the cached one."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
import scipy.io
from ingest_support import Harness
from testsupport.waiting import wait_for_async

from pitwall.common.events import ConversionRequested
from pitwall.synth import write_synth

pytestmark = pytest.mark.asyncio(loop_scope="session")

OLD = "VNData:vn_vel.x"  # the name in the recording
NEW = "VNData:velocity.x"  # the name a later CAN description gives it


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("conv-catalogue") / "run.mcap"
    write_synth(path, minutes=0.2, seed=23)
    return path


async def _done(h: Harness, job_id: str) -> dict[str, Any]:
    async def completed() -> dict[str, Any] | None:
        bodies = (json.loads(m.body) for m in h.events_named("conversion.completed"))
        return next((b for b in bodies if b["job_id"] == job_id), None)

    return await wait_for_async(completed, f"export {job_id} completed", 60)


def _signal_map(data: bytes) -> list[tuple[str, ...]]:
    mat = scipy.io.loadmat(io.BytesIO(data), squeeze_me=False)
    cell = mat["signal_map"]
    return [tuple(str(x[0]) if x.size else "" for x in row) for row in cell]


async def test_the_export_carries_the_requests_units_and_finds_aliases(
    settings: Any, pitwall_service: Any, recording: Path
) -> None:
    pitwall_service("converter").wait_for_log("ready", timeout=60)
    async with Harness(settings) as h:
        stored = await asyncio.to_thread(h.store.put_mcap_file, recording)
        run = stored.sha256

        def request(unit: str) -> ConversionRequested:
            return ConversionRequested(
                job_id=uuid.uuid4().hex, runs=[run], signals=[NEW], format="mat",
                catalogue={run: {OLD: {"unit": unit, "description": "velocity north"}}},
                aliases={NEW: [OLD]},
            )

        first = request("m/s")
        await h.publisher.publish(first)
        done = await _done(h, first.job_id)
        assert done["cached"] is False
        rows = _signal_map(h.store.get_bytes(settings.bucket_exports, done["result_key"]))
        # The run's signal, under its own name, with what the request says of it.
        assert rows == [(OLD, "VNData.vn_vel.x", "m/s", "velocity north")]

        # The same info again: served from the stored export.
        again = request("m/s")
        await h.publisher.publish(again)
        cached = await _done(h, again.job_id)
        assert cached["cached"] is True and cached["result_key"] == done["result_key"]

        # A changed unit: a fresh export that says the new one.
        changed = request("km/h")
        await h.publisher.publish(changed)
        fresh = await _done(h, changed.job_id)
        assert fresh["cached"] is False and fresh["result_key"] != done["result_key"]
        rows = _signal_map(h.store.get_bytes(settings.bucket_exports, fresh["result_key"]))
        assert rows == [(OLD, "VNData.vn_vel.x", "km/h", "velocity north")]
