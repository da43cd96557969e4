"""The converter service on the real stack: requests in, exports in S3, completions out."""

from __future__ import annotations

import asyncio
import io
import json
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import scipy.io
from ingest_support import Harness
from testsupport.waiting import wait_for_async

from pitwall.common.events import ConversionRequested
from pitwall.synth import write_synth

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture(scope="module")
def recordings(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    d = tmp_path_factory.mktemp("conv-synth")
    paths = []
    for i in range(3):
        p = d / f"run{i}.mcap"
        write_synth(p, minutes=0.5, seed=700 + i)
        paths.append(p)
    return paths


def _completions(h: Harness) -> list[dict[str, Any]]:
    return [json.loads(m.body) for m in h.events_named("conversion.completed")]


async def test_request_produces_export_equal_to_cli(
    settings: Any, pitwall_service: Any, recordings: list[Path], tmp_path: Path
) -> None:
    pitwall_service("converter").wait_for_log("ready", timeout=60)
    async with Harness(settings) as h:
        stored = await asyncio.to_thread(h.store.put_mcap_file, recordings[0])
        req = ConversionRequested(
            job_id=uuid.uuid4().hex, runs=[stored.sha256], signals=["VNData:vn_vel.*", "ACU_data:*"],
            format="mat", filenames={stored.sha256: "run0.mcap"},
        )
        await h.publisher.publish(req)
        done = await wait_for_async(lambda: _first(_completions(h), req.job_id), "the export completed", 60)
        progress = [json.loads(m.body) for m in h.events_named("conversion.progress")]
        assert any(p["job_id"] == req.job_id for p in progress)
        data = h.store.get_bytes(settings.bucket_exports, done["result_key"])
        assert done["result_key"].endswith("/run0.mat") and done["size"] == len(data)
        got = scipy.io.loadmat(io.BytesIO(data), squeeze_me=False)
        # the same core on a laptop gives the same arrays
        import subprocess
        import sys

        out = tmp_path / "cli.mat"
        await asyncio.to_thread(
            subprocess.run,
            [str(Path(sys.executable).with_name("pitwall")), "convert", str(recordings[0]), "-o", str(out),
             "--signals", "VNData:vn_vel.*,ACU_data:*"],
            check=True, capture_output=True,
        )
        want = scipy.io.loadmat(out, squeeze_me=False)
        for topic in ("VNData", "ACU_data"):
            assert np.array_equal(got[topic]["t"][0, 0], want[topic]["t"][0, 0])
        assert np.array_equal(got["VNData"]["vn_vel"][0, 0]["x"][0, 0], want["VNData"]["vn_vel"][0, 0]["x"][0, 0])
        assert got["ACU_data"]["t"][0, 0].shape[0] > 0

        # the identical request is served from the stored object
        again = req.model_copy(update={"job_id": uuid.uuid4().hex, "event_id": uuid.uuid4().hex})
        await h.publisher.publish(again)
        cached = await wait_for_async(lambda: _first(_completions(h), again.job_id), "the cached export completed", 30)
        assert cached["cached"] is True and cached["result_key"] == done["result_key"]


async def _first(items: list[dict[str, Any]], job_id: str) -> dict[str, Any] | None:
    return next((i for i in items if i["job_id"] == job_id), None)


async def test_unknown_run_fails_with_a_reason(settings: Any, pitwall_service: Any) -> None:
    pitwall_service("converter").wait_for_log("ready", timeout=60)
    async with Harness(settings) as h:
        req = ConversionRequested(job_id=uuid.uuid4().hex, runs=["0" * 64])
        await h.publisher.publish(req)

        async def failed() -> Any:
            return next((json.loads(m.body) for m in h.events_named("conversion.failed")
                         if json.loads(m.body)["job_id"] == req.job_id), None)

        body = await wait_for_async(failed, "the export failed", 30)
        assert "no file in storage" in body["reason"]


async def test_a_job_that_keeps_failing_ends_failed_not_waiting(settings: Any, pitwall_service: Any) -> None:
    # A damaged object in storage fails every try; after the retries the requester gets
    # conversion.failed with the cause, and the request waits in the dead queue.
    retry_fast = {"PITWALL_RETRY_BACKOFF_S": "[0.2, 0.2]", "PITWALL_MAX_RETRIES": "2"}
    pitwall_service("converter", env=retry_fast).wait_for_log(
        "ready", timeout=60
    )
    async with Harness(settings) as h:
        run_id = uuid.uuid4().hex * 2
        h.store.put_bytes(settings.bucket_signals, f"{run_id}/manifest.json", b"{not json")
        req = ConversionRequested(job_id=uuid.uuid4().hex, runs=[run_id])
        await h.publisher.publish(req)

        async def failed() -> Any:
            return next((json.loads(m.body) for m in h.events_named("conversion.failed")
                         if json.loads(m.body)["job_id"] == req.job_id), None)

        body = await wait_for_async(failed, "the export failed", 30)
        assert body["reason"].startswith("the export could not be made: failed 3 times:"), body["reason"]
        assert body["event_id"] == f"conversion.failed.{req.job_id}"


async def test_two_converters_and_a_kill_complete_every_job_once(
    settings: Any, pitwall_service: Any, recordings: list[Path]
) -> None:
    a = pitwall_service("converter")
    b = pitwall_service("converter")
    a.wait_for_log("ready", timeout=60)
    b.wait_for_log("ready", timeout=60)
    async with Harness(settings) as h:
        shas = [(await asyncio.to_thread(h.store.put_mcap_file, p)).sha256 for p in recordings]
        jobs = []
        for i in range(6):
            # distinct requests (different formats/windows) so none is served from cache
            req = ConversionRequested(
                job_id=uuid.uuid4().hex, runs=[shas[i % 3]], format="mat73" if i % 2 else "mat",
                start_s=float(i), resample_hz=None if i < 3 else 50.0,
            )
            jobs.append(req)
            await h.publisher.publish(req)
        a.wait_for_log("conversion started", timeout=60)
        a.kill()  # mid-job: its unacked job goes back to the queue
        want = {j.job_id for j in jobs}

        async def all_done() -> bool:
            return {c["job_id"] for c in _completions(h)} >= want

        await wait_for_async(all_done, "every export done", 180, every=0.5)
        b.stop()  # graceful: whatever it would still publish is published, or its job returned
        assert await h.work_left("converter") == 0, "a job went back to the queue: it would be made again"
        await h.all_seen()
        # exactly once, as a consumer that checks event ids sees it
        per_job = Counter(c["job_id"] for c in {c["event_id"]: c for c in _completions(h)}.values())
        assert all(per_job[j] == 1 for j in want), per_job
        assert not h.events_named("conversion.failed")
        for c in _completions(h):
            assert h.store.exists(settings.bucket_exports, c["result_key"])
