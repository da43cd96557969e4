"""backup service: publishes `backup.due` on its schedule and makes one backup per slot.

Two processes may both publish a slot and both receive it: the slot is the backup id
and a claim in the `backups` collection (a unique _id) lets exactly one of them work.
The collection is the backup service's own (status for the web page and /readyz); the
backups themselves, and their manifests, live at the target.
"""

from __future__ import annotations

import asyncio
import os
import socket
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from pymongo.errors import DuplicateKeyError

from pitwall.backup import schedule
from pitwall.backup.handlers import HANDLERS
from pitwall.backupkit.core import prune, record_drill, run_backup
from pitwall.backupkit.drill import drill
from pitwall.backupkit.target import open_target
from pitwall.common import db, metrics
from pitwall.common.contracts.mongo import BACKUPS
from pitwall.common.events import BackupCompleted, BackupDue, BackupFailed
from pitwall.common.logging import get_logger
from pitwall.common.runtime import run_service
from pitwall.common.settings import Settings
from pitwall.common.shell import Wiring, consume_until_stopped, wiring

log = get_logger(__name__)
# A claim older than this whose owner never finished (SIGKILL, power cut) may be retaken.
STALE_CLAIM = timedelta(hours=6)


def backup_id(event: BackupDue) -> str:
    return event.slot or f"now-{event.event_id[:16]}"


async def _claim(coll: Any, bid: str, interval_s: float) -> bool:
    now = datetime.now(UTC)
    owner = f"{socket.gethostname()}:{os.getpid()}"
    try:
        await coll.insert_one({"_id": bid, "status": "running", "started_at": now, "owner": owner,
                               "interval_s": interval_s})
        return True
    except DuplicateKeyError:
        pass
    taken = await coll.update_one(
        {"_id": bid, "$or": [{"status": "failed"}, {"status": "running", "started_at": {"$lt": now - STALE_CLAIM}}]},
        {"$set": {"status": "running", "started_at": now, "owner": owner}},
    )
    return taken.modified_count == 1


async def make_backup(settings: Settings, w: Wiring, coll: Any, event: BackupDue) -> None:
    bid = backup_id(event)
    if not await _claim(coll, bid, schedule.interval_s(settings.backup_schedule)):
        log.info("backup already made or being made", backup_id=bid)
        return
    target = open_target(settings)
    started = asyncio.get_running_loop().time()
    log.info("backup started", backup_id=bid, target=target.describe())
    try:
        manifest = await asyncio.to_thread(run_backup, settings, target, bid, with_signals=event.with_signals)
    except Exception as exc:
        seconds = asyncio.get_running_loop().time() - started
        reason = f"{type(exc).__name__}: {exc}"[:500]
        await coll.update_one({"_id": bid}, {"$set": {"status": "failed", "reason": reason,
                                                      "finished_at": datetime.now(UTC)}})
        await w.publisher.publish(BackupFailed(event_id=f"backup.failed.{bid}.{int(started)}", backup_id=bid,
                                               reason=reason, seconds=round(seconds, 3)))
        log.error("backup failed", backup_id=bid, reason=reason)
        metrics.BACKUPS.labels(service="backup", outcome="failed").inc()
        metrics.BACKUP_LAST_SECONDS.labels(service="backup", outcome="failed").set(seconds)
        return
    verdict, drill_s = (None, None)
    if settings.backup_drill:
        verdict, drill_s = await asyncio.to_thread(drill, settings, target, manifest)
        try:
            await asyncio.to_thread(record_drill, target, bid, verdict, drill_s)
        except Exception as exc:  # the verdict is still in the event and the record
            log.warning("drill verdict not written to the target", error=str(exc)[:300])
        log.info("restore drill", backup_id=bid, verdict=verdict, seconds=round(drill_s, 2))
    try:
        pruned = await asyncio.to_thread(prune, settings, target)
        if pruned.removed:
            log.info("old backups pruned", removed=pruned.removed, objects_removed=pruned.objects_removed)
    except Exception as exc:  # a failed prune leaves more kept than asked: never less
        log.warning("prune failed", error=str(exc)[:300])
    finished_at = datetime.now(UTC)
    done = {
        "status": "completed", "finished_at": finished_at, "bytes": manifest.bytes, "runs": manifest.runs,
        "objects": len(manifest.objects), "documents": manifest.documents, "objects_copied": manifest.objects_copied,
        "bytes_copied": manifest.bytes_copied, "seconds": manifest.seconds, "drill": verdict, "drill_seconds": drill_s,
        "target": target.describe(), "manifest_key": manifest.key,
    }
    await coll.update_one({"_id": bid}, {"$set": done})
    await w.publisher.publish(BackupCompleted(
        event_id=f"backup.completed.{bid}", backup_id=bid, manifest_key=manifest.key, objects=len(manifest.objects),
        bytes=manifest.bytes, runs=manifest.runs, documents=manifest.documents, objects_copied=manifest.objects_copied,
        bytes_copied=manifest.bytes_copied, seconds=manifest.seconds, drill=verdict,
        drill_seconds=round(drill_s, 3) if drill_s is not None else None,
    ))
    log.info("backup completed", backup_id=bid, runs=manifest.runs, objects=len(manifest.objects),
             objects_copied=manifest.objects_copied, seconds=manifest.seconds, drill=verdict)
    metrics.BACKUPS.labels(service="backup", outcome="completed").inc()
    metrics.BACKUP_LAST_SUCCESS.labels(service="backup").set(finished_at.timestamp())
    metrics.BACKUP_LAST_SECONDS.labels(service="backup", outcome="completed").set(
        asyncio.get_running_loop().time() - started)


async def scheduler(settings: Settings, w: Wiring, stop: asyncio.Event) -> None:
    cron = schedule.validate(settings.backup_schedule)
    slot = schedule.last_slot(cron)  # a slot missed while nobody ran is made up at start
    while not stop.is_set():
        await w.publisher.publish(BackupDue(event_id=schedule.slot_event_id(slot), slot=schedule.slot_id(slot)))
        log.info("backup due", slot=schedule.slot_id(slot))
        slot = schedule.next_slot(cron)
        wait = (slot - datetime.now(UTC).astimezone()).total_seconds()
        try:
            await asyncio.wait_for(stop.wait(), max(0.0, wait))
        except TimeoutError:
            pass


async def _last_success_from_records(coll: Any) -> None:
    """After a restart the gauge starts from the records, not empty (an alert on its age
    must not fire, nor stay quiet, because the process is new)."""
    try:
        good = await asyncio.wait_for(
            coll.find_one({"status": "completed"}, {"finished_at": 1}, sort=[("finished_at", -1)]), 5)
    except Exception as exc:  # MongoDB not up yet: the first backup sets it
        log.debug("last backup not read", error=str(exc)[:200])
        return
    finished = (good or {}).get("finished_at")
    if isinstance(finished, datetime):
        aware = finished if finished.tzinfo else finished.replace(tzinfo=UTC)
        metrics.BACKUP_LAST_SUCCESS.labels(service="backup").set(aware.timestamp())


@dataclass(slots=True)
class Backups:
    """What the backup service's handlers (`pitwall.backup.handlers`) work with."""

    settings: Settings
    wiring: Wiring
    coll: Any
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)  # one backup at a time here

    async def make(self, event: BackupDue) -> None:
        async with self.lock:
            await make_backup(self.settings, self.wiring, self.coll, event)


async def main(settings: Settings, stop: asyncio.Event) -> None:
    schedule.validate(settings.backup_schedule)
    client = db.make_client(settings)
    coll = db.database(client, settings)[BACKUPS]
    await _last_success_from_records(coll)
    try:
        async with wiring(settings, stop, "backup") as w:
            tick = asyncio.create_task(scheduler(settings, w, stop))
            try:
                await consume_until_stopped(w, HANDLERS.service, HANDLERS.bind(Backups(settings, w, coll)), stop,
                                            prefetch=1)
            finally:
                tick.cancel()
    finally:
        await client.close()


def run(settings: Settings) -> None:
    metrics.serve(settings, "backup")
    run_service(main, settings)
