"""Taking an uploaded file into the catalogue: decode, store its columns, write its run.

Plain async methods over MongoDB and S3; which event calls what is `pitwall.ingest.handlers`."""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from pitwall.common import metrics, signalstore
from pitwall.common.catalogue import Catalogue, CatalogueReader
from pitwall.common.columns import Recording
from pitwall.common.contracts import mongo
from pitwall.common.events import Event, FileUploaded, RunIngested, RunRejected
from pitwall.common.logging import get_logger
from pitwall.common.runtime import release_free_memory
from pitwall.common.selection import Selection
from pitwall.common.storage import ObjectStore
from pitwall.ingest import summaries
from pitwall.ingest.digest import Digest, plan_passes
from pitwall.ingest.documents import rejected_document, run_document, upload_entry
from pitwall.ingest.eventrules import RuleSet
from pitwall.ingest.outbox import Outbox

log = get_logger(__name__)


class Rejected(Exception):
    """The file can't become a run; the reason is for the person who uploaded it.

    Always one line: reasons quote topic and schema names straight from the file, and a
    name holding a newline would otherwise split the reason on the page and in the logs."""

    def __init__(self, reason: str) -> None:
        super().__init__(_CONTROL.sub(lambda m: repr(m.group())[1:-1], reason))


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def decode_file(path: str, selection: Selection | None = None) -> Recording:
    from pitwall.common.mcapread import NotMcapError, read_recording

    try:
        return read_recording(path, selection)
    except NotMcapError as exc:
        raise Rejected(str(exc)) from exc


def digest_file(
    path: str, put: Callable[[str, bytes], None], prefix: str, budget_bytes: int, rules: RuleSet | None = None,
    catalogue: Catalogue | None = None,
) -> Digest:
    """Decode a file (in passes when its columns would pass the budget), writing each
    pass's topics to the signal store under `prefix`, the manifest last; `rules` mark
    events on each pass's columns."""
    from pitwall.common.mcapread import NotMcapError

    try:
        passes = plan_passes(path, budget_bytes)
    except NotMcapError as exc:
        raise Rejected(str(exc)) from exc
    digest = Digest(rules=rules or RuleSet(), catalogue=catalogue)
    entries: list[dict[str, Any]] = []
    for selection in passes:
        rec = decode_file(path, selection)
        entries += signalstore.write_topics(rec, put, prefix, first=len(entries))
        digest.add(rec)
        del rec  # the next pass's columns take its place
        release_free_memory()
    if digest.file.message_count == 0:
        why = "; ".join(f"{s.what}: {s.reason}" for s in digest.file.skipped[:3])
        raise Rejected("the file starts like MCAP but holds no readable message" + (f" ({why})" if why else ""))
    signalstore.write_manifest(put, prefix, signalstore.manifest(digest.file, entries))
    if len(passes) > 1:
        log.info("read in passes", passes=len(passes), budget_mb=budget_bytes >> 20, run_id=prefix)
    return digest


def _count(outcome: str, size: int, seconds: float) -> None:
    metrics.INGEST_FILES.labels(service="ingest", outcome=outcome).inc()
    metrics.INGEST_BYTES.labels(service="ingest", outcome=outcome).inc(size)
    metrics.INGEST_SECONDS.labels(service="ingest", outcome=outcome).observe(seconds)


class Ingestor:
    def __init__(
        self, db: AsyncDatabase[dict[str, Any]], store: ObjectStore, outbox: Outbox, rules: RuleSet | None = None
    ) -> None:
        self.db = db
        self.rules = rules or RuleSet()
        self.runs = db[mongo.RUNS]
        self.signals = db[mongo.SIGNALS]
        self.store = store
        self.outbox = outbox
        self.settings = store.settings
        # The memory budget is the process's: one file is decoded at a time (the decode
        # already keeps both cores busy; concurrent files would only add their columns).
        self._decoding = asyncio.Semaphore(1)
        self.catalogue = CatalogueReader()

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
            # The signal store is written before the run exists, so a ready run always
            # has its columns; rewriting it on a retry writes the same objects.
            catalogue = await self.catalogue.get(self.db)
            async with self._decoding:
                digest = await asyncio.to_thread(self._fetch_and_digest, event, catalogue)
        except Rejected as exc:
            await self._reject(event, str(exc))
            _count("rejected", event.size, time.perf_counter() - started)
            return
        doc = run_document(digest, event)
        await self.signals.delete_many({"run_id": event.sha256})
        if digest.stats:
            await self.signals.insert_many([{"run_id": event.sha256, **s} for s in digest.stats], ordered=False)
        try:
            await self.runs.insert_one(dict(doc))
        except DuplicateKeyError:
            # A concurrent upload of the same file won the race: this one is a duplicate.
            existing = await self._existing(event.sha256)
            assert existing is not None
            await self._record_duplicate(event, existing)
            return
        await summaries.write(self.db, doc)
        await self.outbox.add(
            RunIngested(
                event_id=f"run.ingested.{event.sha256}",
                run_id=event.sha256,
                status=doc["status"],
                message_count=digest.file.message_count,
                start_ns=doc["start_ns"],
                end_ns=doc["end_ns"],
                upload_event_id=event.event_id,
                filename=event.filename,
            )
        )
        log.info(
            "run ingested", run_id=event.sha256, status=doc["status"], messages=digest.file.message_count,
            seconds=round(time.perf_counter() - started, 3), mb=round(event.size / 1e6, 2),
        )
        _count("ingested", event.size, time.perf_counter() - started)

    def _fetch_and_digest(self, event: FileUploaded, catalogue: Catalogue | None = None) -> Digest:
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
                raise Rejected(f"content does not match its SHA-256: announced {event.sha256[:12]}…, "
                               f"got {sha[:12]}… ({size} bytes)")
            bucket = self.settings.bucket_signals
            return digest_file(
                path, lambda key, data: self.store.put_bytes(bucket, key, data), event.sha256,
                self.settings.ingest_memory_mb << 20, self.rules, catalogue,
            )  # fmt: skip
        finally:
            os.unlink(path)

    async def _reject(self, event: FileUploaded, reason: str) -> None:
        try:
            rejected = rejected_document(event, reason)
            await self.runs.insert_one(dict(rejected))
        except DuplicateKeyError:
            existing = await self._existing(event.sha256)
            assert existing is not None
            await self._record_duplicate(event, existing)
            return
        await summaries.write(self.db, rejected)
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
            {"$push": {"uploads": entry}, "$addToSet": {"filenames": event.filename},
             "$set": {"updated_at": datetime.now(UTC)}},
        )
        # Also mends a summary that a crash between the run's insert and its own left missing.
        await summaries.refresh(self.db, event.sha256)
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
        metrics.INGEST_FILES.labels(service="ingest", outcome="duplicate").inc()
