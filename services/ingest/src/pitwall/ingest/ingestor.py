"""What ingest does with each event. Plain async methods over MongoDB and S3."""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from pitwall.common import signalstore
from pitwall.common.columns import Recording
from pitwall.common.events import (
    ConversionCompleted,
    ConversionFailed,
    ConversionProgress,
    ConversionRequested,
    Event,
    FileUploaded,
    RunCommand,
    RunIngested,
    RunRejected,
)
from pitwall.common.logging import get_logger
from pitwall.common.storage import ObjectStore
from pitwall.ingest import jobs, repository
from pitwall.ingest.documents import rejected_document, run_document, upload_entry
from pitwall.ingest.outbox import Outbox
from pitwall.ingest.runcommands import apply_command
from pitwall.ingest.stats import recording_stats

log = get_logger(__name__)


class Rejected(Exception):
    """The file can't become a run; the reason is for the person who uploaded it."""


def decode_file(path: str) -> Recording:
    from pitwall.common.mcapread import NotMcapError, read_recording

    try:
        rec = read_recording(path)
    except NotMcapError as exc:
        raise Rejected(str(exc)) from exc
    if rec.message_count == 0:
        why = "; ".join(f"{s.what}: {s.reason}" for s in rec.skipped[:3])
        raise Rejected("the file starts like MCAP but holds no readable message" + (f" ({why})" if why else ""))
    return rec


class Ingestor:
    def __init__(self, db: AsyncDatabase[dict[str, Any]], store: ObjectStore, outbox: Outbox) -> None:
        self.db = db
        self.runs = db[repository.RUNS]
        self.signals = db[repository.SIGNALS]
        self.store = store
        self.outbox = outbox
        self.settings = store.settings

    async def handle(self, event: Event, _message: object = None) -> None:
        if isinstance(event, FileUploaded):
            await self.on_file_uploaded(event)
        elif isinstance(event, ConversionRequested | ConversionProgress | ConversionCompleted | ConversionFailed):
            await jobs.record(self.db[repository.JOBS], event)
        elif isinstance(event, RunCommand):
            await apply_command(self.runs, event)

    # -- file.uploaded ---------------------------------------------------------------
    async def _existing(self, sha256: str) -> dict[str, Any] | None:
        return await self.runs.find_one({"_id": sha256}, {"status": 1, "reason": 1, "message_count": 1})

    async def on_file_uploaded(self, event: FileUploaded) -> None:
        existing = await self._existing(event.sha256)
        if existing is not None:
            await self._record_duplicate(event, existing)
            return
        started = time.perf_counter()
        log.info("ingesting", run_id=event.sha256, filename=event.filename, bytes=event.size)
        try:
            rec = await asyncio.to_thread(self._fetch_and_decode, event)
        except Rejected as exc:
            await self._reject(event, str(exc))
            return
        keys = [f"{t.topic}:{p}" for t in rec.topics.values() for p in t.signals]
        stats = recording_stats(rec)
        # The signal store is written before the run exists, so a ready run always
        # has its columns; rewriting it on a retry writes the same objects.
        await asyncio.to_thread(self._write_signal_store, event.sha256, rec)
        doc = run_document(rec, event, signal_keys=keys)
        await self.signals.delete_many({"run_id": event.sha256})
        if stats:
            await self.signals.insert_many([{"run_id": event.sha256, **s} for s in stats], ordered=False)
        try:
            await self.runs.insert_one(doc)
        except DuplicateKeyError:
            # A concurrent upload of the same file won the race: this one is a duplicate.
            existing = await self._existing(event.sha256)
            assert existing is not None
            await self._record_duplicate(event, existing)
            return
        await self.outbox.add(
            RunIngested(
                event_id=f"run.ingested.{event.sha256}",
                run_id=event.sha256,
                status=doc["status"],
                message_count=rec.message_count,
                start_ns=doc["start_ns"],
                end_ns=doc["end_ns"],
                upload_event_id=event.event_id,
                filename=event.filename,
            )
        )
        log.info(
            "run ingested", run_id=event.sha256, status=doc["status"], messages=rec.message_count,
            seconds=round(time.perf_counter() - started, 3), mb=round(event.size / 1e6, 2),
        )

    def _fetch_and_decode(self, event: FileUploaded) -> Recording:
        tmp_dir = self.settings.data_dir / "tmp"
        tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, path = tempfile.mkstemp(suffix=".mcap", dir=tmp_dir)
        try:
            with os.fdopen(fd, "wb") as fh:
                try:
                    size, sha = self.store.download(self.settings.bucket_mcap, event.object_key, fh)
                except Exception as exc:
                    if "NoSuchKey" in str(exc):
                        raise Rejected(f"the uploaded object {event.object_key} does not exist") from exc
                    raise
            if sha != event.sha256:
                raise Rejected(f"content does not match its SHA-256: announced {event.sha256[:12]}…, got {sha[:12]}… ({size} bytes)")
            return decode_file(path)
        finally:
            os.unlink(path)

    def _write_signal_store(self, sha: str, rec: Recording) -> None:
        bucket = self.settings.bucket_signals
        signalstore.write_recording(rec, lambda key, data: self.store.put_bytes(bucket, key, data), sha)

    async def _reject(self, event: FileUploaded, reason: str) -> None:
        try:
            await self.runs.insert_one(rejected_document(event, reason))
        except DuplicateKeyError:
            existing = await self._existing(event.sha256)
            assert existing is not None
            await self._record_duplicate(event, existing)
            return
        await self.outbox.add(
            RunRejected(
                event_id=f"run.rejected.{event.sha256}",
                run_id=event.sha256, reason=reason, upload_event_id=event.event_id, filename=event.filename,
            )
        )
        log.warning("run rejected", run_id=event.sha256, reason=reason)

    async def _record_duplicate(self, event: FileUploaded, existing: dict[str, Any]) -> None:
        entry = upload_entry(event) | {"duplicate": True}
        await self.runs.update_one(
            {"_id": event.sha256, "uploads.event_id": {"$ne": event.event_id}},
            {"$push": {"uploads": entry}, "$addToSet": {"filenames": event.filename}, "$set": {"updated_at": datetime.now(UTC)}},
        )
        answer: Event
        if existing["status"] == "rejected":
            answer = RunRejected(
                event_id=f"run.rejected.{event.sha256}.{event.event_id}", run_id=event.sha256,
                reason=existing.get("reason") or "rejected", upload_event_id=event.event_id,
                filename=event.filename, duplicate=True,
            )
        else:
            answer = RunIngested(
                event_id=f"run.ingested.{event.sha256}.{event.event_id}", run_id=event.sha256,
                status=existing["status"], message_count=existing.get("message_count") or 0,
                upload_event_id=event.event_id, filename=event.filename, duplicate=True,
            )
        await self.outbox.add(answer)
        log.info("duplicate upload", run_id=event.sha256, filename=event.filename)
