"""The station: scan sources, take finished files, copy, upload, confirm, free the car.

Copying and uploading run side by side, so with the uplink down the station keeps
emptying the car; with the car away it keeps uploading what it holds. Every step
reads its work from the journal, so a restart continues where the last run stopped.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pitwall.basestation import ingress
from pitwall.basestation.backoff import Backoff, backoff_s
from pitwall.basestation.cloud import Cloud, CloudRefused, CloudUnavailable, RateLimit
from pitwall.basestation.journal import Entry, Journal
from pitwall.basestation.offload import OffloadError, Spool, offload
from pitwall.basestation.settings import StationSettings
from pitwall.basestation.settle import SettleTracker
from pitwall.basestation.sources import Source, SourceError, open_source
from pitwall.common.contracts.errorcodes import ErrorCode
from pitwall.common.contracts.mcap import MAGIC
from pitwall.common.logging import get_logger

log = get_logger(__name__)

VERSION = "0.1.0"


@dataclass(slots=True)
class SourceState:
    source: Source
    reachable: bool = True
    pending: int = 0
    last_error: str | None = None
    backoff: Backoff = field(default_factory=lambda: Backoff(1.0, 60.0))
    retry_at: float = 0.0
    wake: asyncio.Event = field(default_factory=asyncio.Event)


class _Progress:
    """Progress of one long copy or upload: the journal (for `status`) and a log line every 10%."""

    def __init__(self, journal: Journal, entry: Entry, phase: str) -> None:
        self.journal, self.entry, self.phase = journal, entry, phase
        self._at = 0.0
        self._decile = -1
        self.started = time.monotonic()
        journal.update(entry.id, phase=phase, progress=0)

    def __call__(self, done: int) -> None:
        now = time.monotonic()
        if now - self._at >= 0.5 or done >= self.entry.size:
            self._at = now
            self.journal.update(self.entry.id, progress=done)
        decile = int(10 * done / max(1, self.entry.size))
        if decile != self._decile and self.entry.size >= 32 * 1024 * 1024:
            self._decile = decile
            seconds = max(1e-6, now - self.started)
            log.info(self.phase, file=self.entry.path, percent=min(100, decile * 10),
                     mb_per_s=round(done / seconds / 1e6, 1))


class Station:
    def __init__(self, settings: StationSettings, cloud: Cloud | None = None) -> None:
        self.settings = settings
        self.journal = Journal(settings.journal)
        self.spool = Spool(settings.spool_dir)
        self.cloud = cloud or Cloud(settings.api_url, settings.token, settings.http_timeout_s, settings.bandwidth_bps)
        self.sources = {c.id: SourceState(open_source(c)) for c in settings.all_sources()}
        self.settle = SettleTracker(settings.settle_s)
        self.cloud_backoff = Backoff(settings.backoff_base_s, settings.backoff_max_s)
        self.cloud_retry_at = 0.0
        self.cloud_reachable: bool | None = None
        self.cloud_error: str | None = None
        self.cloud_error_at: float | None = None
        self.uploading = 0
        self.copy_limit = RateLimit(settings.copy_bps) if settings.copy_bps else None
        self.wake_ingress = asyncio.Event()
        self._reannounced: dict[int, int] = {}

    async def close(self) -> None:
        for state in self.sources.values():
            await state.source.close()
        await self.cloud.close()
        self.journal.close()

    # --- offload: car → station ------------------------------------------------------

    async def scan(self, state: SourceState) -> list[Entry]:
        """List the source, record newly finished files as `seen`; the rows to copy."""
        source = state.source
        try:
            files = await source.list()
        except SourceError as exc:
            self._source_failed(state, str(exc))
            return []
        if not state.reachable:
            log.info("source back", source=source.source_id)
        state.reachable, state.last_error = True, None
        state.backoff.succeeded()
        self.settle.observe(source.source_id, files)
        listed = {f.path: f for f in files}
        pending = 0
        for f in files:
            row = self.journal.known(source.source_id, f.path, f.size, f.mtime_ns)
            if row is not None:
                pending += row.state == "seen"
                continue
            pending += 1
            if self.settle.still_for(source.source_id, f) is None:
                continue  # first sighting of this version: look again next scan
            try:
                footer = await source.tail(f.path, f.size, len(MAGIC)) == MAGIC  # a finished file ends with the magic
            except SourceError as exc:
                if exc.unreachable:
                    self._source_failed(state, str(exc))
                    return []
                continue
            if self.settle.is_finished(source.source_id, f, footer):
                row = self.journal.record(source.source_id, f.path, f.size, f.mtime_ns, footer)
                log.info("file finished on source", source=source.source_id, file=f.path, size=f.size,
                         footer=footer)
        # A version waiting to be copied that is no longer on the source never will be.
        for row in self.journal.in_state("seen"):
            if row.source != source.source_id:
                continue
            now = listed.get(row.path)
            if now is None or (now.size, now.mtime_ns) != (row.size, row.mtime_ns):
                why = "vanished from the source before it was copied" if now is None else (
                    "changed on the source before it was copied (taken again as new content)")
                self.journal.advance(row.id, "superseded", last_error=why, error_at=time.time())
        state.pending = pending
        return [r for r in self.journal.in_state("seen", due=time.time()) if r.source == source.source_id]

    def _source_failed(self, state: SourceState, error: str) -> None:
        if state.reachable or state.last_error != error:
            log.warning("source unreachable", source=state.source.source_id, error=error)
        state.reachable, state.last_error = False, error
        state.retry_at = time.monotonic() + state.backoff.failed()

    async def copy(self, state: SourceState, entry: Entry) -> bool:
        part = self.spool.part(entry.id)
        if part.exists() and 0 < part.stat().st_size <= entry.size:
            log.info("copy resumed", file=entry.path, from_byte=part.stat().st_size, size=entry.size)
        progress = _Progress(self.journal, entry, "copying")
        try:
            copied = await offload(state.source, entry, self.spool, self.settings.copy_chunk_bytes, progress,
                                   self.copy_limit)
        except OffloadError as exc:
            if exc.changed:
                self.journal.advance(entry.id, "superseded", last_error=str(exc), error_at=time.time())
                log.info("file changed while copied", file=entry.path)
                return False
            if exc.unreachable:
                self._source_failed(state, str(exc))
            delay = backoff_s(entry.attempts, self.settings.backoff_base_s, self.settings.backoff_max_s)
            self.journal.fail(entry.id, str(exc), delay)
            log.warning("copy failed", file=entry.path, error=str(exc), retry_in_s=round(delay, 1))
            return False
        self.journal.advance(entry.id, "copied", sha256=copied.sha256, progress=entry.size)
        log.info("copied", source=entry.source, file=entry.path, sha256=copied.sha256, size=entry.size,
                 seconds=round(time.monotonic() - progress.started, 2), same_content_as_before=copied.already_had)
        self.wake_ingress.set()
        return True

    async def offload_pass(self, state: SourceState) -> int:
        if not state.reachable and time.monotonic() < state.retry_at:
            return 0
        copied = 0
        for entry in await self.scan(state):
            if await self.copy(state, entry):
                copied += 1
            elif not state.reachable:
                break
        return copied

    # --- ingress: station → cloud ----------------------------------------------------

    def _cloud_failed(self, error: str) -> None:
        if self.cloud_reachable is not False:
            log.warning("cloud unreachable", error=error)
        self.cloud_reachable = False
        self.cloud_error, self.cloud_error_at = error, time.time()
        self.cloud_retry_at = time.monotonic() + self.cloud_backoff.failed()

    def _cloud_ok(self) -> None:
        if self.cloud_reachable is False:
            log.info("cloud back")
        self.cloud_reachable = True
        self.cloud_backoff.succeeded()

    async def ingress_pass(self) -> None:
        """Upload what is copied, confirm what is announced. Oldest recording first."""
        if time.monotonic() < self.cloud_retry_at:
            return
        waiting = self.journal.in_state("copied", "uploaded")
        if not waiting:
            return
        shas = sorted({e.sha256 for e in waiting if e.sha256})
        try:
            known, _missing = await self.cloud.lookup(shas)
        except CloudUnavailable as exc:
            self._cloud_failed(str(exc))
            return
        except CloudRefused as exc:
            self._cloud_failed(f"lookup refused: {exc}")
            return
        self._cloud_ok()
        now = time.time()
        for entry in waiting:
            run = known.get(entry.sha256 or "")
            if run is not None and run.status == "rejected":
                self.journal.advance(entry.id, "rejected", run_status="rejected", reason=run.reason)
                log.warning("file rejected by the cloud", file=entry.path, reason=run.reason)
                continue
            if entry.state == "uploaded":
                # Announced with confirms: the content is safe, the name is on its way.
                if run is not None and run.status in ingress.CONFIRMED_STATUSES:
                    self.journal.advance(entry.id, "confirmed", run_status=run.status)
                    log.info("confirmed", file=entry.path, sha256=entry.sha256, status=run.status)
                elif now - (entry.uploaded_at or now) > self.settings.reannounce_after_s * (
                        1 + self._reannounced.get(entry.id, 0)):
                    await self._reannounce(entry)
                continue
            if run is not None and run.status in ingress.CONFIRMED_STATUSES and entry.name in run.filenames:
                # The cloud has this content under this name already (another station, the web).
                self.journal.advance(entry.id, "confirmed", run_status=run.status)
                continue
            if entry.next_try_at > now:
                continue
            if not await self._upload(entry):
                if time.monotonic() < self.cloud_retry_at:
                    return

    async def _upload(self, entry: Entry) -> bool:
        assert entry.sha256 is not None
        spool_file = self.spool.path(entry.sha256)
        if not spool_file.exists():
            self.journal.fail(entry.id, f"the station's copy {spool_file} is missing", self.settings.backoff_max_s)
            return False
        progress = _Progress(self.journal, entry, "uploading")
        self.uploading += 1
        try:
            eid = await ingress.upload(self.cloud, self.journal, entry, spool_file, self.settings.station_id,
                                       progress, self.settings.fault_pause_before_announce_s,
                                       self.settings.upload_parallel)
        except CloudUnavailable as exc:
            self.journal.update(entry.id, phase=None)
            self._cloud_failed(str(exc))
            return False
        except CloudRefused as exc:
            if exc.code == ErrorCode.NOT_MCAP:
                # The bytes themselves are refused: sending them again cannot help. Kept here
                # and on the car, with the reason, like a run ingest rejected.
                self.journal.advance(entry.id, "rejected", run_status="refused", reason=exc.message)
                log.warning("file refused by the cloud", file=entry.path, reason=exc.message)
                return True
            delay = backoff_s(entry.attempts, self.settings.backoff_base_s, self.settings.backoff_max_s)
            self.journal.fail(entry.id, f"the cloud refused the upload: {exc.message}", delay)
            log.warning("upload refused", file=entry.path, status=exc.status, error=exc.message)
            return False
        except OSError as exc:
            self.journal.fail(entry.id, f"reading the station's copy: {exc.strerror}", self.settings.backoff_max_s)
            return False
        finally:
            self.uploading -= 1
        self.journal.advance(entry.id, "uploaded", event_id=eid, upload_id=None)
        log.info("uploaded", file=entry.path, sha256=entry.sha256, size=entry.size, event_id=eid,
                 seconds=round(time.monotonic() - progress.started, 2))
        return True

    async def _reannounce(self, entry: Entry) -> None:
        attempt = self._reannounced.get(entry.id, 0) + 1
        try:
            eid = await ingress.reannounce(self.cloud, entry, self.settings.station_id, attempt)
        except CloudUnavailable as exc:
            self._cloud_failed(str(exc))
            return
        except CloudRefused as exc:
            self.journal.fail(entry.id, f"re-announcing: {exc.message}", self.settings.backoff_max_s)
            return
        self._reannounced[entry.id] = attempt
        self.journal.update(entry.id, event_id=eid)
        log.warning("announced again: no run after a while", file=entry.path, event_id=eid)

    # --- car retention -----------------------------------------------------------------

    async def retention_pass(self, state: SourceState) -> int:
        """Remove confirmed files from the car (only when asked, only the confirmed bytes)."""
        if self.settings.delete_from_car_after != "confirmed" or not state.reachable:
            return 0
        removed = 0
        for entry in self.journal.in_state("confirmed"):
            if entry.source != state.source.source_id:
                continue
            try:
                now = await state.source.stat(entry.path)
            except SourceError as exc:
                if exc.unreachable:
                    return removed
                self.journal.advance(entry.id, "removed_from_car", last_error="already gone from the car")
                continue
            if (now.size, now.mtime_ns) != (entry.size, entry.mtime_ns):
                continue  # the car holds other content under this name now: not ours to delete
            try:
                on_car = await state.source.sha256(entry.path)
                if on_car is not None and on_car != entry.sha256:
                    continue
                await state.source.remove(entry.path)
            except SourceError as exc:
                self.journal.fail(entry.id, f"removing from the car: {exc}", self.settings.backoff_max_s)
                continue
            self.journal.advance(entry.id, "removed_from_car")
            log.info("removed from the car", source=entry.source, file=entry.path, sha256=entry.sha256)
            removed += 1
        return removed

    # --- status --------------------------------------------------------------------------

    def status(self) -> dict[str, Any]:
        counts = self.journal.counts()
        rows = self.journal.in_state("seen", "copied", "uploaded")
        errors = [r for r in self.journal.all() if r.last_error and r.state in ("seen", "copied", "uploaded")]
        last = max(errors, key=lambda r: r.error_at or 0, default=None)
        last_error, last_error_at = (last.last_error, last.error_at) if last else (None, None)
        if self.cloud_reachable is False and (self.cloud_error_at or 0) >= (last_error_at or 0):
            last_error, last_error_at = f"cloud: {self.cloud_error}", self.cloud_error_at
        return {
            "station_id": self.settings.station_id,
            "hostname": socket.gethostname()[:255],
            "version": VERSION,
            "interval_s": self.settings.heartbeat_s,
            "cloud_reachable": self.cloud_reachable is not False,
            "sources": [
                {"source_id": sid, "kind": s.source.kind, "reachable": s.reachable, "pending": s.pending,
                 "last_error": (s.last_error or None) and s.last_error[:500]}
                for sid, s in self.sources.items()
            ],
            "states": counts,
            "pending_on_car": sum(s.pending for s in self.sources.values()),
            "on_station": sum(1 for r in rows if r.state == "copied"),
            "uploading": self.uploading,
            "awaiting_confirmation": sum(1 for r in rows if r.state == "uploaded"),
            "bytes_to_upload": sum(r.size for r in rows if r.state == "copied"),
            "failing": len(errors),
            "last_error": last_error[:500] if last_error else None,
            "last_error_at": datetime.fromtimestamp(last_error_at, UTC).isoformat() if last_error_at else None,
        }

    async def report(self) -> None:
        status = self.status()
        self.journal.put_meta("status", status)
        try:
            await self.cloud.report(status)
        except (CloudUnavailable, CloudRefused) as exc:
            log.debug("heartbeat not delivered", error=str(exc))

    # --- loops -----------------------------------------------------------------------------

    def everything_confirmed(self) -> bool:
        return not self.journal.in_state("seen", "copied", "uploaded") and not any(
            s.pending for s in self.sources.values())

    async def run(self, stop: asyncio.Event) -> None:
        log.info("station started", station_id=self.settings.station_id, sources=list(self.sources),
                 journal=str(self.settings.journal), delete_from_car_after=self.settings.delete_from_car_after)
        tasks = [asyncio.create_task(self._source_loop(s, stop)) for s in self.sources.values()]
        tasks += [asyncio.create_task(self._watch(s)) for s in self.sources.values()]
        tasks += [asyncio.create_task(self._ingress_loop(stop)), asyncio.create_task(self._heartbeat_loop(stop))]
        try:
            await stop.wait()
        finally:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.report(), 3)

    async def _watch(self, state: SourceState) -> None:
        async for _ in state.source.changes():
            state.wake.set()

    async def _source_loop(self, state: SourceState, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self._guarded("offload", lambda: self.offload_pass(state))
            await self._guarded("retention", lambda: self.retention_pass(state))
            await _sleep_or(state.wake, self.settings.scan_interval_s)

    async def _ingress_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self._guarded("ingress", self.ingress_pass)
            wait = self.settings.confirm_poll_s
            if time.monotonic() < self.cloud_retry_at:
                wait = max(0.05, self.cloud_retry_at - time.monotonic())
            await _sleep_or(self.wake_ingress, wait)

    async def _heartbeat_loop(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            await self._guarded("heartbeat", self.report)
            await _sleep_or(asyncio.Event(), self.settings.heartbeat_s)

    async def _guarded(self, what: str, step: Callable[[], Any]) -> None:
        # One bad file or a bug in one pass must not end the daemon: log, go on.
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("pass failed", step=what, error=str(exc)[:300])

    async def sync_once(self, wait_s: float) -> bool:
        """One pass for people: take what is finished, upload it, wait for the verdicts."""
        deadline = time.monotonic() + wait_s
        for state in self.sources.values():
            await self.offload_pass(state)
            # Unseen versions need a second look after the settle time.
            if state.pending and self.settings.settle_s <= wait_s:
                await asyncio.sleep(max(0.2, min(self.settings.settle_s + 0.1, deadline - time.monotonic())))
                await self.offload_pass(state)
        while time.monotonic() < deadline:
            await self.ingress_pass()
            for state in self.sources.values():
                await self.retention_pass(state)
            if not self.journal.in_state("copied", "uploaded"):
                break
            await asyncio.sleep(min(self.settings.confirm_poll_s, max(0.0, deadline - time.monotonic())))
        await self.report()
        return self.everything_confirmed() and not self.journal.in_state("rejected")


async def _sleep_or(event: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), seconds)
    event.clear()

