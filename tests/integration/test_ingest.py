"""Ingest on the real stack: files announced as `file.uploaded` become runs, exactly once."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from ingest_support import Harness
from mcap.reader import make_reader
from mcap_protobuf.decoder import DecoderFactory
from testsupport.waiting import wait_for_async

from pitwall.synth import write_synth

pytestmark = pytest.mark.asyncio(loop_scope="session")


@pytest.fixture(scope="module")
def synth_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("ingest-synth")
    files = {
        "chunked": (d / "chunked.mcap", {"minutes": 0.4, "seed": 101}),
        "unchunked": (d / "unchunked.mcap", {"minutes": 0.3, "seed": 102, "chunked": False}),
        "truncated": (d / "truncated.mcap", {"minutes": 0.3, "seed": 103, "truncate": True}),
        "untruncated": (d / "untruncated.mcap", {"minutes": 0.3, "seed": 103}),
        "big": (d / "big.mcap", {"minutes": 2.0, "seed": 104}),
        "passes": (d / "passes.mcap", {"minutes": 1.5, "seed": 105}),
    }
    for path, opts in files.values():
        write_synth(path, **opts)  # type: ignore[arg-type]
    return {k: v[0] for k, v in files.items()}


def _official_decode(path: Path) -> dict[str, Any]:
    """First log time, per-topic counts and VNData speed values, via the official reader."""
    first = None
    counts: dict[str, int] = {}
    vel_x: list[float] = []
    factory = DecoderFactory()
    with open(path, "rb") as fh:
        reader = make_reader(fh)
        for schema, channel, message in reader.iter_messages():
            first = message.log_time if first is None else min(first, message.log_time)
            counts[channel.topic] = counts.get(channel.topic, 0) + 1
            if channel.topic == "VNData":
                decoded = factory.decoder_for(channel.message_encoding, schema)(message.data)  # type: ignore[misc]
                vel_x.append(decoded.vn_vel.x)
    return {"first": first, "counts": counts, "vel_x": np.array(vel_x, dtype=np.float32)}


async def test_uploaded_file_becomes_a_ready_run(settings: Any, pitwall_service: Any,
                                                 synth_files: dict[str, Path]) -> None:
    pitwall_service("ingest").wait_for_log("ready", timeout=60)
    path = synth_files["chunked"]
    truth = _official_decode(path)
    async with Harness(settings) as h:
        event = await h.upload(path)
        run = await h.wait_run(event.sha256)
        assert run["status"] == "ready"
        assert run["start_ns"] == truth["first"]  # recording time, not upload time
        assert {c["topic"]: c["message_count"] for c in run["channels"]} == truth["counts"]
        assert run["setup"]["driver"] and run["setup"]["track"] and run["setup"]["event_type"]
        assert run["lap_count"] >= 0 and run["track"] and len(run["track"]["points"]) <= 2000
        stat = await h.db["signals"].find_one({"run_id": event.sha256, "key": "VNData:vn_vel.x"})
        assert stat["count"] == len(truth["vel_x"])
        assert stat["max"] == float(truth["vel_x"].max())
        assert stat["min"] == float(truth["vel_x"].min())
        assert stat["mean"] == pytest.approx(float(truth["vel_x"].astype(np.float64).mean()), rel=1e-12)
        # run.ingested went out once, through the outbox
        def mine() -> list[dict[str, Any]]:
            bodies = [json.loads(m.body) for m in h.events_named("run.ingested")]
            return [b for b in bodies if b["run_id"] == event.sha256]

        await wait_for_async(lambda: _true(mine()), "this test's run", 15)
        [body] = mine()
        assert body["upload_event_id"] == event.event_id
        # the signal store holds the columns
        manifest = h.store.get_bytes(settings.bucket_signals, f"{event.sha256}/manifest.json")
        assert json.loads(manifest)["message_count"] == sum(truth["counts"].values())


async def _true(value: Any) -> Any:
    return value


async def test_same_file_twice_and_concurrently_is_one_run(settings: Any, pitwall_service: Any,
                                                           synth_files: dict[str, Path]) -> None:
    pitwall_service("ingest").wait_for_log("ready", timeout=60)
    path = synth_files["unchunked"]
    async with Harness(settings) as h:
        first, _second = await asyncio.gather(h.upload(path, "a.mcap"), h.upload(path, "b.mcap"))
        run = await h.wait_run(first.sha256)
        third = await h.upload(path, "c.mcap")

        async def three_uploads() -> Any:
            doc = await h.db["runs"].find_one({"_id": first.sha256})
            return doc if len(doc["uploads"]) == 3 else None

        run = await wait_for_async(three_uploads, "the run of three uploads", 30)
        assert await h.db["runs"].count_documents({"sha256": first.sha256}) == 1
        assert sorted(u["filename"] for u in run["uploads"]) == ["a.mcap", "b.mcap", "c.mcap"]
        assert sum(1 for u in run["uploads"] if u.get("duplicate")) == 2
        assert third.event_id in {u["event_id"] for u in run["uploads"]}


async def test_truncated_file_is_recovered_with_loss_counted(settings: Any, pitwall_service: Any,
                                                             synth_files: dict[str, Path]) -> None:
    pitwall_service("ingest").wait_for_log("ready", timeout=60)
    path = synth_files["truncated"]
    async with Harness(settings) as h:
        event = await h.upload(path)
        run = await h.wait_run(event.sha256)
        assert run["status"] == "recovered"
        assert run["recovery"]["truncated"] is True
        assert run["recovery"]["lost_tail_bytes"] > 0
        # Every complete message before the cut is kept: at least what the official
        # stream reader yields (it stops at the cut chunk; we also use the messages
        # that decompress whole from its first part), never more than the full file.
        full = sum(_official_decode(synth_files["untruncated"])["counts"].values())
        assert _complete_messages(path) <= run["message_count"] < full


async def test_garbage_and_hash_mismatch_are_rejected_and_ingest_keeps_going(
    settings: Any, pitwall_service: Any, synth_files: dict[str, Path], tmp_path: Path
) -> None:
    ingest = pitwall_service("ingest")
    ingest.wait_for_log("ready", timeout=60)
    garbage = tmp_path / "garbage.mcap"
    garbage.write_bytes(os.urandom(200_000))
    async with Harness(settings) as h:
        bad = await h.upload(garbage)
        run = await h.wait_run(bad.sha256)
        assert run["status"] == "rejected"
        assert "MCAP" in run["reason"]
        # a file whose content doesn't match the announced hash
        other = tmp_path / "other.mcap"
        write_synth(other, minutes=0.05, seed=999)
        stored = await asyncio.to_thread(h.store.put_mcap_file, other)
        fake_sha = hashlib.sha256(b"not this file").hexdigest()
        # the object under the fake key has other content
        h.store.client.copy_object(settings.bucket_mcap, f"mcap/{fake_sha}.mcap",
                                   _copy_source(settings.bucket_mcap, stored.key))
        mismatch = await h.upload(other, sha256=fake_sha, object_key=f"mcap/{fake_sha}.mcap")
        run = await h.wait_run(fake_sha)
        assert run["status"] == "rejected" and "SHA-256" in run["reason"]
        # still consuming: a good file after the bad ones
        good = await h.upload(synth_files["chunked"], "after-garbage.mcap")
        assert (await h.wait_run(good.sha256))["status"] == "ready"
        assert mismatch.sha256 == fake_sha
        # nothing waits in the queue and nothing was dead-lettered
        assert ingest.pid is not None
        os.kill(ingest.pid, 0)  # the same process is alive: no crash, no restart


def _complete_messages(path: Path) -> int:
    """Messages the official stream reader yields before the cut."""
    from mcap.exceptions import EndOfFile
    from mcap.records import Message
    from mcap.stream_reader import StreamReader

    complete = 0
    try:
        with open(path, "rb") as fh:
            for record in StreamReader(fh, skip_magic=False).records:
                complete += isinstance(record, Message)
    except EndOfFile:  # the cut: any other error is a broken oracle, not a truncated file
        pass
    assert complete > 0, "the official reader read nothing before the cut: no bound to check against"
    return complete


def _copy_source(bucket: str, key: str) -> Any:
    from minio.commonconfig import CopySource

    return CopySource(bucket, key)


async def test_a_file_past_the_memory_budget_is_read_in_passes_into_the_same_run(
    settings: Any, pitwall_service: Any, synth_files: dict[str, Path]
) -> None:
    from pitwall.common import signalstore
    from pitwall.common.mcapread import read_recording

    ingest = pitwall_service("ingest", env={"PITWALL_INGEST_MEMORY_MB": "16"})
    ingest.wait_for_log("ready", timeout=60)
    path = synth_files["passes"]  # its own file: a run of "big" would make the kill test a duplicate
    rec = read_recording(path)
    async with Harness(settings) as h:
        event = await h.upload(path, "passes.mcap")
        run = await h.wait_run(event.sha256, timeout=120)
        ingest.wait_for_log("read in passes", timeout=5)
        assert run["status"] == "ready"
        assert run["message_count"] == rec.message_count
        assert ({c["topic"]: c["message_count"] for c in run["channels"]}
                == {t: tc.count for t, tc in rec.topics.items()})
        assert run["track"] and run["lap_count"] >= 1
        vel = rec.topics["VNData"].signals["vn_vel.x"].values
        stat = await h.db["signals"].find_one({"run_id": event.sha256, "key": "VNData:vn_vel.x"})
        assert (stat["count"], stat["min"], stat["max"]) == (len(vel), float(vel.min()), float(vel.max()))
        stored = signalstore.read_recording(lambda key: h.store.get_bytes(settings.bucket_signals, key), event.sha256)
        assert set(stored.topics) == set(rec.topics)
        for topic in ("VNData", "ACU_data", "IMUData"):
            assert rec.topics[topic].signals, topic
            for sig_path, sig in rec.topics[topic].signals.items():
                np.testing.assert_array_equal(stored.topics[topic].signals[sig_path].values, sig.values)


async def test_ingest_killed_mid_file_publishes_once(settings: Any, pitwall_service: Any,
                                                     synth_files: dict[str, Path]) -> None:
    ingest = pitwall_service("ingest")
    ingest.wait_for_log("ready", timeout=60)
    async with Harness(settings) as h:
        event = await h.upload(synth_files["big"], "killed.mcap")
        ingest.wait_for_log("ingesting", timeout=60)
        ingest.kill()
        assert await h.db["runs"].find_one({"_id": event.sha256}) is None, "the kill came too late"
        ingest.restart()
        run = await h.wait_run(event.sha256, timeout=120)
        assert run["status"] == "ready"
        assert await h.db["runs"].count_documents({"sha256": event.sha256}) == 1
        await wait_for_async(lambda: _true(h.events_named("run.ingested")), "run.ingested", 15)
        ingest.stop()  # graceful: whatever it would still publish is published, or its message returned
        assert await h.work_left("ingest") == 0, "the upload went back to the queue: it would be ingested again"
        await h.all_seen()
        ids = {json.loads(m.body)["event_id"] for m in h.events_named("run.ingested")
               if json.loads(m.body)["run_id"] == event.sha256}
        assert len(ids) == 1


async def test_fifty_files_at_once_all_ingested_with_bounded_memory(
    settings: Any, pitwall_service: Any, tmp_path: Path
) -> None:
    ingest = pitwall_service("ingest")
    ingest.wait_for_log("ready", timeout=60)
    paths = []
    for i in range(50):
        p = tmp_path / f"load-{i:02d}.mcap"
        write_synth(p, minutes=0.03, seed=5000 + i, chunked=bool(i % 2))
        paths.append(p)
    async with Harness(settings) as h:
        events = await asyncio.gather(*(h.upload(p) for p in paths))
        ids = [e.sha256 for e in events]

        async def all_done() -> bool:
            return await h.db["runs"].count_documents({"_id": {"$in": ids}, "status": "ready"}) == len(ids)

        await wait_for_async(all_done, "every run ingested", 240, every=0.5)
        peak_kib = _peak_rss_kib(ingest.pid)
        print(f"\ningest peak RSS after 50 files: {peak_kib / 1024:.0f} MiB")
        assert peak_kib < 1.5 * 1024 * 1024


def _peak_rss_kib(pid: int | None) -> int:
    assert pid is not None
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise AssertionError("no VmHWM")
